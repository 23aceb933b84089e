//! The IDX file format, the one MNIST (and Fashion-MNIST) is distributed in.
//!
//! The book's chapter "LeNet on MNIST" opens the files by hand before it hands them to a loader:
//! an IDX file is a tiny big-endian header followed by raw bytes.
//!
//! ```text
//! images (magic 2051 = 0x00000803):  magic | count | rows | cols | count*rows*cols pixels (u8)
//! labels (magic 2049 = 0x00000801):  magic | count |                count labels (u8)
//! ```
//!
//! The magic number itself says what follows: two zero bytes, a type code (`0x08` = unsigned byte)
//! and the number of dimensions (3 for images, 1 for labels). The files are usually gzip-compressed
//! (`*.gz`); this module accepts both, telling them apart by gzip's own magic bytes `1f 8b`.
//!
//! Data files come from outside the program, so nothing here trusts them: every way a file can be
//! wrong is an [`Error::BadDataFile`] that names the file and says exactly what is wrong with it.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions: images `[N, rows, cols]`.
const IMAGES_MAGIC: u32 = 0x0000_0803; // 2051
/// Magic number of an IDX file of unsigned bytes with 1 dimension: labels `[N]`.
const LABELS_MAGIC: u32 = 0x0000_0801; // 2049

/// Height of an MNIST image in pixels.
pub(crate) const MNIST_ROWS: usize = 28;
/// Width of an MNIST image in pixels.
pub(crate) const MNIST_COLS: usize = 28;
/// Number of classes in every data set of this crate (ten digits, ten kinds of clothing).
pub(crate) const NUM_CLASSES: usize = 10;

/// Bytes in the header of an image file: magic, count, rows, cols (4 bytes each).
const IMAGES_HEADER_LEN: usize = 16;
/// Bytes in the header of a label file: magic, count.
const LABELS_HEADER_LEN: usize = 8;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The contents of an IDX image file: `count` images of `rows x cols` bytes, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Height of each image.
    pub rows: usize,
    /// Width of each image.
    pub cols: usize,
    /// All pixels, image after image, row after row: `[count, rows, cols]`, 0 = black, 255 = white.
    pub pixels: Vec<u8>,
}

/// The most bytes an IDX file may hold once unpacked: far above the largest real one (the full
/// training images, 47 MB), far below what would hurt the machine. A fixed ceiling on top of the
/// header's own promise, so that a header claiming billions of images cannot unlock a bomb.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 128 * 1024 * 1024;

/// Reads a file from disk and un-gzips it if it is gzip-compressed.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    decompress(path, read_bounded(path)?)
}

