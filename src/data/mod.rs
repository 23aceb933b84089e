//! MNIST as files and as batches: the data half of the chapter "LeNet on MNIST".
//!
//! The path of the data, from disk to the network:
//!
//! ```text
//! IDX files (.gz)  --idx-->  Dataset (u8 pixels, labels)  --Loader-->  Batch { [B,1,28,28] f32, [B] u32 }
//!  bundled sample / --data-dir / LENET_TUTOR_DATA / cache / Debian / download
//! ```
//!
//! | file | idea | public items |
//! |---|---|---|
//! | `catalog.rs` | the three data sets (bundled `mnist-sample`, `mnist`, `fashion-mnist`): names, normalisation, class names, files, checksums, mirrors | [`DatasetName`], [`FileSpec`], [`mirrors`] |
//! | [`idx`] | the IDX file format, read by hand, with an error for every way a file can be broken | (its own module: the book opens it) |
//! | `dataset.rs` | a data set in memory | [`Dataset`], [`Splits`] |
//! | `locate.rs` | where the files are looked for, in order | [`load`], [`load_test`], [`DataOptions`], [`cache_dir`] |
//! | [`download`] | fetching the full sets from mirrors, checked by md5 | (its own module) |
//! | `loader.rs` | normalising, shuffling (seeded, per epoch) and batching onto a device | [`Loader`], [`Batch`], [`images_tensor`], [`normalize_pixel`] |
//! | `preprocess.rs` | making your own picture of a digit look like an MNIST one, for `predict` | [`digit_from_image`], [`digit_from_picture`] |
//!
//! The catalogue is read by both finding and downloading; it reads neither.
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

mod catalog;
mod dataset;
pub mod download;
pub mod idx;
mod loader;
mod locate;
mod preprocess;

pub use catalog::{DatasetName, FileSpec, MIRRORS_ENV, mirrors};
pub use dataset::{Dataset, Splits};
pub use loader::{Batch, Loader, images_tensor, normalize_pixel};
pub use locate::{DATA_ENV, DataOptions, cache_dir, load, load_test};
pub use preprocess::{decode_picture, digit_from_image, digit_from_picture};
