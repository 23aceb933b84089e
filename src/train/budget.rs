//! How much training a run may do: a number of batches, a number of seconds, or both.

use std::time::{Duration, Instant};

/// Limits on how much training a run may do, for places that cannot interrupt it (a notebook cell).
///
/// The budget counts training batches and wall-clock time from the first training batch; when either
/// runs out, the current training pass stops after the batch in progress and the run ends after
/// validating. Validation passes always run to the end, so the accuracy reported is over the whole
/// test set.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub max_batches: Option<usize>,
    pub max_time: Option<Duration>,
    started: Option<Instant>,
    batches: usize,
}

impl Budget {
    /// No limit.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// True once a limit is reached.
    pub fn exhausted(&self) -> bool {
        let by_batches = self.max_batches.is_some_and(|m| self.batches >= m);
        let by_time = match (self.max_time, self.started) {
            (Some(max), Some(t0)) => t0.elapsed() >= max,
            _ => false,
        };
        by_batches || by_time
    }

    pub(crate) fn record_batch(&mut self) {
        self.started.get_or_insert_with(Instant::now);
        self.batches += 1;
    }
}
