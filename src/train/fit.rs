//! The notes' `fit(epoch, model, data_loader, phase)`: one pass over a data set.
//!
//! In the training phase every batch goes forward, the mean NLL loss goes backward and the optimiser
//! steps; in the validation phase the model runs in evaluation mode (dropout off) and nothing is
//! tracked or updated. Both phases add up the *sum*-reduced loss and the correct predictions, divide by
//! the number of examples at the end and print the notes' line.

use std::io::IsTerminal;
use std::time::Instant;

use candle_core::{D, DType, Tensor};
use candle_nn::Optimizer;
use indicatif::{ProgressBar, ProgressStyle};

use super::budget::Budget;
use super::history::{EpochStats, Phase};
use super::log_line::notes_line_timed;
use crate::data::{Dataset, Loader};
use crate::error::{Error, Result};
use crate::model::Classifier;

/// A training batch whose mean loss exceeds this has diverged: the model gives the right class a
/// probability below e^-1000 on average, where an untrained one gives it 1/10 (a loss of 2.3).
/// Only a learning rate far too large gets there; the run stops instead of saving a useless model.
pub const DIVERGED_LOSS: f32 = 1000.0;

/// How a pass reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// A progress bar when stdout is a terminal, plain lines otherwise (Jupyter, CI, pipes).
    #[default]
    Auto,
    /// Plain lines every `log_interval` batches and the notes' line per pass.
    Plain,
    /// Only the notes' line per pass.
    Summary,
    /// Nothing at all (tests, the book's hidden setup).
    Quiet,
}

/// Settings shared by the passes of one run.
#[derive(Debug, Clone)]
pub struct FitOptions {
    pub output: Output,
    /// Print a progress line every this many batches (plain output).
    pub log_interval: usize,
    pub budget: Budget,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { output: Output::Auto, log_interval: 100, budget: Budget::unlimited() }
    }
}

/// One pass of `phase` over `loader`: the notes' `fit`. Returns the pass's statistics and prints the
/// notes' line (unless the output is quiet). In the validation phase `optimizer` is not touched.
pub fn fit<M: Classifier + ?Sized, O: Optimizer>(
    epoch: usize,
    model: &M,
    loader: &Loader,
    phase: Phase,
    optimizer: &mut O,
    options: &mut FitOptions,
) -> Result<EpochStats> {
    let step = match phase {
        Phase::Training => Some(optimizer),
        Phase::Validation => None,
    };
    pass(epoch, model, loader, step, options, None)
}

/// Evaluates `model` on `dataset` (batches of `batch_size`, in order): a validation pass of [`fit`]
/// that also returns every prediction, in the order of the data set.
pub fn evaluate<M: Classifier + ?Sized>(
    model: &M,
    dataset: &Dataset,
    batch_size: usize,
    device: &candle_core::Device,
    output: Output,
) -> Result<(EpochStats, Vec<u32>)> {
    let loader = Loader::new(dataset, batch_size, false, 0, device)?;
    let mut options = FitOptions { output, ..FitOptions::default() };
    let mut predictions = Vec::with_capacity(dataset.len());
    let stats = pass::<M, super::Sgd>(0, model, &loader, None, &mut options, Some(&mut predictions))?;
    Ok((stats, predictions))
}

/// The loop behind [`fit`] and [`evaluate`]: training when there is an optimiser to step,
/// validation otherwise; collects the predictions when asked to.
fn pass<M: Classifier + ?Sized, O: Optimizer>(
    epoch: usize,
    model: &M,
    loader: &Loader,
    mut optimizer: Option<&mut O>,
    options: &mut FitOptions,
    mut predictions: Option<&mut Vec<u32>>,
) -> Result<EpochStats> {
    let start = Instant::now();
    let training = optimizer.is_some();
    let phase = if training { Phase::Training } else { Phase::Validation };
    let output = match options.output {
        Output::Auto if std::io::stdout().is_terminal() => Output::Auto,
        Output::Auto => Output::Plain,
        other => other,
    };
    let bar = (output == Output::Auto).then(|| progress_bar(loader.num_batches() as u64, phase, epoch));

    let mut running_loss = 0f64;
    let mut running_correct = 0usize;
    let mut seen = 0usize;
    for (batch_idx, batch) in loader.epoch(epoch).enumerate() {
        if training && options.budget.exhausted() {
            break;
        }
        let batch = batch?;
        let output_t = model.forward_t(&batch.images, training)?; // [B,10] log-probabilities
        let batch_size = batch.labels.dims1()?;
        // F.nll_loss(output, target, reduction='sum'): minus the log-probability of the right class.
        let picked = output_t.gather(&batch.labels.unsqueeze(1)?, 1)?; // [B,1]
        let loss_sum = picked.sum_all()?.neg()?;
        let loss_value = loss_sum.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let mean = loss_value / batch_size.max(1) as f32;
        if !loss_value.is_finite() || (training && mean > DIVERGED_LOSS) {
            return Err(Error::Diverged { loss: mean, epoch, batch: batch_idx + 1 });
        }
        running_loss += loss_value as f64;
        let preds = output_t.argmax(D::Minus1)?; // [B] u32
        running_correct += count_correct(&preds, &batch.labels)?;
        if let Some(predictions) = predictions.as_deref_mut() {
            predictions.extend(preds.to_vec1::<u32>()?);
        }
        seen += batch_size;
        if let Some(optimizer) = optimizer.as_deref_mut() {
            // F.nll_loss(output, target): the mean, whose gradient the optimiser follows.
            let loss_mean = (loss_sum / batch_size as f64)?;
            optimizer.backward_step(&loss_mean)?;
            options.budget.record_batch();
        }
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_value / batch_size as f32));
        } else if output == Output::Plain
            && training
            && options.log_interval > 0
            && (batch_idx + 1) % options.log_interval == 0
        {
            println!(
                "{phase} epoch {epoch} [{seen}/{}] loss {:.4}",
                loader.len(),
                loss_value / batch_size as f32
            );
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let stats = EpochStats {
        epoch,
        phase,
        loss: if seen == 0 { 0.0 } else { (running_loss / seen as f64) as f32 },
        correct: running_correct,
        total: seen,
        seconds: start.elapsed().as_secs_f64(),
    };
    if output != Output::Quiet {
        println!("{}", notes_line_timed(&stats));
    }
    Ok(stats)
}

/// `preds.eq(target).sum()`, for `preds = output.max(dim=1)[1]`.
fn count_correct(preds: &Tensor, labels: &Tensor) -> Result<usize> {
    let correct = preds.eq(labels)?.to_dtype(DType::U32)?.sum_all()?.to_scalar::<u32>()?;
    Ok(correct as usize)
}

fn progress_bar(len: u64, phase: Phase, epoch: usize) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch} {phase}"));
    bar
}
