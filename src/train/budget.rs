//! How much training a run may do: a number of batches, a number of seconds, or both.

use std::time::Instant;

use crate::error::{Error, Result};

/// Limits on how much training a run may do, for places that cannot interrupt it (a notebook cell).
///
/// The budget counts training batches and wall-clock seconds from the first training batch; when
/// either runs out, the current training pass stops after the batch in progress and the run ends
/// after validating. Validation passes always run to the end, so the accuracy reported is over the
/// whole test set.
///
/// ```
/// use lenet_tutor::train::Budget;
/// let budget = Budget::batches(50).and_seconds(60.0); // whichever comes first
/// assert_eq!((budget.max_batches, budget.max_seconds), (Some(50), Some(60.0)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// At most this many training batches in all (`--dry-run` is 1).
    pub max_batches: Option<usize>,
    /// At most this many seconds of training, counted from the first training batch
    /// (`--max-seconds`): finite and not negative.
    pub max_seconds: Option<f64>,
    spent: Spent,
}

/// What a run has used of its budget so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Spent {
    started: Option<Instant>,
    batches: usize,
}

impl Budget {
    /// No limit.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// At most `n` training batches.
    pub fn batches(n: usize) -> Self {
        Self { max_batches: Some(n), ..Self::default() }
    }

    /// At most `seconds` of training.
    pub fn seconds(seconds: f64) -> Self {
        Self { max_seconds: Some(seconds), ..Self::default() }
    }

    /// This budget with a time limit added.
    pub fn and_seconds(self, seconds: f64) -> Self {
        Self { max_seconds: Some(seconds), ..self }
    }

    /// The same limits with nothing spent yet: what a new run starts from.
    pub fn fresh(&self) -> Self {
        Self { spent: Spent::default(), ..*self }
    }

    /// Checks the limits: a time limit must be a finite number of seconds, not negative.
    pub fn validate(&self) -> Result<()> {
        match self.max_seconds {
            Some(s) if !(s.is_finite() && s >= 0.0) => Err(Error::InvalidArgument(format!(
                "the time limit must be a number of seconds, 0 or more, got {s}"
            ))),
            _ => Ok(()),
        }
    }

    /// True once a limit is reached.
    pub fn exhausted(&self) -> bool {
        let by_batches = self.max_batches.is_some_and(|m| self.spent.batches >= m);
        let by_time = match (self.max_seconds, self.spent.started) {
            // A comparison of seconds, so that no value (negative, NaN, huge) can panic here.
            (Some(max), Some(t0)) => t0.elapsed().as_secs_f64() >= max,
            _ => false,
        };
        by_batches || by_time
    }

    pub(crate) fn record_batch(&mut self) {
        self.spent.started.get_or_insert_with(Instant::now);
        self.spent.batches += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_batches_and_bad_times_are_refused() {
        let mut budget = Budget::batches(2);
        assert!(!budget.exhausted());
        budget.record_batch();
        budget.record_batch();
        assert!(budget.exhausted());
        assert!(!budget.fresh().exhausted());
        let mut zero = Budget::seconds(0.0);
        zero.record_batch();
        assert!(zero.exhausted());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = Budget::seconds(bad).validate().unwrap_err().to_string();
            assert!(err.contains("the time limit must be a number of seconds, 0 or more"), "{err}");
        }
        assert!(Budget::seconds(1e300).validate().is_ok());
    }
}