/// The bytes of a file, refusing one larger than any IDX file of this crate can be.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size > MAX_UNPACKED_BYTES {
        return Err(Error::bad_data(
            path,
            format!("{size} bytes is far too big for an MNIST-sized IDX file (at most {MAX_UNPACKED_BYTES})"),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Un-gzips `bytes` if they start with gzip's magic bytes, else returns them as they are.
///
/// A file whose name ends in `.gz` must be gzip: if it is not, it was probably saved by a browser
/// that already unpacked it (or it is an HTML error page), and saying so beats a confusing
/// "bad magic number" later. `path` is only used in error messages.
///
/// Unpacking stops at the size the IDX header inside promises (and at `MAX_UNPACKED_BYTES`): a
/// small file that would inflate to gigabytes (a "gzip bomb", or plain damage) is an error after
/// reading one byte more than an honest file holds, never an allocation of its whole expansion.
pub fn decompress(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let is_gzip = bytes.starts_with(&GZIP_MAGIC);
    let named_gz = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    if !is_gzip {
        if named_gz {
            return Err(Error::bad_data(
                path,
                format!(
                    "not a gzip file: the name ends in .gz but the file does not start with the \
                     gzip bytes 1f 8b (it starts with {}); if it was unpacked already, drop the .gz \
                     from its name, otherwise download it again",
                    hex_prefix(&bytes)
                ),
            ));
        }
        return Ok(bytes);
    }
    let corrupt = |e: std::io::Error| {
        Error::bad_data(
            path,
            format!("corrupt gzip data ({e}); the file is damaged or incomplete, download it again"),
        )
    };
    let mut stream = GzDecoder::new(bytes.as_slice());
    // The header first (16 bytes at most); it says how much data follows.
    let mut unpacked = Vec::with_capacity(IMAGES_HEADER_LEN);
    (&mut stream).take(IMAGES_HEADER_LEN as u64).read_to_end(&mut unpacked).map_err(corrupt)?;
    let limit = promised_len(&unpacked).map_or(MAX_UNPACKED_BYTES, |n| n.min(MAX_UNPACKED_BYTES));
    // One byte more than the limit tells an over-long stream from one that ends exactly there.
    let rest = limit.saturating_sub(unpacked.len() as u64);
    unpacked.reserve(usize::try_from(rest).unwrap_or(0));
    (&mut stream).take(rest + 1).read_to_end(&mut unpacked).map_err(corrupt)?;
    if unpacked.len() as u64 > limit {
        let bound = if limit == MAX_UNPACKED_BYTES {
            format!("the {MAX_UNPACKED_BYTES}-byte ceiling for an IDX file")
        } else {
            format!("the {limit} bytes its IDX header promises")
        };
        return Err(Error::bad_data(
            path,
            format!(
                "the gzip stream unpacks to more than {bound}: a damaged file or a decompression bomb; \
                 download the file again"
            ),
        ));
    }
    Ok(unpacked)
}

/// The whole length (header + data) an IDX file promises in its header, if `header` holds a full
/// image or label header; `None` when it is neither (the parser reports that later).
fn promised_len(header: &[u8]) -> Option<u64> {
    let magic = (header.len() >= 4).then(|| be_u32(header, 0))?;
    let count = (header.len() >= 8).then(|| u64::from(be_u32(header, 4)))?;
    match magic {
        LABELS_MAGIC => Some(LABELS_HEADER_LEN as u64 + count),
        IMAGES_MAGIC if header.len() >= IMAGES_HEADER_LEN => {
            let pixels = count
                .checked_mul(u64::from(be_u32(header, 8)))?
                .checked_mul(u64::from(be_u32(header, 12)))?;
            (IMAGES_HEADER_LEN as u64).checked_add(pixels)
        }
        _ => None,
    }
}

/// Reads an IDX image file (gzip or raw) from disk.
fn read_images(path: &Path) -> Result<IdxImages> {
    parse_images(path, read_bounded(path)?)
}

/// Reads an IDX label file (gzip or raw) from disk.
fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(path, read_bounded(path)?)
}

/// Parses the bytes of an IDX image file (gzip or raw). `path` is only used in error messages,
/// so bytes that never were a file (the bundled sample) can be parsed too.
pub fn parse_images(path: &Path, file_bytes: Vec<u8>) -> Result<IdxImages> {
    let bytes = decompress(path, file_bytes)?;
    check_magic(path, &bytes, IMAGES_MAGIC, IMAGES_HEADER_LEN)?;
    let count = be_u32(&bytes, 4) as usize;
    let rows = be_u32(&bytes, 8) as usize;
    let cols = be_u32(&bytes, 12) as usize;
    // Checked: a corrupt header could claim 4 billion images of 4 billion by 4 billion pixels.
    let expected = count.checked_mul(rows).and_then(|n| n.checked_mul(cols)).ok_or_else(|| {
        Error::bad_data(path, format!("header claims {count} images of {rows}x{cols}: too big to be real"))
    })?;
    let data = &bytes[IMAGES_HEADER_LEN..];
    check_data_len(path, data.len(), expected, &format!("{count} images of {rows}x{cols} pixels"))?;
    Ok(IdxImages { count, rows, cols, pixels: data.to_vec() })
}

/// Parses the bytes of an IDX label file (gzip or raw). Every label must be a class, 0 to 9.
pub fn parse_labels(path: &Path, file_bytes: Vec<u8>) -> Result<Vec<u8>> {
    let bytes = decompress(path, file_bytes)?;
    check_magic(path, &bytes, LABELS_MAGIC, LABELS_HEADER_LEN)?;
    let count = be_u32(&bytes, 4) as usize;
    let data = &bytes[LABELS_HEADER_LEN..];
    check_data_len(path, data.len(), count, &format!("{count} labels"))?;
    if let Some((index, &value)) = data.iter().enumerate().find(|&(_, &v)| usize::from(v) >= NUM_CLASSES) {
        return Err(Error::bad_data(
            path,
            format!(
                "label {index} is {value}, but labels must be 0 to {}: this is not a label file \
                 of a 10-class data set",
                NUM_CLASSES - 1
            ),
        ));
    }
    Ok(data.to_vec())
}

/// Checks that an image file and its label file form one MNIST-shaped split: 28x28 images and
/// exactly one label per image.
pub(crate) fn check_mnist_pair(
    images_path: &Path,
    images: &IdxImages,
    labels_path: &Path,
    labels: &[u8],
) -> Result<()> {
    if (images.rows, images.cols) != (MNIST_ROWS, MNIST_COLS) {
        return Err(Error::bad_data(
            images_path,
            format!(
                "wrong image size: expected {MNIST_ROWS}x{MNIST_COLS}, got {}x{}",
                images.rows, images.cols
            ),
        ));
    }
    if images.count != labels.len() {
        return Err(Error::bad_data(
            images_path,
            format!(
                "image/label count mismatch: this file has {} images but {} has {} labels; \
                 the two files must come from the same split",
                images.count,
                labels_path.display(),
                labels.len()
            ),
        ));
    }
    Ok(())
}

/// Reads an image file and its label file and checks that they belong together
/// (see [`check_mnist_pair`]).
pub(crate) fn read_mnist_pair(images_path: &Path, labels_path: &Path) -> Result<(IdxImages, Vec<u8>)> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    check_mnist_pair(images_path, &images, labels_path, &labels)?;
    Ok((images, labels))
}

