#![no_main]

#[path = "../checks/web_model.rs"]
mod check;
#[path = "../checks/models.rs"]
mod models;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
