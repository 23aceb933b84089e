//! A data set in memory: labelled 28x28 grey images as the files' bytes, and the two splits.

use std::ops::{Bound, RangeBounds};

use super::catalog::DatasetName;
use super::idx::{IdxImages, NUM_CLASSES};
use crate::error::{Error, Result};

/// A set of labelled 28x28 grey images, kept as the bytes of the files (0 = black, 255 = white).
///
/// Turning them into normalised `f32` tensors is the [`Loader`](super::Loader)'s job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    name: DatasetName,
    images: Vec<u8>, // [N, rows, cols]
    labels: Vec<u8>, // [N]
    rows: usize,
    cols: usize,
}

impl Dataset {
    /// A data set from raw parts: `images` holds `labels.len()` images of `rows x cols` bytes.
    ///
    /// Useful for experiments that change the pictures (the book permutes the pixels of every image).
    pub fn new(
        name: DatasetName,
        images: Vec<u8>,
        labels: Vec<u8>,
        rows: usize,
        cols: usize,
    ) -> Result<Self> {
        let expected = labels.len().checked_mul(rows).and_then(|n| n.checked_mul(cols));
        if expected != Some(images.len()) {
            return Err(Error::InvalidArgument(format!(
                "{} labels of {rows}x{cols} images need {} pixel bytes, got {}",
                labels.len(),
                labels.len().saturating_mul(rows).saturating_mul(cols),
                images.len()
            )));
        }
        if let Some((index, label)) = labels.iter().enumerate().find(|&(_, &l)| usize::from(l) >= NUM_CLASSES)
        {
            return Err(Error::InvalidArgument(format!(
                "label {index} is {label}, but labels must be 0 to {}",
                NUM_CLASSES - 1
            )));
        }
        Ok(Dataset { name, images, labels, rows, cols })
    }

    pub(crate) fn from_idx(name: DatasetName, images: IdxImages, labels: Vec<u8>) -> Self {
        // `idx::check_mnist_pair` has checked the counts and `parse_labels` the label range.
        Dataset { name, images: images.pixels, labels, rows: images.rows, cols: images.cols }
    }

    /// Which data set these examples come from (decides normalisation and class names).
    pub fn name(&self) -> DatasetName {
        self.name
    }

    /// A 64-bit hash of the examples (sizes, pixels and labels, in order): what a checkpoint records
    /// so that a run is not resumed on other data under the same name. FNV-1a over 8-byte words;
    /// about 30 ms for the 60,000 training images.
    pub fn fingerprint(&self) -> u64 {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |word: u64| hash = (hash ^ word).wrapping_mul(PRIME);
        for size in [self.labels.len(), self.rows, self.cols] {
            mix(size as u64);
        }
        for bytes in [&self.images, &self.labels] {
            let chunks = bytes.chunks_exact(8);
            let tail = chunks.remainder();
            for chunk in chunks {
                mix(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
            }
            let mut last = [0u8; 8];
            last[..tail.len()].copy_from_slice(tail);
            mix(u64::from_le_bytes(last) ^ ((tail.len() as u64) << 60));
        }
        hash
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Height of each image (28).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width of each image (28).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes per image, `rows * cols` (784).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// All images, one after another: `[N, rows, cols]`.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All labels, `[N]`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The pixels of image `i`, row after row (`rows * cols` bytes).
    ///
    /// # Panics
    /// If `i >= self.len()`, like indexing a slice.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.images[i * n..(i + 1) * n]
    }

    /// The label of example `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like indexing a slice.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// How many examples each class has, indexed by label.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// A copy of the examples in `range` (e.g. `ds.subset(1000..2000)`).
    ///
    /// # Panics
    /// If the range is out of bounds, like slicing.
    pub(crate) fn subset(&self, range: impl RangeBounds<usize>) -> Dataset {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e + 1,
            Bound::Excluded(&e) => e,
            Bound::Unbounded => self.len(),
        };
        let n = self.pixels_per_image();
        Dataset {
            name: self.name,
            images: self.images[start * n..end * n].to_vec(),
            labels: self.labels[start..end].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// The first `n` examples (all of them if there are fewer), for quick runs.
    pub fn take(&self, n: usize) -> Dataset {
        self.subset(..n.min(self.len()))
    }
}

/// The two halves of a data set: the model learns from `train` and is judged on `test`.
#[derive(Debug, Clone)]
pub struct Splits {
    /// The training examples (60,000 for the full sets, 8,000 for the sample).
    pub train: Dataset,
    /// The held-out test examples (10,000 for the full sets, 2,000 for the sample).
    pub test: Dataset,
}

#[cfg(test)]
mod tests {
    use super::super::idx::fixtures::mnist_like;
    use super::*;

    #[test]
    fn the_fingerprint_sees_every_pixel_and_label() {
        let (pixels, labels) = mnist_like(5);
        let ds = Dataset::new(DatasetName::Mnist, pixels.clone(), labels.clone(), 28, 28).unwrap();
        assert_eq!(ds.fingerprint(), ds.clone().fingerprint());
        let mut other_pixel = pixels.clone();
        other_pixel[28 * 28 * 5 - 1] ^= 1;
        let mut other_label = labels.clone();
        other_label[4] = (other_label[4] + 1) % 10;
        for other in [
            Dataset::new(DatasetName::Mnist, other_pixel, labels.clone(), 28, 28).unwrap(),
            Dataset::new(DatasetName::Mnist, pixels.clone(), other_label, 28, 28).unwrap(),
            ds.take(4),
        ] {
            assert_ne!(other.fingerprint(), ds.fingerprint());
        }
    }

    #[test]
    fn image_label_subset_and_take() {
        let (pixels, labels) = mnist_like(6);
        let ds = Dataset::new(DatasetName::Mnist, pixels, labels, 28, 28).unwrap();
        assert_eq!(ds.len(), 6);
        assert_eq!(ds.image(3)[0], 3);
        assert_eq!(ds.image(3)[1], 30);
        assert_eq!(ds.label(4), 4);
        let sub = ds.subset(2..5);
        assert_eq!(sub.len(), 3);
        assert_eq!(sub.image(0), ds.image(2));
        assert_eq!(sub.labels(), &[2, 3, 4]);
        assert_eq!(ds.subset(4..=5).labels(), &[4, 5]);
        assert_eq!(ds.take(2).labels(), &[0, 1]);
        assert_eq!(ds.take(100).len(), 6);
        assert!(ds.take(0).is_empty());
    }

    #[test]
    fn new_checks_sizes_and_labels() {
        let err = Dataset::new(DatasetName::Mnist, vec![0; 700], vec![1], 28, 28).unwrap_err().to_string();
        assert!(err.contains("need 784 pixel bytes, got 700"), "{err}");
        let err = Dataset::new(DatasetName::Mnist, vec![0; 4], vec![1, 10], 1, 2).unwrap_err().to_string();
        assert!(err.contains("label 1 is 10"), "{err}");
    }
}
