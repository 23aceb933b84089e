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
//! | `history.training`, `history.validation` (f64 `[E,5]`) | epoch, loss, correct, total, seconds |
//!
//! It is written to a temporary file next to the target and renamed over it, so a run killed while
//! saving leaves the previous checkpoint intact.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::history::{EpochStats, History, Phase};
use crate::error::{Error, Result};

/// Everything a checkpoint holds besides the model and optimiser tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointMeta {
    pub epoch: usize,
    pub seed: u64,
    pub lr: f64,
    pub momentum: f64,
    pub history: History,
}

/// Writes `tensors` plus `meta` to `path` atomically.
pub fn write(path: &Path, mut tensors: HashMap<String, Tensor>, meta: &CheckpointMeta) -> Result<()> {
    let cpu = Device::Cpu;
    tensors.insert("meta.epoch".into(), Tensor::new(&[meta.epoch as u32], &cpu)?);
    tensors.insert("meta.seed".into(), Tensor::new(&[meta.seed as i64], &cpu)?);
    tensors.insert("meta.hyper".into(), Tensor::new(&[meta.lr, meta.momentum], &cpu)?);
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
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = candle_core::safetensors::save(&tensors, &tmp)
        .map_err(|e| Error::Checkpoint { path: path.to_path_buf(), what: format!("cannot write: {e}") })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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
    Ok(CheckpointMeta { epoch, seed, lr, momentum, history })
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
        let meta = CheckpointMeta { epoch: 1, seed: u64::MAX - 3, lr: 0.01, momentum: 0.9, history };
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
