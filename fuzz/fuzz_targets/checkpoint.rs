#![no_main]

#[path = "../checks/checkpoint.rs"]
mod check;
#[path = "../checks/models.rs"]
mod models;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
