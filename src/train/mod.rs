//! The notes' training code: `fit(epoch, model, data_loader, phase)`, the optimiser, and what a real
//! run needs around them (history, progress output, a budget, checkpoints and resume).
//!
//! Training adds to the model; the model knows nothing of it.
//!
//! | file | idea | public items |
//! |---|---|---|
//! | `fit.rs` | one pass over a data set, the notes' `fit`; evaluation is a validation pass; a diverging loss stops it | [`fit()`], [`evaluate`], [`FitOptions`], [`Output`], [`DIVERGED_LOSS`] |
//! | `trainer.rs` | the epochs of a run, for any [`Classifier`](crate::model::Classifier); its one config, which nests the optimiser's and the budget's | [`Trainer`], [`TrainConfig`], [`DataId`] |
//! | `optim.rs` | `torch.optim.SGD` with momentum, a candle-nn `Optimizer` | [`Sgd`], [`SgdConfig`] |
//! | `budget.rs` | at most so many batches or seconds | [`Budget`] |
//! | `history.rs` | every epoch's numbers | [`History`], [`EpochStats`], [`Phase`] |
//! | [`checkpoint`] | the safetensors file, read once into a `Checkpoint`: save, resume, `LeNet::load` | (its own module) |
//! | [`log_line`] | the notes' printed line, formatted as Python formats it | (its own module) |

mod budget;
pub mod checkpoint;
mod fit;
mod history;
pub mod log_line;
mod optim;
mod trainer;

pub use budget::Budget;
pub use fit::{DIVERGED_LOSS, FitOptions, Output, evaluate, fit};
pub use history::{EpochStats, History, Phase};
pub use optim::{Sgd, SgdConfig};
pub use trainer::{DataId, TrainConfig, Trainer};
