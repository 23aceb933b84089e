//! Saving and resuming training: one safetensors file with the model, the optimiser's state,
//! the epoch reached and the history.
//!
//! The file is a plain safetensors file, so any tool that reads safetensors (PyTorch's `safetensors`
//! package included) can open it. Its tensors:
//!
//! | name | holds |
//! |---|---|
//! | `conv1.weight` … `fc2.bias` | the model, named as PyTorch names them |
//! | `optimizer.velocity.<param>` | SGD momentum buffers (absent before the first step or without momentum) |
//! | `meta.epoch` (u32 `[1]`) | epochs completed |
//! | `meta.seed` (i64 `[1]`) | the run's seed (bits of the u64) |
//! | `meta.hyper` (f64 `[2]`) | learning rate, momentum |
//! | `meta.batch_size` (u32 `[1]`) | training batch size |
//! | `meta.dataset` (u8 `[n]`) | the data set's name (`mnist-sample`, …), as UTF-8 bytes |
//! | `meta.data` (i64 `[4]`) | the run's examples: training and test counts, their fingerprints (bits of the u64) |
//! | `history.training`, `history.validation` (f64 `[E,5]`) | epoch, loss, correct, total, seconds |
//!
//! Everything that decides the numbers of a run is in it (seed, learning rate, momentum, batch size,
//! data set and its examples), so that a resumed run is the run it resumes: [`Trainer::resume`]
//! refuses settings that say otherwise, and [`Trainer::run`] other data. (Which ops ran, `OpsImpl`,
//! is not: they compute the same function and differ in the last bits of their sums.)
//!
//! A file is read once, into a [`Checkpoint`]: its tensors and, for a training checkpoint, its
//! [`CheckpointMeta`]. It is written whole or not at all: serialised in memory, written to a
//! temporary file next to the target, fsynced, renamed over it, and the directory fsynced; a run
//! killed while saving leaves the previous checkpoint intact.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use super::history::{EpochStats, History, Phase};
use super::optim::SgdConfig;
use super::trainer::{DataId, TrainConfig, Trainer};
use crate::atomic_file;
use crate::data::DatasetName;
use crate::error::{Error, Result};
use crate::model::{Classifier, LeNet, PARAMETERS};

/// Prefix of the velocity buffers' names in a checkpoint: `optimizer.velocity.conv1.weight`, ….
const VELOCITY_PREFIX: &str = "optimizer.velocity.";

/// A model file or training checkpoint, read once: every command and [`Trainer::resume`] take what
/// they need from this one value.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    /// Every tensor of the file, on the CPU.
    tensors: HashMap<String, Tensor>,
    /// `None` for a bare model file (no `meta.*` tensors).
    meta: Option<CheckpointMeta>,
}

impl Checkpoint {
    /// Reads a safetensors file: a checkpoint written by [`Trainer::save`], or a bare model file
    /// (any file with the eight tensors of [`PARAMETERS`]).
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |what: String| Error::Checkpoint { path: path.to_path_buf(), what };
        if path.is_dir() {
            return Err(bad("is a directory; give the model file (written by `train --save`)".into()));
        }
        if !path.exists() {
            return Err(bad(
                "no such file; train a model first with `lenet-tutor train --save <PATH>`".into()
            ));
        }
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
        let meta = parse_meta(path, &tensors)?;
        Ok(Self { path: path.to_path_buf(), tensors, meta })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every tensor of the file (on the CPU).
    pub fn tensors(&self) -> &HashMap<String, Tensor> {
        &self.tensors
    }

    /// The run it records; `None` for a bare model file.
    pub fn meta(&self) -> Option<&CheckpointMeta> {
        self.meta.as_ref()
    }

    /// The data set the model was trained on, if the file says.
    pub fn dataset(&self) -> Option<DatasetName> {
        self.meta.as_ref().and_then(|m| m.dataset)
    }

    /// The model, on `device`.
    pub fn model(&self, device: &Device) -> Result<LeNet> {
        let seed = self.meta.as_ref().map_or(0, |m| m.seed);
        LeNet::from_tensors(&self.tensors, seed, device).map_err(|e| Error::Checkpoint {
            path: self.path.clone(),
            what: format!("not a LeNet model: {e}"),
        })
    }

    /// The settings of the run it records, with the defaults for the rest (epochs, output, budget,
    /// where to save): what [`Trainer::resume`] accepts. Errors for a bare model file.
    pub fn train_config(&self) -> Result<TrainConfig> {
        let meta = self.training_meta()?;
        let defaults = TrainConfig::default();
        Ok(TrainConfig {
            seed: meta.seed,
            optimizer: meta.optimizer,
            batch_size: meta.batch_size.unwrap_or(defaults.batch_size),
            ..defaults
        })
    }

