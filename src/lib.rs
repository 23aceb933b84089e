//! # lenet-tutor
//!
//! A hands-on tutorial of convolutional networks, from the first convolution to a trained LeNet on
//! MNIST, on [candle](https://github.com/huggingface/candle). This crate is the single source of
//! truth of the tutorial: the book's code blocks are doctests of it, the notebooks `:dep` on it, and
//! the `lenet-tutor` command line runs its long jobs.
//!
//! ## Layout
//!
//! One idea of the book per module, in the order the book meets them:
//!
//! | module | idea | holds |
//! |---|---|---|
//! | [`conv`] | convolution by hand; the conv layer's output size | loops over `[C,H,W]`, `output_size`, classic kernels, one window's dot product |
//! | [`pool`] | pooling by hand | max / average / min pooling with window and stride |
//! | [`experiments`] | the FC layer's limit | parameter counts, MLP vs LeNet on permuted pixels |
//! | [`data`] | MNIST as files and batches | IDX reader, data sets (bundled sample, MNIST, Fashion-MNIST), download, loader |
//! | [`device`] | the notes' `mps` or `cpu` | device choice and its errors, thread count |
//! | [`model`] | the notes' `Net` | LeNet, channel-wise Dropout2d, PyTorch's initialisation, activations |
//! | [`train`] | the notes' `fit` | phases, running loss and accuracy, SGD with momentum, history, budget, checkpoints |
//! | [`viz`] | looking inside | map grids, feature maps layer by layer, curves, confusion matrix, mistakes, a convolution step; PNG/SVG and inline in Jupyter |
//! | [`ops`] | making LeNet fast | custom candle ops: im2col + GEMM convolution, fused max-pool + ReLU |
//! | [`rng`] | reproducibility | the one seeded RNG everything random draws from |
//! | [`error`] | — | the crate's error type |
//!
//! ## Quick start
//!
//! ```no_run
//! use lenet_tutor::data::{self, DataOptions, DatasetName};
//! use lenet_tutor::train::{TrainConfig, Trainer};
//!
//! # fn main() -> lenet_tutor::Result<()> {
//! let device = lenet_tutor::device::auto(); // Metal, then CUDA, then CPU
//! let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
//! let mut trainer = Trainer::new(TrainConfig::default(), &device)?;
//! trainer.run(&splits.train, &splits.test)?; // prints the notes' lines, epoch by epoch
//! # Ok(()) }
//! ```

pub mod conv;
pub mod data;
pub mod device;
pub mod error;
pub mod experiments;
pub mod model;
pub mod ops;
pub mod pool;
pub mod rng;
pub mod train;
pub mod viz;

pub use error::{Error, Result};

#[cfg(doctest)]
mod book;

// What notebooks and book snippets need besides the crate, so a single `:dep lenet-tutor` is enough.
pub use candle_core::{self, D, DType, Device, Module, Tensor, Var};
pub use candle_nn;
