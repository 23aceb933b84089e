//! The live page's model file, read back by the crate (`web::read`): any bytes, an error or a model.
//!
//! Shared by the fuzz target `web_model` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::{Device, web};
use std::path::Path;

pub fn check(data: &[u8]) {
    let _ = web::read(Path::new("fuzz.safetensors"), data, &Device::Cpu);
}