    fn training_meta(&self) -> Result<&CheckpointMeta> {
        self.meta.as_ref().ok_or_else(|| Error::Checkpoint {
            path: self.path.clone(),
            what: "this is a model file, not a training checkpoint (it has no `meta.epoch`); write one with \
                   `train --save`"
                .into(),
        })
    }
}

/// A trained model is a safetensors file: one reader for it ([`Checkpoint`]), used by eval,
/// predict, visualize, resume and the web export. (Loading lives here, with the file format, so that
/// the model itself knows nothing of files.)
impl LeNet {
    /// Loads the parameters from a safetensors file (a checkpoint written by [`Trainer::save`], or
    /// any file with the eight tensors of [`PARAMETERS`]).
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Checkpoint::open(path)?.model(device)
    }
}

impl<M: Classifier> Trainer<M> {
    /// Writes a checkpoint (model + optimiser + epoch + history) whole or not at all. The
    /// optimiser's settings are the ones it holds now (after any `set_learning_rate`).
    pub fn save(&mut self, path: &Path) -> Result<()> {
        let mut tensors: HashMap<String, Tensor> =
            self.model.named_vars().iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
        for ((name, _), velocity) in self.model.named_vars().iter().zip(self.optimizer.velocity()) {
            if let Some(v) = velocity {
                tensors.insert(format!("{VELOCITY_PREFIX}{name}"), v.clone());
            }
        }
        let meta = CheckpointMeta {
            epoch: self.epochs_done,
            seed: self.config.seed,
            optimizer: self.optimizer.config(),
            batch_size: Some(self.config.batch_size),
            dataset: self.dataset,
            data: self.data,
            history: self.history.clone(),
        };
        write(path, tensors, &meta)?;
        self.record_saved(path);
        Ok(())
    }
}

impl Trainer<LeNet> {
    /// Continues the run a checkpoint recorded: the model, the optimiser's velocity, the epoch count
    /// and the history come from it. `config` must agree with everything of the run that decides
    /// its numbers (seed, learning rate, momentum, batch size): start from
    /// [`Checkpoint::train_config`] and change what only says how to go on (epochs, output, budget,
    /// where to save). A setting that contradicts the run is refused, naming it, rather than
    /// silently applied or ignored; [`Trainer::run`] then refuses other data.
    ///
    /// ```no_run
    /// # use lenet_tutor::train::{checkpoint::Checkpoint, Trainer};
    /// # fn main() -> lenet_tutor::Result<()> {
    /// let checkpoint = Checkpoint::open("run.safetensors".as_ref())?;
    /// let config = lenet_tutor::train::TrainConfig { epochs: 6, ..checkpoint.train_config()? };
    /// let trainer = Trainer::resume(&checkpoint, config, &lenet_tutor::Device::Cpu)?;
    /// # Ok(()) }
    /// ```
    pub fn resume(checkpoint: &Checkpoint, config: TrainConfig, device: &Device) -> Result<Self> {
        let meta = checkpoint.training_meta()?;
        let mut conflicts = Vec::new();
        if config.optimizer.lr != meta.optimizer.lr {
            conflicts
                .push(format!("learning rate {} (the run's is {})", config.optimizer.lr, meta.optimizer.lr));
        }
        if config.optimizer.momentum != meta.optimizer.momentum {
            conflicts.push(format!(
                "momentum {} (the run's is {})",
                config.optimizer.momentum, meta.optimizer.momentum
            ));
        }
        if config.seed != meta.seed {
            conflicts.push(format!("seed {} (the run's is {})", config.seed, meta.seed));
        }
        if let Some(batch) = meta.batch_size.filter(|&b| b != config.batch_size) {
            conflicts.push(format!("batch size {} (the run's is {batch})", config.batch_size));
        }
        if !conflicts.is_empty() {
            return Err(Error::Checkpoint {
                path: checkpoint.path.clone(),
                what: format!(
                    "{} contradicts the checkpoint; resuming continues the run it recorded (its seed, learning \
                     rate, momentum, batch size and data), so drop the flag, or start a new run without --resume",
                    conflicts.join(", ")
                ),
            });
        }
        let model = checkpoint.model(device)?;
        let mut trainer = Trainer::with_model(model, config, device)?;
        let velocity = PARAMETERS
            .iter()
            .map(|p| checkpoint.tensors.get(&format!("{VELOCITY_PREFIX}{}", p.name)).cloned())
            .collect();
        let names: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
        trainer.optimizer.set_velocity(velocity, &names).map_err(|e| Error::Checkpoint {
            path: checkpoint.path.clone(),
            what: format!("the optimizer state does not fit the model: {e}"),
        })?;
        trainer.history = meta.history.clone();
        trainer.epochs_done = meta.epoch;
        trainer.dataset = meta.dataset;
        trainer.data = meta.data;
        Ok(trainer)
    }
}

