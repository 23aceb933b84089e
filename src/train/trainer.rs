//! A whole training run: the notes' loop `for epoch in range(1, 20): fit(training); fit(validation)`,
//! with a history, a budget, checkpoints and resume.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_nn::Optimizer;

use super::budget::Budget;
use super::fit::{FitOptions, Output, fit};
use super::history::{History, Phase};
use super::optim::{Sgd, SgdConfig};
use crate::data::{Dataset, DatasetName, Loader};
use crate::error::{Error, Result};
use crate::model::{Classifier, LeNet};

/// The settings of a run, with the defaults of the notes and of PyTorch's MNIST example. Each
/// setting lives here once: the optimiser's in [`SgdConfig`], the limits in [`Budget`].
///
/// ```
/// use lenet_tutor::train::{Budget, SgdConfig, TrainConfig};
/// let config = TrainConfig {
///     epochs: 3,
///     optimizer: SgdConfig { momentum: 0.9, ..SgdConfig::default() }, // lr 0.01
///     budget: Budget::seconds(60.0),
///     ..TrainConfig::default()
/// };
/// assert_eq!((config.batch_size, config.optimizer.lr), (32, 0.01));
/// ```
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Epochs to train (the run stops at this epoch number, counting resumed ones).
    pub epochs: usize,
    /// Training batch size (the book's choice, 32; the notes do not say).
    pub batch_size: usize,
    /// Batch size of the validation passes.
    pub test_batch_size: usize,
    /// The optimiser's settings: learning rate 0.01 and no momentum, as in the notes.
    pub optimizer: SgdConfig,
    /// Seeds the initial weights, the shuffling and the dropout masks.
    pub seed: u64,
    /// Stop early after so many training batches or seconds (`--dry-run` is one batch).
    pub budget: Budget,
    pub output: Output,
    /// Print a progress line every this many batches (plain output; 0: never).
    pub log_interval: usize,
    /// Save a checkpoint here after every epoch (and once at the end if no epoch ran).
    pub save: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            test_batch_size: 1000,
            optimizer: SgdConfig::default(),
            seed: 1,
            budget: Budget::unlimited(),
            output: Output::Auto,
            log_interval: 100,
            save: None,
        }
    }
}

impl TrainConfig {
    /// Checks every setting, with a message that names the one out of range.
    pub fn validate(&self) -> Result<()> {
        SgdConfig::new(self.optimizer.lr, self.optimizer.momentum)?;
        self.budget.validate()?;
        for (what, value) in [("batch size", self.batch_size), ("test batch size", self.test_batch_size)] {
            if value == 0 {
                return Err(Error::InvalidArgument(format!("the {what} must be at least 1, got 0")));
            }
        }
        Ok(())
    }
}

/// What identifies the data of a run, recorded in its checkpoints: a resumed run must train and
/// validate on the same examples, not only on a data set of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataId {
    pub name: DatasetName,
    pub train_len: usize,
    pub test_len: usize,
    /// [`Dataset::fingerprint`] of the training and of the test split.
    pub train_hash: u64,
    pub test_hash: u64,
}

impl DataId {
    /// The identity of a run's two splits.
    pub fn of(train: &Dataset, test: &Dataset) -> Self {
        Self {
            name: train.name(),
            train_len: train.len(),
            test_len: test.len(),
            train_hash: train.fingerprint(),
            test_hash: test.fingerprint(),
        }
    }
}

/// A model, its optimiser and the history of its training: the one training loop of the crate,
/// used by the CLI, the book, the notebooks and the experiments, for any [`Classifier`].
///
/// The optimiser holds the optimiser's settings while a run goes on (`trainer.optimizer
/// .set_learning_rate(..)` changes them); a checkpoint records what the optimiser holds.
#[derive(Debug)]
pub struct Trainer<M: Classifier = LeNet> {
    pub model: M,
    pub optimizer: Sgd,
    pub history: History,
    pub config: TrainConfig,
    pub(crate) epochs_done: usize,
    /// The data set of the run, once it has one: a resumed run must go on with the same.
    pub(crate) dataset: Option<DatasetName>,
    /// The examples of the run, once known (`None` in checkpoints written before they were recorded).
    pub(crate) data: Option<DataId>,
    /// Where the last checkpoint of this run was written, by this process.
    last_saved: Option<PathBuf>,
    device: Device,
}

