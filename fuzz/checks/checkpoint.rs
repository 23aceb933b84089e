//! Reading a model or a checkpoint: `LeNet::load` (eval, predict, visualize), `Checkpoint::open` and
//! `Trainer::resume` on any file.
//!
//! Properties:
//! * whenever `LeNet::load` accepts the file, the model holds exactly the file's eight parameters (as
//!   f32): nothing dropped, reordered or taken from the wrong tensor; written back out as
//!   safetensors and loaded again, it is the same model, bit for bit;
//! * whenever a checkpoint resumes, saving the resumed run and opening that file gives back the same
//!   run: model, epoch, seed, optimiser, data and history (a checkpoint without a batch size gains
//!   the one the run used).
//!
//! Shared by the fuzz target `checkpoint` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::Device;
use lenet_tutor::candle_core::{self, DType, Tensor};
use lenet_tutor::model::{LeNet, PARAMETERS};
use lenet_tutor::train::Trainer;
use lenet_tutor::train::checkpoint::Checkpoint;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::models::{self, bits, same_model};

fn scratch(name: &str) -> PathBuf {
    models::scratch("checkpoint", name)
}

/// `LeNet::load` against the safetensors file itself (candle's reader and writer: an API that does
/// not move with this crate's checkpoint code).
fn model_round_trip(path: &Path) {
    let Ok(model) = LeNet::load(path, &Device::Cpu) else { return };
    let file: HashMap<String, Tensor> = candle_core::safetensors::load(path, &Device::Cpu)
        .expect("LeNet::load accepted a file that is not safetensors");
    let tensors = model.tensors();
    for p in PARAMETERS {
        let got = &tensors[p.name];
        assert_eq!(got.dtype(), DType::F32, "{}", p.name);
        assert!(bits(got) == bits(&file[p.name]), "`{}` is not the file's tensor", p.name);
    }
    let copy = scratch("model");
    candle_core::safetensors::save(&tensors, &copy).unwrap();
    let again = LeNet::load(&copy, &Device::Cpu);
    let _ = std::fs::remove_file(&copy);
    let again = again.expect("a model written back does not load");
    assert!(same_model(&model, &again), "a model written back loads as another model");
}

/// Resume, save, open: the same run. (Written against `train::checkpoint`'s API.)
fn resume_round_trip(path: &Path) {
    let Ok(checkpoint) = Checkpoint::open(path) else { return };
    let _ = checkpoint.model(&Device::Cpu);
    let (Some(meta), Ok(config)) = (checkpoint.meta(), checkpoint.train_config()) else { return };
    let Ok(mut trainer) = Trainer::resume(&checkpoint, config, &Device::Cpu) else { return };
    let copy = scratch("resumed");
    trainer.save(&copy).expect("a resumed run cannot be saved");
    let again = Checkpoint::open(&copy);
    let _ = std::fs::remove_file(&copy);
    let again = again.expect("a saved run does not open");
    let saved = again.meta().expect("a saved run has no metadata");
    let mut expected = meta.clone();
    expected.batch_size = expected.batch_size.or(saved.batch_size);
    // Debug text compares NaN losses as equal (and 0.0 and -0.0 as different, as the bits are).
    assert_eq!(format!("{expected:?}"), format!("{saved:?}"), "a resumed and saved run reads back otherwise");
    let (before, after) = (checkpoint.model(&Device::Cpu).unwrap(), again.model(&Device::Cpu).unwrap());
    assert!(same_model(&before, &after), "a resumed and saved run has another model");
}

pub fn check(data: &[u8]) {
    let path = scratch("input");
    std::fs::write(&path, data).unwrap();
    model_round_trip(&path);
    resume_round_trip(&path);
    let _ = std::fs::remove_file(&path);
}
