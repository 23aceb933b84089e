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
//! | `history.training`, `history.validation` (f64 `[E,5]`) | epoch, loss, correct, total, seconds |
//!
//! Everything that decides the numbers of a run is in it (seed, learning rate, momentum, batch size,
//! data set), so that a resumed run is the run it resumes: [`Trainer::resume`] takes them from the
//! file, not from the caller. (The convolution code, `ConvImpl`, is not: both compute the same
//! function and differ in the last bits of their sums.)
//!
//! It is written to a temporary file next to the target (`.<name>.<random>.tmp`) and renamed over
//! it, so a run killed while saving leaves the previous checkpoint intact; the next save removes
//! what such a killed write left behind.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::history::{EpochStats, History, Phase};
use super::trainer::{TrainConfig, Trainer};
use crate::atomic_file;
use crate::data::DatasetName;
use crate::error::{Error, Result};
use crate::model::{Classifier, LeNet, PARAMETERS};

/// Prefix of the velocity buffers' names in a checkpoint: `optimizer.velocity.conv1.weight`, ….
const VELOCITY_PREFIX: &str = "optimizer.velocity.";

/// A trained model is a safetensors file: one reader for it, used by eval, predict, visualize,
/// resume and the web export. (Loading lives here, with the file format, so that the model itself
/// knows nothing of files.)
impl LeNet {
    /// Loads the parameters from a safetensors file (a checkpoint written by [`Trainer::save`], or
    /// any file with the eight tensors of [`PARAMETERS`]).
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let tensors = read_tensors(path, device)?;
        Self::from_tensors(&tensors, 0, device).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            what: format!("not a LeNet model: {e}"),
        })
    }
}

impl<M: Classifier> Trainer<M> {
    /// Writes a checkpoint (model + optimiser + epoch + history) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
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
            lr: self.config.lr,
            momentum: self.config.momentum,
            batch_size: Some(self.config.batch_size),
            dataset: self.dataset,
            history: self.history.clone(),
        };
        write(path, tensors, &meta)
    }
}

impl Trainer<LeNet> {
    /// Continues a run from a checkpoint written by [`Trainer::save`]. The model, the optimiser's
    /// velocity, the epoch count and the history come from the file, and so does everything that
    /// decides the numbers: seed (shuffling and dropout go on as they would have), learning rate,
    /// momentum, batch size, and the data set ([`Trainer::run`] refuses another one). The caller's
    /// values for those are replaced; `config` supplies the rest: the epoch to stop at, output,
    /// budget, where to save. (The command line refuses a flag that contradicts the checkpoint.)
    pub fn resume(path: &Path, mut config: TrainConfig, device: &Device) -> Result<Self> {
        let tensors = read_tensors(path, device)?;
        let meta = read_meta(path, &tensors)?;
        config.seed = meta.seed;
        config.lr = meta.lr;
        config.momentum = meta.momentum;
        if let Some(batch_size) = meta.batch_size {
            config.batch_size = batch_size;
        }
        let model = LeNet::from_tensors(&tensors, meta.seed, device).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            what: format!("not a LeNet checkpoint: {e}"),
        })?;
        let mut trainer = Trainer::with_model(model, config, device)?;
        let velocity = PARAMETERS
            .iter()
            .map(|p| tensors.get(&format!("{VELOCITY_PREFIX}{}", p.name)).cloned())
            .collect();
        let names: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
        trainer.optimizer.set_velocity(velocity, &names).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            what: format!("the optimizer state does not fit the model: {e}"),
        })?;
        trainer.history = meta.history;
        trainer.epochs_done = meta.epoch;
        trainer.dataset = meta.dataset;
        Ok(trainer)
    }
}

/// Everything a checkpoint holds besides the model and optimiser tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointMeta {
    pub epoch: usize,
    pub seed: u64,
    pub lr: f64,
    pub momentum: f64,
    /// `None` in checkpoints written before it was recorded.
    pub batch_size: Option<usize>,
    /// `None` in checkpoints written before it was recorded.
    pub dataset: Option<DatasetName>,
    pub history: History,
}