/// Checks the header is all there and starts with the `expected` magic number.
fn check_magic(path: &Path, bytes: &[u8], expected: u32, header_len: usize) -> Result<()> {
    let (kind, other_kind, other_magic) = if expected == IMAGES_MAGIC {
        ("image", "label", LABELS_MAGIC)
    } else {
        ("label", "image", IMAGES_MAGIC)
    };
    if bytes.len() < 4 {
        return Err(Error::bad_data(
            path,
            format!(
                "truncated header: an IDX {kind} file starts with a {header_len}-byte header, \
                 but the file has only {} bytes",
                bytes.len()
            ),
        ));
    }
    let magic = be_u32(bytes, 0);
    if magic == other_magic {
        return Err(Error::bad_data(
            path,
            format!(
                "this is an IDX {other_kind} file (magic {other_magic}), but an {kind} file \
                 (magic {expected}) was expected: are the image and label files swapped?"
            ),
        ));
    }
    if magic != expected {
        return Err(Error::bad_data(
            path,
            format!(
                "bad magic number {magic} (0x{magic:08x}): expected {expected} (0x{expected:08x}) \
                 for an IDX {kind} file ({IMAGES_MAGIC} = images, {LABELS_MAGIC} = labels)"
            ),
        ));
    }
    if bytes.len() < header_len {
        return Err(Error::bad_data(
            path,
            format!("truncated header: expected {header_len} bytes of header, got {}", bytes.len()),
        ));
    }
    Ok(())
}

/// Checks that exactly the number of bytes the header announced follow it.
fn check_data_len(path: &Path, actual: usize, expected: usize, what: &str) -> Result<()> {
    if actual < expected {
        return Err(Error::bad_data(
            path,
            format!(
                "truncated data: the header announces {what} = {expected} bytes, but only {actual} \
                 bytes follow it; the file is incomplete, download it again"
            ),
        ));
    }
    if actual > expected {
        return Err(Error::bad_data(
            path,
            format!(
                "unexpected trailing data: the header announces {what} = {expected} bytes, but \
                 {actual} bytes follow it"
            ),
        ));
    }
    Ok(())
}

/// The big-endian u32 at `offset` (the caller has checked the length).
fn be_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]])
}

