//! The live page's model file, read back by the crate (`web::read`): any bytes, an error or a model.
//!
//! Properties (checked whenever `web::read` accepts the bytes): written again with `web::write` (what
//! `export-web` does) and read back, it is the same model, data set and provenance (numbers within
//! JSON's float round trip); and that file is a model for every other command too: `LeNet::load`
//! reads the same parameters from it.
//!
//! Shared by the fuzz target `web_model` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::model::LeNet;
use lenet_tutor::{Device, web};
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::models::{self, same_model};

fn scratch(name: &str) -> PathBuf {
    models::scratch("web", name)
}

/// JSON values equal up to the last bits of a float (serde_json's default number parsing is not
/// an exact round trip).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

pub fn check(data: &[u8]) {
    let Ok(read) = web::read(Path::new("fuzz.safetensors"), data, &Device::Cpu) else { return };
    let copy = scratch("copy");
    web::write(&read.model, read.dataset, &read.provenance, &copy).expect("web::write failed");
    let bytes = std::fs::read(&copy).unwrap();
    let loaded = LeNet::load(&copy, &Device::Cpu);
    let _ = std::fs::remove_file(&copy);
    let again = web::read(&copy, &bytes, &Device::Cpu).expect("a web model written back does not read");
    assert_eq!(again.dataset, read.dataset);
    assert!(same_model(&read.model, &again.model), "a web model written back reads as another model");
    assert!(
        same_json(&read.provenance, &again.provenance),
        "provenance changed: {} became {}",
        read.provenance,
        again.provenance
    );
    let loaded = loaded.expect("LeNet::load refuses a web model file that web::write wrote");
    assert!(same_model(&read.model, &loaded), "web::read and LeNet::load read different models");
}