/// Writes `tensors` plus `meta` to `path` atomically.
pub(crate) fn write(path: &Path, mut tensors: HashMap<String, Tensor>, meta: &CheckpointMeta) -> Result<()> {
    let cpu = Device::Cpu;
    tensors.insert("meta.epoch".into(), Tensor::new(&[meta.epoch as u32], &cpu)?);
    tensors.insert("meta.seed".into(), Tensor::new(&[meta.seed as i64], &cpu)?);
    tensors.insert("meta.hyper".into(), Tensor::new(&[meta.lr, meta.momentum], &cpu)?);
    if let Some(batch_size) = meta.batch_size {
        tensors.insert("meta.batch_size".into(), Tensor::new(&[batch_size as u32], &cpu)?);
    }
    if let Some(dataset) = meta.dataset {
        tensors.insert("meta.dataset".into(), Tensor::new(dataset.to_string().as_bytes(), &cpu)?);
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
    // A temporary file renamed over the target: a reader finds the old checkpoint or the new one.
    let temp = atomic_file::temp_file_next_to(path)?;
    candle_core::safetensors::save(&tensors, temp.path())
        .map_err(|e| Error::Checkpoint { path: path.to_path_buf(), what: format!("cannot write: {e}") })?;
    temp.as_file().sync_all().map_err(|e| Error::io(temp.path(), e))?;
    pause_for_kill_test();
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    atomic_file::remove_stale_temporaries(path);
    Ok(())
}

/// The test that kills a run in the middle of a save (`tests/kill_and_resume.rs`) sets
/// `LENET_TUTOR_TEST_SAVE_PAUSE_MS` to hold the write between the temporary file and the rename,
/// the moment a kill must not hurt. Unset in every real run.
fn pause_for_kill_test() {
    if let Some(ms) = std::env::var("LENET_TUTOR_TEST_SAVE_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Reads every tensor of a safetensors file onto `device`, with errors that say what to do.
pub fn read_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    if !path.exists() {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            what: "no such file; train a model first with `lenet-tutor train --save <PATH>`".into(),
        });
    }
    candle_core::safetensors::load(path, device).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        what: format!("not a readable safetensors file ({e})"),
    })
}

/// Reads the metadata of a checkpoint written by [`write`].
pub fn read_meta(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<CheckpointMeta> {
    let missing = |name: &str| Error::Checkpoint {
        path: path.to_path_buf(),
        what: format!(
            "`{name}` is missing: this is a model file, not a training checkpoint (write one with --save)"
        ),
    };
    let epoch = tensors.get("meta.epoch").ok_or_else(|| missing("meta.epoch"))?;
    let seed = tensors.get("meta.seed").ok_or_else(|| missing("meta.seed"))?;
    let hyper = tensors.get("meta.hyper").ok_or_else(|| missing("meta.hyper"))?;
    let epoch = epoch.to_dtype(DType::U32)?.to_vec1::<u32>()?.first().copied().unwrap_or(0) as usize;
    let seed = seed.to_dtype(DType::I64)?.to_vec1::<i64>()?.first().copied().unwrap_or(0) as u64;
    let hyper = hyper.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let (lr, momentum) = match hyper.as_slice() {
        [lr, m] => (*lr, *m),
        _ => return Err(missing("meta.hyper (2 values)")),
    };
    let mut history = History::default();
    for phase in [Phase::Training, Phase::Validation] {
        let Some(t) = tensors.get(&format!("history.{}", phase.name())) else { continue };
        for row in t.to_dtype(DType::F64)?.to_vec2::<f64>()? {
            if let [epoch, loss, correct, total, seconds] = row[..] {
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
    }
    let batch_size = match tensors.get("meta.batch_size") {
        None => None,
        Some(t) => t.to_dtype(DType::U32)?.to_vec1::<u32>()?.first().map(|&b| b as usize),
    };
    let dataset = match tensors.get("meta.dataset") {
        None => None,
        Some(t) => {
            let bytes = t.to_dtype(DType::U8)?.to_vec1::<u8>()?;
            let name = String::from_utf8_lossy(&bytes).into_owned();
            Some(name.parse::<DatasetName>().map_err(|e| Error::Checkpoint {
                path: path.to_path_buf(),
                what: format!("`meta.dataset`: {e}"),
            })?)
        }
    };
    Ok(CheckpointMeta { epoch, seed, lr, momentum, batch_size, dataset, history })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_meta_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
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
        let meta = CheckpointMeta {
            epoch: 1,
            seed: u64::MAX - 3,
            lr: 0.01,
            momentum: 0.9,
            batch_size: Some(64),
            dataset: Some(DatasetName::FashionMnist),
            history,
        };
        let mut tensors = HashMap::new();
        tensors.insert("w".to_string(), Tensor::new(&[1f32, 2.], &Device::Cpu).unwrap());
        write(&path, tensors, &meta).unwrap();
        let back = read_tensors(&path, &Device::Cpu).unwrap();
        assert_eq!(back["w"].to_vec1::<f32>().unwrap(), vec![1.0, 2.0]);
        assert_eq!(read_meta(&path, &back).unwrap(), meta);
        // Nothing but the checkpoint is left in the directory (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_and_garbage_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_tensors(&dir.path().join("nope.safetensors"), &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("no such file; train a model first"), "{err}");
        let junk = dir.path().join("junk.safetensors");
        std::fs::write(&junk, b"not a safetensors file").unwrap();
        let err = read_tensors(&junk, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("not a readable safetensors file"), "{err}");
        let model_only = HashMap::new();
        let err = read_meta(&junk, &model_only).unwrap_err().to_string();
        assert!(err.contains("not a training checkpoint"), "{err}");
    }
}