impl Trainer<LeNet> {
    /// A fresh run of the notes' LeNet, initialised from `config.seed`.
    pub fn new(config: TrainConfig, device: &Device) -> Result<Self> {
        config.validate()?;
        let model = LeNet::new(config.seed, device)?;
        Self::with_model(model, config, device)
    }
}

impl<M: Classifier> Trainer<M> {
    /// A fresh run of any classifier (its parameters must live on `device`).
    pub fn with_model(model: M, config: TrainConfig, device: &Device) -> Result<Self> {
        config.validate()?;
        let vars = model.named_vars().iter().map(|(_, v)| v.clone()).collect();
        let optimizer = Sgd::new(vars, config.optimizer)?;
        Ok(Self {
            model,
            optimizer,
            history: History::default(),
            config,
            epochs_done: 0,
            dataset: None,
            data: None,
            last_saved: None,
            device: device.clone(),
        })
    }

    /// Epochs completed so far (including those of a resumed checkpoint).
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Where this trainer last wrote a checkpoint (`None` if it wrote none).
    pub fn last_saved(&self) -> Option<&Path> {
        self.last_saved.as_deref()
    }

    /// Refuses a data set other than the run's (a resumed run must go on with its own): call it
    /// before loading data, to fail before a download. [`Trainer::run`] checks it again, with
    /// the examples themselves.
    pub fn check_dataset(&self, name: DatasetName) -> Result<()> {
        match self.dataset {
            Some(run) if run != name => Err(Error::InvalidArgument(format!(
                "this run was trained on {run}; resuming it on {name} would be another run: train on {run} \
                 (drop --dataset), or start a new run without --resume"
            ))),
            _ => Ok(()),
        }
    }

    /// Trains until `config.epochs` or the budget, validating after each epoch; with `config.save`,
    /// writes a checkpoint after each epoch ([`Trainer::save`]), and once at the end when no epoch
    /// was left to run (`epochs: 0`, or a resumed run already there), so that the file exists.
    ///
    /// A run resumed from a checkpoint must train on the data it was trained on. A loss that becomes
    /// NaN or infinite, or explodes past any sensible value, stops the run with an error before the
    /// epoch's checkpoint is written: the last good one is kept.
    pub fn run(&mut self, train: &Dataset, test: &Dataset) -> Result<&History> {
        self.check_dataset(train.name())?;
        let data = DataId::of(train, test);
        if let Some(run) = self.data.filter(|run| *run != data) {
            return Err(Error::InvalidArgument(format!(
                "this run was trained on other {} data ({} training / {} validation images, fingerprints \
                 {:016x}/{:016x}) than given now ({} / {}, {:016x}/{:016x}); resume it on the same files \
                 (the same --data-dir), or start a new run without --resume",
                run.name,
                run.train_len,
                run.test_len,
                run.train_hash,
                run.test_hash,
                data.train_len,
                data.test_len,
                data.train_hash,
                data.test_hash
            )));
        }
        self.dataset = Some(train.name());
        self.data = Some(data);
        let train_loader = Loader::new(train, self.config.batch_size, true, self.config.seed, &self.device)?;
        let test_loader =
            Loader::new(test, self.config.test_batch_size, false, self.config.seed, &self.device)?;
        let mut options = FitOptions {
            output: self.config.output,
            log_interval: self.config.log_interval,
            budget: self.config.budget.fresh(),
        };
        let mut saved = false;
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
                saved = true;
            }
        }
        if let Some(path) = self.config.save.clone().filter(|_| !saved) {
            self.save(&path)?;
        }
        Ok(&self.history)
    }

    pub(crate) fn record_saved(&mut self, path: &Path) {
        self.last_saved = Some(path.to_path_buf());
    }
}
