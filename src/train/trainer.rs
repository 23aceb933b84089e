//! A whole training run: the notes' loop `for epoch in range(1, 20): fit(training); fit(validation)`,
//! with a history, a budget, checkpoints and resume.

use std::path::PathBuf;

use candle_core::Device;
use candle_nn::Optimizer;

use super::budget::Budget;
use super::fit::{FitOptions, Output, fit};
use super::history::{History, Phase};
use super::optim::{Sgd, SgdConfig};
use crate::data::{Dataset, DatasetName, Loader};
use crate::error::{Error, Result};
use crate::model::{Classifier, LeNet};

/// The settings of a run, with the defaults of the notes and of PyTorch's MNIST example.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Epochs to train (the run stops at this epoch number, counting resumed ones).
    pub epochs: usize,
    /// Training batch size (the book's choice, 32; the notes do not say).
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
        }
    }
}

/// A model, its optimiser and the history of its training: the one training loop of the crate,
/// used by the CLI, the book, the notebooks and the experiments, for any [`Classifier`].
#[derive(Debug)]
pub struct Trainer<M: Classifier = LeNet> {
    pub model: M,
    pub optimizer: Sgd,
    pub history: History,
    pub config: TrainConfig,
    pub(crate) epochs_done: usize,
    /// The data set of the run, once it has one: a resumed run must go on with the same.
    pub(crate) dataset: Option<DatasetName>,
    device: Device,
}

impl Trainer<LeNet> {
    /// A fresh run of the notes' LeNet, initialised from `config.seed`.
    pub fn new(config: TrainConfig, device: &Device) -> Result<Self> {
        let model = LeNet::new(config.seed, device)?;
        Self::with_model(model, config, device)
    }
}

impl<M: Classifier> Trainer<M> {
    /// A fresh run of any classifier (its parameters must live on `device`).
    pub fn with_model(model: M, config: TrainConfig, device: &Device) -> Result<Self> {
        let vars = model.named_vars().iter().map(|(_, v)| v.clone()).collect();
        let optimizer = Sgd::new(vars, SgdConfig::new(config.lr, config.momentum)?)?;
        Ok(Self {
            model,
            optimizer,
            history: History::default(),
            config,
            epochs_done: 0,
            dataset: None,
            device: device.clone(),
        })
    }

    /// Epochs completed so far (including those of a resumed checkpoint).
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Trains until `config.epochs` or the budget, validating after each epoch; with `config.save`,
    /// writes a checkpoint after each epoch ([`Trainer::save`]).
    ///
    /// A run resumed from a checkpoint must train on the data set it was trained on.
    pub fn run(&mut self, train: &Dataset, test: &Dataset) -> Result<&History> {
        match self.dataset {
            Some(name) if name != train.name() => {
                return Err(Error::InvalidArgument(format!(
                    "this run was trained on {name}; resuming it on {} would be another run: train on {name}, \
                     or start a new run",
                    train.name()
                )));
            }
            _ => self.dataset = Some(train.name()),
        }
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
}
