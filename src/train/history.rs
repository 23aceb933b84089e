//! What the fit loop remembers: one [`EpochStats`] per phase and epoch.
//!
//! The notes' `fit` returns `(loss, accuracy)` and the caller appends them to four lists
//! (`train_losses`, `train_accuracy`, `val_losses`, `val_accuracy`) to plot curves later.
//! [`History`] is those lists, kept together so a checkpoint can carry them and the curve plots can read them.

use std::fmt;

/// The two phases of the notes' `fit(epoch, model, data_loader, phase)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `model.train()`: dropout on, gradients tracked, weights updated.
    Training,
    /// `model.eval()` under `torch.no_grad()`: dropout off, no gradients, weights untouched.
    Validation,
}

impl Phase {
    /// The word the notes print: `training` or `validation`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Training => "training",
            Phase::Validation => "validation",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of one pass over a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch number, as the notes count them.
    pub epoch: usize,
    pub phase: Phase,
    /// Mean negative log-likelihood per example (the sum-reduced loss divided by the number of examples seen).
    pub loss: f32,
    /// Examples classified correctly.
    pub correct: usize,
    /// Examples seen (the whole data set unless a budget stopped the pass early).
    pub total: usize,
    /// Wall-clock seconds the pass took.
    pub seconds: f64,
}

impl EpochStats {
    /// Accuracy in percent, `100 * correct / total`.
    pub fn accuracy(&self) -> f32 {
        if self.total == 0 { 0.0 } else { 100.0 * self.correct as f32 / self.total as f32 }
    }
}

/// Every epoch's statistics, training and validation side by side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub training: Vec<EpochStats>,
    pub validation: Vec<EpochStats>,
}

impl History {
    /// Appends one pass's statistics to the list of its phase.
    pub fn push(&mut self, stats: EpochStats) {
        match stats.phase {
            Phase::Training => self.training.push(stats),
            Phase::Validation => self.validation.push(stats),
        }
    }

    /// Number of epochs recorded (the longer of the two lists).
    pub(crate) fn epochs(&self) -> usize {
        self.training.len().max(self.validation.len())
    }

    /// The stats of one phase.
    pub(crate) fn phase(&self, phase: Phase) -> &[EpochStats] {
        match phase {
            Phase::Training => &self.training,
            Phase::Validation => &self.validation,
        }
    }

    /// The last validation pass, if any.
    pub fn last_validation(&self) -> Option<&EpochStats> {
        self.validation.last()
    }
}
