//! Batches for training: the notes' `DataLoader(train_set, batch_size=64, shuffle=True)`.
//!
//! A [`Loader`] turns a [`Dataset`]'s bytes into what the network eats:
//!
//! * **normalised** once, up front, like torchvision's `ToTensor()` + `Normalize(mean, std)`:
//!   `x = (byte / 255 - mean) / std`, so the inputs are centred on 0 with a spread of about 1;
//! * **shuffled** every epoch, in an order that is a pure function of `(seed, epoch)`: a run resumed
//!   at epoch 5 sees exactly the batches an uninterrupted run would have seen;
//! * **batched** into `[B, 1, 28, 28]` `f32` images and `[B]` `u32` labels on the chosen device.
//!   The last batch may be smaller (PyTorch's `drop_last=False`).

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;

use super::dataset::Dataset;
use crate::error::{Error, Result};
use crate::rng::{self, streams};

/// One batch, ready for the model.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Normalised images, `[B, 1, rows, cols]` `f32`.
    pub images: Tensor,
    /// Class labels, `[B]` `u32`.
    pub labels: Tensor,
}

impl Batch {
    /// Number of examples in the batch.
    pub fn len(&self) -> usize {
        self.labels.dims1().unwrap_or(0)
    }

    /// Whether the batch has no examples (never the case for batches of a [`Loader`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Normalises one byte the way torchvision does: `ToTensor` (÷255) then `Normalize` (−mean, ÷std),
/// in `f32` and in that order, so the values match PyTorch's bit for bit.
pub fn normalize_pixel(byte: u8, (mean, std): (f32, f32)) -> f32 {
    (f32::from(byte) / 255.0 - mean) / std
}

/// Normalises many bytes (see [`normalize_pixel`]).
fn normalize(pixels: &[u8], normalization: (f32, f32)) -> Vec<f32> {
    // Only 256 different inputs: compute each once.
    let table: Vec<f32> = (0..=255u8).map(|b| normalize_pixel(b, normalization)).collect();
    pixels.iter().map(|&b| table[usize::from(b)]).collect()
}

/// Normalised images as one tensor `[N, 1, rows, cols]`, e.g. a digit read by
/// [`digit_from_image`](super::digit_from_image) for `lenet-tutor predict`.
pub fn images_tensor(
    pixels: &[u8],
    rows: usize,
    cols: usize,
    normalization: (f32, f32),
    device: &Device,
) -> Result<Tensor> {
    let per_image = rows * cols;
    if per_image == 0 || !pixels.len().is_multiple_of(per_image) {
        return Err(Error::Shape(format!(
            "{} bytes are not a whole number of {rows}x{cols} images",
            pixels.len()
        )));
    }
    let n = pixels.len() / per_image;
    Ok(Tensor::from_vec(normalize(pixels, normalization), (n, 1, rows, cols), device)?)
}

/// Cuts a data set into shuffled, normalised batches, epoch after epoch.
#[derive(Debug, Clone)]
pub struct Loader {
    images: Vec<f32>, // [N, rows*cols], already normalised
    labels: Vec<u32>, // [N]
    rows: usize,
    cols: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    device: Device,
}

impl Loader {
    /// A loader over `dataset`, normalised with the data set's own mean and std.
    ///
    /// `shuffle` is what the notes pass for the training set (`True`) and the test set (`False`);
    /// `seed` fixes the shuffled orders. Errors if `batch_size` is 0 or the data set is empty.
    pub fn new(
        dataset: &Dataset,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
        device: &Device,
    ) -> Result<Loader> {
        if batch_size == 0 {
            return Err(Error::InvalidArgument("the batch size must be at least 1".into()));
        }
        if dataset.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "the {} data set has no examples to make batches of",
                dataset.name()
            )));
        }
        Ok(Loader {
            images: normalize(dataset.images(), dataset.name().normalization()),
            labels: dataset.labels().iter().map(|&l| u32::from(l)).collect(),
            rows: dataset.rows(),
            cols: dataset.cols(),
            batch_size,
            shuffle,
            seed,
            device: device.clone(),
        })
    }

    /// Number of examples (not batches).
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// Batches per epoch, counting a smaller last batch: `ceil(len / batch_size)`.
    pub fn num_batches(&self) -> usize {
        self.len().div_ceil(self.batch_size)
    }

    /// The order in which epoch `epoch` visits the examples: `0..len` as it is without shuffling,
    /// else a permutation that depends only on `(seed, epoch)`.
    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if self.shuffle {
            // The seed's shuffle stream, started at a position of its own for each epoch: 2^40 words
            // apart, far more than one shuffle uses, so no two epochs share random numbers.
            let mut rng = rng::stream(self.seed, streams::SHUFFLE);
            rng.set_word_pos((epoch as u128) << 40);
            order.shuffle(&mut rng);
        }
        order
    }

    /// The batches of epoch `epoch`, in that epoch's order; every example appears exactly once.
    pub fn epoch(&self, epoch: usize) -> impl ExactSizeIterator<Item = Result<Batch>> + '_ {
        let order = self.order(epoch);
        let batch_size = self.batch_size;
        (0..self.num_batches()).map(move |b| {
            let start = b * batch_size;
            let end = (start + batch_size).min(order.len());
            self.batch(&order[start..end])
        })
    }

    /// One batch of the examples at `indices` (in that order).
    fn batch(&self, indices: &[usize]) -> Result<Batch> {
        let per_image = self.rows * self.cols;
        // Gather into one buffer and make one tensor: far faster than a tensor per image + cat.
        let mut images = Vec::with_capacity(indices.len() * per_image);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let Some(&label) = self.labels.get(i) else {
                return Err(Error::InvalidArgument(format!(
                    "example {i} does not exist: the loader has {} examples",
                    self.len()
                )));
            };
            images.extend_from_slice(&self.images[i * per_image..(i + 1) * per_image]);
            labels.push(label);
        }
        let n = indices.len();
        Ok(Batch {
            images: Tensor::from_vec(images, (n, 1, self.rows, self.cols), &self.device)?, // [B,1,28,28]
            labels: Tensor::from_vec(labels, n, &self.device)?,                            // [B]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::DatasetName;
    use super::super::idx::fixtures::mnist_like;
    use super::*;

    /// `n` images where image `i` has `i` as its first byte (so it can be recognised after shuffling).
    fn dataset(n: usize) -> Dataset {
        let (pixels, labels) = mnist_like(n);
        Dataset::new(DatasetName::Mnist, pixels, labels, 28, 28).unwrap()
    }

    /// Recovers each example's index from its first normalised pixel.
    fn indices_of(batch: &Batch) -> Vec<usize> {
        let firsts = batch.images.flatten_from(1).unwrap().narrow(1, 0, 1).unwrap().flatten_all().unwrap();
        let (mean, std) = DatasetName::Mnist.normalization();
        firsts
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|&x| ((x * std + mean) * 255.0).round() as usize)
            .collect()
    }

    fn epoch_indices(loader: &Loader, epoch: usize) -> Vec<usize> {
        loader.epoch(epoch).flat_map(|b| indices_of(&b.unwrap())).collect()
    }

    #[test]
    fn shapes_and_last_smaller_batch() {
        let loader = Loader::new(&dataset(10), 4, false, 0, &Device::Cpu).unwrap();
        assert_eq!((loader.len(), loader.num_batches()), (10, 3));
        let batches: Vec<Batch> = loader.epoch(0).map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(loader.epoch(1).len(), 3);
        assert_eq!(batches[0].images.dims(), &[4, 1, 28, 28]);
        assert_eq!(batches[0].images.dtype(), candle_core::DType::F32);
        assert_eq!(batches[0].labels.dims(), &[4]);
        assert_eq!(batches[0].labels.dtype(), candle_core::DType::U32);
        assert_eq!(batches[2].images.dims(), &[2, 1, 28, 28]);
        assert_eq!(batches[2].len(), 2);
        // Unshuffled: examples in file order, labels with them.
        assert_eq!(batches[1].labels.to_vec1::<u32>().unwrap(), vec![4, 5, 6, 7]);
        assert_eq!(indices_of(&batches[1]), vec![4, 5, 6, 7]);
    }

    #[test]
    fn normalisation_matches_torchvision() {
        let (mean, std) = (0.1307f32, 0.3081f32);
        assert!((normalize_pixel(0, (mean, std)) - (-0.424_212_3)).abs() < 1e-6);
        assert!((normalize_pixel(255, (mean, std)) - 2.821_486_5).abs() < 1e-5);
        let loader = Loader::new(&dataset(3), 3, false, 0, &Device::Cpu).unwrap();
        let batch = loader.epoch(0).next().unwrap().unwrap();
        let values = batch.images.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // Image 2 is filled with byte 20 except its first pixel (2).
        let expected = (20.0 / 255.0 - mean) / std;
        assert!((values[2 * 784 + 1] - expected).abs() < 1e-6, "{}", values[2 * 784 + 1]);
        assert!((values[2 * 784] - (2.0 / 255.0 - mean) / std).abs() < 1e-6);
    }

    #[test]
    fn fashion_uses_its_own_statistics() {
        let (pixels, labels) = mnist_like(1);
        let ds = Dataset::new(DatasetName::FashionMnist, pixels, labels, 28, 28).unwrap();
        let loader = Loader::new(&ds, 1, false, 0, &Device::Cpu).unwrap();
        let first =
            loader.epoch(0).next().unwrap().unwrap().images.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                [0];
        assert!((first - (0.0 - 0.2860) / 0.3530).abs() < 1e-6, "{first}");
    }

    #[test]
    fn each_example_exactly_once_per_epoch() {
        let loader = Loader::new(&dataset(37), 8, true, 42, &Device::Cpu).unwrap();
        for epoch in 0..3 {
            let mut seen = epoch_indices(&loader, epoch);
            assert_ne!(seen, (0..37).collect::<Vec<_>>(), "epoch {epoch} was not shuffled");
            seen.sort_unstable();
            assert_eq!(seen, (0..37).collect::<Vec<_>>());
        }
    }

    #[test]
    fn order_depends_only_on_seed_and_epoch() {
        let ds = dataset(50);
        let a = Loader::new(&ds, 16, true, 7, &Device::Cpu).unwrap();
        let b = Loader::new(&ds, 16, true, 7, &Device::Cpu).unwrap();
        // A "resumed" loader asked for epoch 3 first sees what the first one saw at epoch 3.
        let b3 = epoch_indices(&b, 3);
        let _ = epoch_indices(&a, 0);
        assert_eq!(epoch_indices(&a, 3), b3);
        assert_ne!(a.order(0), a.order(1), "different epochs, same order");
        let other_seed = Loader::new(&ds, 16, true, 8, &Device::Cpu).unwrap();
        assert_ne!(a.order(0), other_seed.order(0), "different seeds, same order");
        // Labels travel with their images.
        for batch in a.epoch(1) {
            let batch = batch.unwrap();
            let labels = batch.labels.to_vec1::<u32>().unwrap();
            let expected: Vec<u32> = indices_of(&batch).iter().map(|&i| (i % 10) as u32).collect();
            assert_eq!(labels, expected);
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let err = Loader::new(&dataset(3), 0, false, 0, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("batch size must be at least 1"), "{err}");
        let err = Loader::new(&dataset(3).take(0), 4, false, 0, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("no examples"), "{err}");
        let loader = Loader::new(&dataset(3), 2, false, 0, &Device::Cpu).unwrap();
        let err = loader.batch(&[0, 3]).unwrap_err().to_string();
        assert!(err.contains("example 3 does not exist"), "{err}");
    }

    #[test]
    fn images_tensor_for_a_single_digit() {
        let t = images_tensor(&[255; 784], 28, 28, (0.1307, 0.3081), &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 1, 28, 28]);
        let err = images_tensor(&[0; 700], 28, 28, (0.0, 1.0), &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("not a whole number of 28x28 images"), "{err}");
    }
}
