#![no_main]

#[path = "../checks/idx_gzip.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