/// Everything a checkpoint holds besides the model and optimiser tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointMeta {
    pub epoch: usize,
    pub seed: u64,
    /// The optimiser's settings when the checkpoint was written.
    pub optimizer: SgdConfig,
    /// `None` in checkpoints written before it was recorded.
    pub batch_size: Option<usize>,
    /// `None` in checkpoints written before it was recorded.
    pub dataset: Option<DatasetName>,
    /// The run's examples; `None` in checkpoints written before they were recorded.
    pub data: Option<DataId>,
    pub history: History,
}

/// Writes `tensors` plus `meta` to `path` whole or not at all.
pub(crate) fn write(path: &Path, mut tensors: HashMap<String, Tensor>, meta: &CheckpointMeta) -> Result<()> {
    let cpu = Device::Cpu;
    tensors.insert("meta.epoch".into(), Tensor::new(&[meta.epoch as u32], &cpu)?);
    tensors.insert("meta.seed".into(), Tensor::new(&[meta.seed as i64], &cpu)?);
    tensors.insert("meta.hyper".into(), Tensor::new(&[meta.optimizer.lr, meta.optimizer.momentum], &cpu)?);
    if let Some(batch_size) = meta.batch_size {
        tensors.insert("meta.batch_size".into(), Tensor::new(&[batch_size as u32], &cpu)?);
    }
    if let Some(dataset) = meta.dataset {
        tensors.insert("meta.dataset".into(), Tensor::new(dataset.to_string().as_bytes(), &cpu)?);
    }
    if let Some(data) = meta.data {
        let words =
            [data.train_len as i64, data.test_len as i64, data.train_hash as i64, data.test_hash as i64];
        tensors.insert("meta.data".into(), Tensor::new(&words, &cpu)?);
    }
    for phase in [Phase::Training, Phase::Validation] {
        let rows = meta.history.phase(phase);
        if rows.is_empty() {
            continue;
        }
        let flat: Vec<f64> = rows
            .iter()
            .flat_map(|s| [s.epoch as f64, s.loss as f64, s.correct as f64, s.total as f64, s.seconds])
            .collect();
        tensors.insert(format!("history.{}", phase.name()), Tensor::from_vec(flat, (rows.len(), 5), &cpu)?);
    }
    let tensors: Vec<(String, Tensor)> =
        tensors.into_iter().map(|(n, t)| Ok((n, t.to_device(&cpu)?))).collect::<Result<_>>()?;
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), None).map_err(|e| {
        Error::Checkpoint { path: path.to_path_buf(), what: format!("cannot serialise the checkpoint: {e}") }
    })?;
    atomic_file::write(path, &bytes)
}

