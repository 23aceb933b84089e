#![no_main]

#[path = "../checks/web_model.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
