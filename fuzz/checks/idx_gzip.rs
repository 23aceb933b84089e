//! The IDX reader behind a valid gzip stream of any contents, so the fuzzer explores the IDX
//! parser and the bounded decompression rather than gzip's checksums.
//!
//! Property: the packed file reads exactly as the unpacked bytes do (the same images or labels, or
//! an error for both): the bounded decompression never cuts off, pads or lets through what the
//! plain reader would not. (The input is far below the unpacking ceiling, so the bound that applies
//! is the header's own promise.)
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
    let images = idx::parse_images(Path::new("fuzz-images.gz"), packed.clone());
    let labels = idx::parse_labels(Path::new("fuzz-labels.gz"), packed);
    // Plain bytes that start like gzip would be unpacked a second time: nothing to compare with.
    if data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    let plain_images = idx::parse_images(Path::new("fuzz-images"), data.to_vec());
    let plain_labels = idx::parse_labels(Path::new("fuzz-labels"), data.to_vec());
    assert_eq!(images.ok(), plain_images.ok(), "packed and plain images read differently");
    assert_eq!(labels.ok(), plain_labels.ok(), "packed and plain labels read differently");
}
