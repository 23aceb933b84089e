//! The IDX reader on any bytes (raw, or anything that starts like gzip): an error, never a panic.
//!
//! Shared by the fuzz target `idx` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::data::idx;
use std::path::Path;

pub fn check(data: &[u8]) {
    let _ = idx::parse_images(Path::new("fuzz-images"), data.to_vec());
    let _ = idx::parse_labels(Path::new("fuzz-labels"), data.to_vec());
    let _ = idx::parse_images(Path::new("fuzz-images.gz"), data.to_vec());
}
