//! Reading a model or a checkpoint: `LeNet::load` (eval, predict, visualize) and `Trainer::resume`
//! on any file.
//!
//! Shared by the fuzz target `checkpoint` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::Device;
use lenet_tutor::model::LeNet;
use lenet_tutor::train::{TrainConfig, Trainer, checkpoint};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One file per fuzzing process, rewritten for each input (in /dev/shm when there is one).
fn file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir =
            if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        dir.join(format!("lenet-tutor-fuzz-checkpoint-{}.safetensors", std::process::id()))
    })
}

pub fn check(data: &[u8]) {
    let path = file();
    std::fs::write(path, data).unwrap();
    let _ = LeNet::load(path, &Device::Cpu);
    if let Ok(tensors) = checkpoint::read_tensors(path, &Device::Cpu) {
        let _ = checkpoint::read_meta(path, &tensors);
    }
    let _ = Trainer::resume(path, TrainConfig::default(), &Device::Cpu);
}
