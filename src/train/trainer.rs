//! A whole training run: the notes' loop `for epoch in range(1, 20): fit(training); fit(validation)`,
//! with a history, a budget, checkpoints and resume.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::checkpoint::{self, CheckpointMeta};
use super::fit::{Budget, FitOptions, Output, fit};
use super::history::{EpochStats, History, Phase};
use super::optim::Sgd;
use crate::data::{Dataset, Loader};
use crate::error::{Error, Result};
use crate::model::{Classifier, ConvImpl, LeNet};

/// The settings of a run, with the defaults of the notes and of PyTorch's MNIST example.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Epochs to train (the run stops at this epoch number, counting resumed ones).
    pub epochs: usize,
    /// Training batch size (the notes' book uses 32).
    pub batch_size: usize,
    /// Batch size of the validation passes.
    pub test_batch_size: usize,
    pub lr: f64,
    pub momentum: f64,
    /// Seeds the initial weights, the shuffling and the dropout masks.
    pub seed: u64,
    pub output: Output,
    pub log_interval: usize,
    /// Stop early after this many training batches in total (`--dry-run` is 1).
    pub max_batches: Option<usize>,
    /// Stop early after this many seconds of training.
    pub max_seconds: Option<f64>,
    /// Save a checkpoint here after every epoch.
    pub save: Option<PathBuf>,
    pub conv_impl: ConvImpl,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            test_batch_size: 1000,
            lr: 0.01,
            momentum: 0.0,
            seed: 1,
            output: Output::Auto,
            log_interval: 100,
            max_batches: None,
            max_seconds: None,
            save: None,
            conv_impl: ConvImpl::default(),
        }
    }
}

/// A model, its optimiser and the history of its training.
#[derive(Debug)]
pub struct Trainer {
    pub model: LeNet,
    pub optimizer: Sgd,
    pub history: History,
    pub config: TrainConfig,
    epochs_done: usize,
    device: Device,
}

impl Trainer {
    /// A fresh run: a newly initialised LeNet (from `config.seed`) and its optimiser.
    pub fn new(config: TrainConfig, device: &Device) -> Result<Self> {
        let mut model = LeNet::new(config.seed, device)?;
        model.set_conv_impl(config.conv_impl);
        let optimizer = Sgd::new(model.named_vars(), config.lr, config.momentum)?;
        Ok(Self {
            model,
            optimizer,
            history: History::default(),
            config,
            epochs_done: 0,
            device: device.clone(),
        })
    }

    /// Continues a run from a checkpoint written by [`Trainer::save`]: the model, the optimiser's
    /// velocity, the epoch count and the history come from the file; the seed too, so shuffling and
    /// dropout go on as they would have. `config.epochs` is the epoch to stop at.
    pub fn resume(path: &Path, mut config: TrainConfig, device: &Device) -> Result<Self> {
        let tensors = checkpoint::read_tensors(path, device)?;
        let meta = checkpoint::read_meta(path, &tensors)?;
        config.seed = meta.seed;
        let mut model = LeNet::from_tensors(&tensors, meta.seed, device).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            what: format!("not a LeNet checkpoint: {e}"),
        })?;
        model.set_conv_impl(config.conv_impl);
        let mut optimizer = Sgd::new(model.named_vars(), config.lr, config.momentum)?;
        optimizer.load_state(&tensors)?;
        Ok(Self {
            model,
            optimizer,
            history: meta.history,
            config,
            epochs_done: meta.epoch,
            device: device.clone(),
        })
    }

    /// Epochs completed so far (including those of a resumed checkpoint).
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Trains until `config.epochs` or the budget, validating after each epoch.
    pub fn run(&mut self, train: &Dataset, test: &Dataset) -> Result<&History> {
        let train_loader = Loader::new(train, self.config.batch_size, true, self.config.seed, &self.device)?;
        let test_loader =
            Loader::new(test, self.config.test_batch_size, false, self.config.seed, &self.device)?;
        let mut budget = Budget::unlimited();
        budget.max_batches = self.config.max_batches;
        budget.max_time = self.config.max_seconds.map(std::time::Duration::from_secs_f64);
        let mut options =
            FitOptions { output: self.config.output, log_interval: self.config.log_interval, budget };
        while self.epochs_done < self.config.epochs && !options.budget.exhausted() {
            let epoch = self.epochs_done + 1;
            // Dropout masks of epoch e depend only on (seed, e), so a resumed run draws the same ones.
            self.model.start_epoch(self.config.seed, epoch);
            let stats =
                fit(epoch, &self.model, &train_loader, Phase::Training, &mut self.optimizer, &mut options)?;
            self.history.push(stats);
            let stats =
                fit(epoch, &self.model, &test_loader, Phase::Validation, &mut self.optimizer, &mut options)?;
            self.history.push(stats);
            self.epochs_done = epoch;
            if let Some(path) = self.config.save.clone() {
                self.save(&path)?;
            }
        }
        Ok(&self.history)
    }

    /// Writes a checkpoint (model + optimiser + epoch + history) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = self.model.tensors();
        tensors.extend(self.optimizer.state());
        let meta = CheckpointMeta {
            epoch: self.epochs_done,
            seed: self.config.seed,
            lr: self.config.lr,
            momentum: self.config.momentum,
            history: self.history.clone(),
        };
        checkpoint::write(path, tensors, &meta)
    }
}

/// Evaluates `model` on `dataset`: the validation pass's statistics and every prediction, in order.
pub fn evaluate(
    model: &LeNet,
    dataset: &Dataset,
    batch_size: usize,
    output: Output,
) -> Result<(EpochStats, Vec<u32>)> {
    let loader = Loader::new(dataset, batch_size, false, 0, model.device())?;
    let start = std::time::Instant::now();
    let mut predictions = Vec::with_capacity(dataset.len());
    let mut loss_sum = 0f64;
    let mut correct = 0usize;
    for batch in loader.epoch(1) {
        let batch = batch?;
        let log_probs = model.forward_t(&batch.images, false)?;
        let preds = log_probs.argmax(candle_core::D::Minus1)?;
        correct +=
            preds.eq(&batch.labels)?.to_dtype(candle_core::DType::U32)?.sum_all()?.to_scalar::<u32>()?
                as usize;
        let picked: Tensor = log_probs.gather(&batch.labels.unsqueeze(1)?, 1)?;
        loss_sum -= picked.sum_all()?.to_scalar::<f32>()? as f64;
        predictions.extend(preds.to_vec1::<u32>()?);
    }
    let stats = EpochStats {
        epoch: 0,
        phase: Phase::Validation,
        loss: if dataset.is_empty() { 0.0 } else { (loss_sum / dataset.len() as f64) as f32 },
        correct,
        total: dataset.len(),
        seconds: start.elapsed().as_secs_f64(),
    };
    if output != Output::Quiet {
        println!("{}", super::report::notes_line_timed(&stats));
    }
    Ok((stats, predictions))
}
