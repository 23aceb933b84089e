//! # lenet-tutor
//!
//! A hands-on tutorial of convolutional networks, from the first convolution to a trained LeNet on
//! MNIST, on [candle](https://github.com/huggingface/candle). This crate is the single source of
//! truth of the tutorial: the book's code blocks are doctests of it, the notebooks `:dep` on it, and
//! the `lenet-tutor` command line runs its long jobs.
//!
//! ## Layout
//!
//! One idea of the book per module, in the order the book meets them. Each layer imports only the
//! layers below it (a higher layer adds to a lower one: checkpoints and `LeNet::load` live in
//! `train`, `impl Activations for LeNet` in `viz`; the model knows nothing of either):
//!
//! | layer | module | idea | holds |
//! |---|---|---|---|
//! | 5 | `main.rs` (the CLI) | the long jobs | train, eval, predict, visualize, export-web, download |
//! | 4 | [`experiments`] | the FC layer's limit | parameter counts, MLP vs LeNet on permuted pixels |
//! | 4 | [`web`] | the live page | a trained model as a file the page reads, test vectors |
//! | 4 | [`viz`] | looking inside | map grids, feature maps layer by layer, curves, confusion matrix, mistakes, a convolution step; PNG/SVG and inline in Jupyter |
//! | 3 | [`train`] | the notes' `fit` | one pass, the run's epochs (any [`Classifier`](model::Classifier)), SGD with momentum, history, budget, checkpoints; one [`TrainConfig`](train::TrainConfig) that nests the optimiser's settings and the budget |
//! | 2 | [`model`] | the notes' `Net` | LeNet, its parameter table, channel-wise Dropout2d, PyTorch's initialisation |
//! | 1 | [`conv`] | convolution by hand; the conv layer's output size | loops over `[C,H,W]`, `output_size`, classic kernels, one window's dot product |
//! | 1 | [`pool`] | pooling by hand | max / average / min pooling with window and stride |
//! | 1 | [`ops`] | making LeNet fast | custom candle ops: `conv2d_fast` (im2col + GEMM; conv1 computed directly), `max_pool2d_relu_fast`, the two fused (`conv2d_max_pool2d_relu_fast`), the FC tail (`linear_relu_fast`, `linear_log_softmax_fast`); their `_candle` references; [`OpsImpl`](ops::OpsImpl), which set a model runs |
//! | 1 | [`data`] | MNIST as files and batches | catalogue → files (found or downloaded) → IDX reader → data set → loader; your own digit |
//! | 0 | [`device`], [`rng`], [`error`], `atomic_file`, `args` | the notes' `mps` or `cpu`; reproducibility; errors; files written whole | device choice, thread count; the one seeded RNG; the crate's error type; the one atomic, durable write (temporary file, fsync, rename, directory fsync) for checkpoints, web files and downloads; tensors read as function arguments, with errors that name the expected shape |
//!
//! Names: a hand-written teaching version and a library version of the same operation never share
//! a name. `conv::conv2d` and `pool::max_pool2d` are the loops the book reads; the model runs
//! `ops::conv2d_fast` / `ops::max_pool2d_relu_fast`, and `ops::conv2d_candle` /
//! `ops::max_pool2d_relu_candle` are the same built from candle's own operations, the reference the
//! fast ones are tested against. "Kernel" always means a convolution filter; a pooling's size is its
//! *window*; a compute routine is an *op*.
//!
//! ## Public API
//!
//! The public items are the ones the book, the notebooks, the examples, the tests or the CLI use;
//! everything else is `pub(crate)` or private. Each item has one path: a module's files are private
//! and their items re-exported from the module (`data::Loader`, `train::Sgd`), except the few
//! submodules a chapter opens as a unit, which are public and not re-exported: [`data::idx`],
//! [`data::download`], [`conv::kernels`], [`conv::conv1d`], [`ops::im2col`], [`rng::streams`],
//! [`train::checkpoint`], [`train::log_line`], [`viz::model_figures`], and the experiments of the later
//! sections, [`experiments::receptive_field`], [`experiments::shift`],
//! [`experiments::learn_kernel`], [`experiments::neighbours`]. One function of the crate root is
//! for the CLI: [`remove_temporaries_on_signal`]. The crate root re-exports what every snippet needs from
//! candle ([`Tensor`], [`Device`], [`ModuleT`], [`Optimizer`], …) so that one `:dep lenet-tutor`
//! is enough in a notebook. `book_output` is public only for the book's hidden lines (it checks
//! that a listing prints what the book shows) and hidden from the docs. This is a tutorial crate:
//! the API follows the book and may change with it.
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

mod args;
mod atomic_file;
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
pub mod web;

pub use atomic_file::remove_temporaries_on_signal;
pub use error::{Error, Result};

#[cfg(doctest)]
mod book;
#[doc(hidden)]
pub mod book_output;
#[cfg(test)]
mod test_util;

// What notebooks and book snippets need besides the crate, so a single `:dep lenet-tutor` is enough.
pub use candle_core::{self, D, DType, Device, Module, Tensor, Var};
pub use candle_nn::{self, ModuleT, Optimizer};
