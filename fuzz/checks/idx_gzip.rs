//! The IDX reader behind a valid gzip stream of any contents, so the fuzzer explores the IDX
//! parser and the bounded decompression rather than gzip's checksums.
//!
//! Shared by the fuzz target `idx_gzip` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use flate2::Compression;
use flate2::write::GzEncoder;
use lenet_tutor::data::idx;
use std::io::Write;
use std::path::Path;

pub fn check(data: &[u8]) {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap();
    let packed = gz.finish().unwrap();
    let _ = idx::parse_images(Path::new("fuzz-images.gz"), packed.clone());
    let _ = idx::parse_labels(Path::new("fuzz-labels.gz"), packed);
}
