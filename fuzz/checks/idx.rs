//! The IDX reader on any bytes (raw, or anything that starts like gzip): an error, never a panic,
//! and what it accepts is exactly what the bytes say.
//!
//! Properties (each cheap next to the parse itself):
//! * images: the pixels are `count × rows × cols` bytes; for a raw file, writing the header and
//!   pixels back out gives the input byte for byte (nothing skipped, nothing invented);
//! * labels: likewise `count` labels, each a class 0..=9, and the same byte-exact round trip;
//! * a gzip input reads as its unpacked bytes would; a name ending in `.gz` on bytes that are not
//!   gzip is an error, on gzip bytes it changes nothing.
//!
//! Shared by the fuzz target `idx` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::data::idx::{self, IdxImages};
use std::path::Path;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The IDX image file holding `images` (the writer the reader is checked against).
fn images_file(images: &IdxImages) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    for field in [2051, images.count, images.rows, images.cols] {
        out.extend_from_slice(&u32::try_from(field).expect("a header field over u32").to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// The IDX label file holding `labels`.
fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&2049u32.to_be_bytes());
    out.extend_from_slice(&u32::try_from(labels.len()).expect("over u32 labels").to_be_bytes());
    out.extend_from_slice(labels);
    out
}

pub fn check(data: &[u8]) {
    let gzip = data.starts_with(&GZIP_MAGIC);
    let images = idx::parse_images(Path::new("fuzz-images"), data.to_vec());
    let labels = idx::parse_labels(Path::new("fuzz-labels"), data.to_vec());

    if let Ok(images) = &images {
        assert_eq!(images.pixels.len(), images.count * images.rows * images.cols, "{images:?}");
        if !gzip {
            assert!(images_file(images) == data, "the images read do not write back to the input");
        }
    }
    if let Ok(labels) = &labels {
        assert!(labels.iter().all(|&l| l < 10), "a label outside 0..=9: {labels:?}");
        if !gzip {
            assert!(labels_file(labels) == data, "the labels read do not write back to the input");
        }
    }
    // A file cannot be both.
    assert!(images.is_err() || labels.is_err(), "read as images and as labels");

    let named_gz = idx::parse_images(Path::new("fuzz-images.gz"), data.to_vec());
    if gzip {
        assert_eq!(named_gz.as_ref().ok(), images.as_ref().ok(), "the .gz name changed what was read");
        // Gzip bytes read as what they unpack to (unless that is gzip again: it would unpack twice).
        if let Ok(unpacked) = idx::decompress(Path::new("fuzz-images"), data.to_vec())
            && !unpacked.starts_with(&GZIP_MAGIC)
        {
            let direct = idx::parse_images(Path::new("fuzz-images"), unpacked);
            assert_eq!(direct.ok(), images.ok(), "gzip input read differently from its unpacked bytes");
        }
    } else {
        assert!(named_gz.is_err(), "bytes that are not gzip accepted under a .gz name");
    }
}