/// The first few bytes as hex, for "it starts with ..." messages.
fn hex_prefix(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (it is empty)".to_string();
    }
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Builders of IDX bytes for tests (here and in the other data modules).
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    /// An IDX image file's bytes: header + `pixels` (not checked against the header).
    pub fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [super::IMAGES_MAGIC, count, rows, cols] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(pixels);
        out
    }

    /// An IDX label file's bytes.
    pub fn labels_bytes(labels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&super::LABELS_MAGIC.to_be_bytes());
        out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        out.extend_from_slice(labels);
        out
    }

    /// `bytes`, gzip-compressed.
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// `n` 28x28 images where image `i` is filled with the value `i * 10 % 256` and its first pixel is `i`.
    pub fn mnist_like(n: usize) -> (Vec<u8>, Vec<u8>) {
        let mut pixels = Vec::with_capacity(n * 784);
        for i in 0..n {
            let mut image = vec![(i * 10 % 256) as u8; 784];
            image[0] = i as u8;
            pixels.extend_from_slice(&image);
        }
        let labels = (0..n).map(|i| (i % 10) as u8).collect();
        (pixels, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use std::path::PathBuf;

    fn message(err: Error) -> String {
        match &err {
            Error::BadDataFile { .. } => err.to_string(),
            other => panic!("expected BadDataFile, got {other:?}"),
        }
    }

    fn p(name: &str) -> PathBuf {
        PathBuf::from(name)
    }

    #[test]
    fn gzip_stops_at_what_the_header_promises() {
        // Two labels, as promised: fine.
        let honest = gzip(&labels_bytes(&[3, 4]));
        assert_eq!(parse_labels(&p("l.gz"), honest).unwrap(), vec![3, 4]);
        // The same header followed by a megabyte: refused after reading one byte past the promise.
        let mut long = labels_bytes(&[3, 4]);
        long.extend(vec![0u8; 1 << 20]);
        let err = message(parse_labels(&p("l.gz"), gzip(&long)).unwrap_err());
        assert!(err.contains("unpacks to more than the 10 bytes its IDX header promises"), "{err}");
        // A header promising more than the ceiling is held to the ceiling.
        let huge =
            [IMAGES_MAGIC, 100_000_000, 28, 28].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
        assert_eq!(promised_len(&huge), Some(16 + 100_000_000 * 784));
        assert_eq!(promised_len(b"\x00\x00"), None);
    }

    #[test]
    fn reads_raw_and_gzipped_images_alike() {
        let pixels: Vec<u8> = (0..2 * 3 * 4).collect();
        let raw = images_bytes(2, 3, 4, &pixels);
        let from_raw = parse_images(&p("x-idx3-ubyte"), raw.clone()).unwrap();
        let from_gz = parse_images(&p("x-idx3-ubyte.gz"), gzip(&raw)).unwrap();
        assert_eq!(from_raw, from_gz);
        assert_eq!((from_raw.count, from_raw.rows, from_raw.cols), (2, 3, 4));
        assert_eq!(from_raw.pixels, pixels);
        // A gzip file without the .gz name is recognised by its magic bytes.
        assert_eq!(parse_images(&p("plain-name"), gzip(&raw)).unwrap(), from_raw);
    }

    #[test]
    fn reads_labels_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels-idx1-ubyte.gz");
        std::fs::write(&path, gzip(&labels_bytes(&[3, 1, 4, 1, 5, 9]))).unwrap();
        assert_eq!(read_labels(&path).unwrap(), vec![3, 1, 4, 1, 5, 9]);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_images(&p("/nonexistent/train-images-idx3-ubyte.gz")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/train-images-idx3-ubyte.gz"), "{err}");
    }

    #[test]
    fn bad_magic_says_what_was_expected() {
        let mut bytes = images_bytes(1, 28, 28, &[0; 784]);
        bytes[2] = 0x09; // 0x00000903
        let msg = message(parse_images(&p("img"), bytes).unwrap_err());
        assert!(msg.starts_with("img: bad magic number 2307 (0x00000903)"), "{msg}");
        assert!(msg.contains("expected 2051 (0x00000803)"), "{msg}");

        let mut bytes = labels_bytes(&[1]);
        bytes[3] = 0x07;
        let msg = message(parse_labels(&p("lbl"), bytes).unwrap_err());
        assert!(msg.contains("bad magic number 2055"), "{msg}");
        assert!(msg.contains("expected 2049 (0x00000801)"), "{msg}");
    }

    #[test]
    fn swapped_files_are_named_as_such() {
        let msg = message(parse_images(&p("img"), labels_bytes(&[1, 2])).unwrap_err());
        assert!(msg.contains("this is an IDX label file (magic 2049)"), "{msg}");
        assert!(msg.contains("swapped"), "{msg}");
        let msg = message(parse_labels(&p("lbl"), images_bytes(1, 1, 1, &[0])).unwrap_err());
        assert!(msg.contains("this is an IDX image file (magic 2051)"), "{msg}");
    }

    #[test]
    fn truncated_header_says_expected_and_actual_bytes() {
        let msg = message(parse_images(&p("img"), vec![0, 0]).unwrap_err());
        assert!(msg.contains("truncated header"), "{msg}");
        assert!(msg.contains("16-byte header, but the file has only 2 bytes"), "{msg}");

        let bytes = images_bytes(1, 28, 28, &[])[..10].to_vec();
        let msg = message(parse_images(&p("img"), bytes).unwrap_err());
        assert!(msg.contains("truncated header: expected 16 bytes of header, got 10"), "{msg}");

        let msg = message(parse_labels(&p("lbl"), labels_bytes(&[])[..6].to_vec()).unwrap_err());
        assert!(msg.contains("truncated header: expected 8 bytes of header, got 6"), "{msg}");
    }

    #[test]
    fn empty_file_is_a_truncated_header() {
        let msg = message(parse_labels(&p("lbl"), Vec::new()).unwrap_err());
        assert!(msg.contains("has only 0 bytes"), "{msg}");
    }

    #[test]
    fn truncated_data_says_expected_and_actual_bytes() {
        let bytes = images_bytes(2, 28, 28, &[0; 784 + 100]);
        let msg = message(parse_images(&p("img"), bytes).unwrap_err());
        assert!(msg.contains("truncated data"), "{msg}");
        assert!(msg.contains("2 images of 28x28 pixels = 1568 bytes, but only 884 bytes"), "{msg}");

        let mut bytes = labels_bytes(&[1, 2, 3]);
        bytes.pop();
        let msg = message(parse_labels(&p("lbl"), bytes).unwrap_err());
        assert!(msg.contains("3 labels = 3 bytes, but only 2 bytes"), "{msg}");
    }

    #[test]
    fn trailing_data_is_an_error_too() {
        let mut bytes = labels_bytes(&[1, 2]);
        bytes.push(7);
        let msg = message(parse_labels(&p("lbl"), bytes).unwrap_err());
        assert!(msg.contains("trailing data"), "{msg}");
        assert!(msg.contains("2 labels = 2 bytes, but 3 bytes follow"), "{msg}");
    }

    #[test]
    fn absurd_header_is_not_an_overflow() {
        let bytes = images_bytes(u32::MAX, u32::MAX, u32::MAX, &[]);
        let msg = message(parse_images(&p("img"), bytes).unwrap_err());
        assert!(msg.contains("too big to be real"), "{msg}");
    }

    #[test]
    fn label_above_nine_names_its_index_and_value() {
        let msg = message(parse_labels(&p("lbl"), labels_bytes(&[0, 9, 3, 12, 200])).unwrap_err());
        assert!(msg.contains("label 3 is 12"), "{msg}");
        assert!(msg.contains("must be 0 to 9"), "{msg}");
    }

    #[test]
    fn dot_gz_that_is_not_gzip_is_an_error() {
        let raw = labels_bytes(&[1]);
        let msg = message(parse_labels(&p("t10k-labels-idx1-ubyte.gz"), raw).unwrap_err());
        assert!(msg.contains("not a gzip file"), "{msg}");
        assert!(msg.contains("starts with 00 00 08 01"), "{msg}");
        let msg = message(decompress(&p("x.gz"), Vec::new()).unwrap_err());
        assert!(msg.contains("not a gzip file") && msg.contains("empty"), "{msg}");
    }

    #[test]
    fn corrupt_or_cut_gzip_is_an_error() {
        let gz = gzip(&images_bytes(4, 28, 28, &[7; 4 * 784]));
        // Cut in half: the stream ends early.
        let msg = message(parse_images(&p("img.gz"), gz[..gz.len() / 2].to_vec()).unwrap_err());
        assert!(msg.contains("corrupt gzip data"), "{msg}");
        // Garbage after the gzip magic: the header itself is broken.
        let mut garbage = gz.clone();
        for b in garbage.iter_mut().skip(2).take(8) {
            *b = 0xff;
        }
        let msg = message(parse_images(&p("img.gz"), garbage).unwrap_err());
        assert!(msg.contains("corrupt gzip data"), "{msg}");
    }

    #[test]
    fn wrong_image_size_says_expected_and_actual() {
        let images = parse_images(&p("img"), images_bytes(2, 32, 30, &[0; 2 * 32 * 30])).unwrap();
        let msg = message(check_mnist_pair(&p("img"), &images, &p("lbl"), &[1, 2]).unwrap_err());
        assert!(msg.contains("wrong image size: expected 28x28, got 32x30"), "{msg}");
    }

    #[test]
    fn count_mismatch_gives_both_counts() {
        let images = parse_images(&p("img"), images_bytes(3, 28, 28, &[0; 3 * 784])).unwrap();
        let msg = message(check_mnist_pair(&p("img"), &images, &p("lbl"), &[1, 2]).unwrap_err());
        assert!(msg.contains("count mismatch"), "{msg}");
        assert!(msg.contains("3 images but lbl has 2 labels"), "{msg}");
    }

    #[test]
    fn reads_a_good_pair_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (pixels, labels) = mnist_like(5);
        let images_path = dir.path().join("train-images-idx3-ubyte.gz");
        let labels_path = dir.path().join("train-labels-idx1-ubyte");
        std::fs::write(&images_path, gzip(&images_bytes(5, 28, 28, &pixels))).unwrap();
        std::fs::write(&labels_path, labels_bytes(&labels)).unwrap();
        let (images, read_labels) = read_mnist_pair(&images_path, &labels_path).unwrap();
        assert_eq!(images.pixels, pixels);
        assert_eq!(read_labels, labels);
    }
}
