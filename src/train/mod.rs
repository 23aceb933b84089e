//! The notes' training code: `fit(epoch, model, data_loader, phase)`, the optimiser, and what a real
//! run needs around them (history, progress output, a budget, checkpoints and resume).
//!
//! Layout: [`fit`](mod@fit) is one pass over a data set; [`Trainer`] runs the epochs;
//! [`optim::Sgd`] is `torch.optim.SGD` with momentum; [`checkpoint`] saves and resumes;
//! [`report`] prints the notes' line; [`history`] keeps every epoch's numbers.

pub mod checkpoint;
pub mod fit;
pub mod history;
pub mod optim;
pub mod report;
mod trainer;

pub use fit::{Budget, FitOptions, Output, count_correct, fit};
pub use history::{EpochStats, History, Phase};
pub use optim::Sgd;
pub use trainer::{TrainConfig, Trainer, evaluate};