/// Reads the metadata of a checkpoint written by [`write`]; `None` when the file has no `meta.*`
/// tensor at all (a bare model file).
fn parse_meta(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<Option<CheckpointMeta>> {
    if !tensors.keys().any(|name| name.starts_with("meta.")) {
        return Ok(None);
    }
    let bad = |what: String| Error::Checkpoint { path: path.to_path_buf(), what };
    let missing = |name: &str| {
        bad(format!("`{name}` is missing or malformed: a damaged checkpoint (write a new one with --save)"))
    };
    let values = |name: &str, dtype: DType| -> Result<Tensor> {
        let t = tensors.get(name).ok_or_else(|| missing(name))?;
        t.flatten_all().and_then(|t| t.to_dtype(dtype)).map_err(|_| missing(name))
    };
    let epoch = values("meta.epoch", DType::U32)?.to_vec1::<u32>()?;
    let seed = values("meta.seed", DType::I64)?.to_vec1::<i64>()?;
    let hyper = values("meta.hyper", DType::F64)?.to_vec1::<f64>()?;
    let (Some(&epoch), Some(&seed), [lr, momentum]) = (epoch.first(), seed.first(), hyper.as_slice()) else {
        return Err(missing("meta.epoch, meta.seed or meta.hyper"));
    };
    let optimizer = SgdConfig::new(*lr, *momentum).map_err(|e| bad(format!("`meta.hyper`: {e}")))?;
    let mut history = History::default();
    for phase in [Phase::Training, Phase::Validation] {
        let name = format!("history.{}", phase.name());
        let Some(t) = tensors.get(&name) else { continue };
        let rows = t.to_dtype(DType::F64).and_then(|t| t.to_vec2::<f64>()).map_err(|_| missing(&name))?;
        for row in rows {
            let [epoch, loss, correct, total, seconds] = row[..] else { return Err(missing(&name)) };
            history.push(EpochStats {
                epoch: epoch as usize,
                phase,
                loss: loss as f32,
                correct: correct as usize,
                total: total as usize,
                seconds,
            });
        }
    }
    let batch_size = match tensors.get("meta.batch_size") {
        None => None,
        Some(_) => values("meta.batch_size", DType::U32)?.to_vec1::<u32>()?.first().map(|&b| b as usize),
    };
    let dataset = match tensors.get("meta.dataset") {
        None => None,
        Some(_) => {
            let bytes = values("meta.dataset", DType::U8)?.to_vec1::<u8>()?;
            let name = String::from_utf8_lossy(&bytes).into_owned();
            Some(name.parse::<DatasetName>().map_err(|e| bad(format!("`meta.dataset`: {e}")))?)
        }
    };
    let data = match (tensors.get("meta.data"), dataset) {
        (None, _) => None,
        (Some(_), None) => return Err(missing("meta.dataset")),
        (Some(_), Some(name)) => match values("meta.data", DType::I64)?.to_vec1::<i64>()?[..] {
            [train_len, test_len, train_hash, test_hash] => Some(DataId {
                name,
                train_len: train_len as usize,
                test_len: test_len as usize,
                train_hash: train_hash as u64,
                test_hash: test_hash as u64,
            }),
            _ => return Err(missing("meta.data")),
        },
    };
    Ok(Some(CheckpointMeta {
        epoch: epoch as usize,
        seed: seed as u64,
        optimizer,
        batch_size,
        dataset,
        data,
        history,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CheckpointMeta {
        let mut history = History::default();
        for (i, phase) in [Phase::Training, Phase::Validation].into_iter().enumerate() {
            history.push(EpochStats {
                epoch: 1,
                phase,
                loss: 0.5 + i as f32,
                correct: 7,
                total: 9,
                seconds: 1.5,
            });
        }
        CheckpointMeta {
            epoch: 1,
            seed: u64::MAX - 3,
            optimizer: SgdConfig { lr: 0.01, momentum: 0.9 },
            batch_size: Some(64),
            dataset: Some(DatasetName::FashionMnist),
            data: Some(DataId {
                name: DatasetName::FashionMnist,
                train_len: 640,
                test_len: 100,
                train_hash: u64::MAX - 1,
                test_hash: 17,
            }),
            history,
        }
    }

    #[test]
    fn round_trips_meta_and_history_into_an_ordinary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        let meta = meta();
        let mut tensors = HashMap::new();
        tensors.insert("w".to_string(), Tensor::new(&[1f32, 2.], &Device::Cpu).unwrap());
        write(&path, tensors, &meta).unwrap();
        let back = Checkpoint::open(&path).unwrap();
        assert_eq!(back.tensors()["w"].to_vec1::<f32>().unwrap(), vec![1.0, 2.0]);
        assert_eq!(back.meta(), Some(&meta));
        // Nothing but the checkpoint is left in the directory (no temporary file), and it is an
        // ordinary file (0644), not a private temporary one.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn missing_garbage_and_damaged_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Checkpoint::open(&dir.path().join("nope.safetensors")).unwrap_err().to_string();
        assert!(err.contains("no such file; train a model first"), "{err}");
        let err = Checkpoint::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        let junk = dir.path().join("junk.safetensors");
        std::fs::write(&junk, b"not a safetensors file").unwrap();
        let err = Checkpoint::open(&junk).unwrap_err().to_string();
        assert!(err.contains("not a readable safetensors file"), "{err}");
        // A model file is no training checkpoint; a damaged meta tensor is an error, not "no meta".
        let model_only = dir.path().join("model.safetensors");
        let w = HashMap::from([("w".to_string(), Tensor::new(&[1f32], &Device::Cpu).unwrap())]);
        candle_core::safetensors::save(&w, &model_only).unwrap();
        let err = Checkpoint::open(&model_only).unwrap().train_config().unwrap_err().to_string();
        assert!(err.contains("not a training checkpoint"), "{err}");
        let damaged = dir.path().join("damaged.safetensors");
        let mut t = w.clone();
        t.insert("meta.epoch".into(), Tensor::new(&[1u32], &Device::Cpu).unwrap());
        candle_core::safetensors::save(&t, &damaged).unwrap();
        let err = Checkpoint::open(&damaged).unwrap_err().to_string();
        assert!(err.contains("`meta.seed` is missing or malformed"), "{err}");
    }
}
