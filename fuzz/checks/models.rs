//! What the checks that write model files share (`checkpoint.rs`, `web_model.rs`): a scratch file
//! per process, and comparing two models bit for bit.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lenet_tutor::model::{LeNet, PARAMETERS};
use lenet_tutor::{DType, Tensor};

/// A file of this process (in /dev/shm when there is one), rewritten for each input; `check` names
/// the check, so that two checks in one process never share a file.
pub fn scratch(check: &str, name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() }
    });
    dir.join(format!("lenet-tutor-fuzz-{check}-{}-{name}.safetensors", std::process::id()))
}

/// The bits of a tensor's values as f32 (NaNs compare by their bits, not as unequal).
pub fn bits(t: &Tensor) -> (Vec<usize>, Vec<u32>) {
    let values = t.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (t.dims().to_vec(), values.iter().map(|v| v.to_bits()).collect())
}

/// The same eight parameters, bit for bit.
pub fn same_model(a: &LeNet, b: &LeNet) -> bool {
    let (a, b) = (a.tensors(), b.tensors());
    PARAMETERS.iter().all(|p| bits(&a[p.name]) == bits(&b[p.name]))
}
