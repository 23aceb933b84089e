//! MNIST as files and as batches: the data half of the chapter "LeNet on MNIST".
//!
//! The path of the data, from disk to the network:
//!
//! ```text
//! IDX files (.gz)  --idx-->  Dataset (u8 pixels, labels)  --Loader-->  Batch { [B,1,28,28] f32, [B] u32 }
//!  bundled sample / --data-dir / LENET_TUTOR_DATA / cache / Debian / download
//! ```
//!
//! * [`idx`]: the IDX file format, read by hand, with an error for every way a file can be broken;
//! * [`datasets`]: the three data sets (bundled `mnist-sample`, `mnist`, `fashion-mnist`), their
//!   normalisation and class names, and where their files are looked for;
//! * [`download`]: fetching the full sets from mirrors, checked by md5;
//! * [`loader`]: normalising, shuffling (seeded, per epoch) and batching onto a device;
//! * [`digit`]: making your own picture of a digit look like an MNIST one, for `predict`.
//!
//! ```no_run
//! use lenet_tutor::data::{self, DataOptions, DatasetName, Loader};
//! # fn main() -> lenet_tutor::Result<()> {
//! let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
//! let train = Loader::new(&splits.train, 64, true, 42, &candle_core::Device::Cpu)?;
//! for batch in train.epoch(0) {
//!     let batch = batch?; // batch.images: [64,1,28,28], batch.labels: [64]
//! #   let _ = batch;
//! }
//! # Ok(()) }
//! ```

pub mod datasets;
pub mod digit;
pub mod download;
pub mod idx;
pub mod loader;

pub use datasets::{DataOptions, Dataset, DatasetName, Splits, cache_dir, load, load_test};
pub use digit::digit_from_image;
pub use loader::{Batch, Loader};
