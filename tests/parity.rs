//! Gradient parity with PyTorch: the same weights and batch give the same loss, log-probabilities,
//! gradients and optimiser steps as the notes' PyTorch model, within 1e-5.
//!
//! The fixture `tests/fixtures/parity.safetensors` is written by
//! `scripts/reference/make_parity_fixture.py` (PyTorch; see scripts/reference/README.md).

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use common::max_abs_diff;
use lenet_tutor::ModuleT;
use lenet_tutor::Optimizer;
use lenet_tutor::model::{LeNet, PARAMETERS};
use lenet_tutor::ops::OpsImpl;
use lenet_tutor::train::{Sgd, SgdConfig};

fn fixture() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity.safetensors");
    candle_core::safetensors::load(path, &Device::Cpu)
        .expect("fixture written by scripts/reference/make_parity_fixture.py")
}

fn model_from(f: &HashMap<String, Tensor>, ops_impl: OpsImpl) -> LeNet {
    let mut m = LeNet::from_tensors(f, 0, &Device::Cpu).unwrap();
    m.set_ops_impl(ops_impl);
    m
}

fn mean_nll(model: &LeNet, f: &HashMap<String, Tensor>) -> (Tensor, Tensor) {
    let input = &f["input"];
    let target = f["target"].to_dtype(DType::U32).unwrap();
    let log_probs = model.forward_t(input, false).unwrap();
    let loss = candle_nn::loss::nll(&log_probs, &target).unwrap();
    (log_probs, loss)
}

fn check_forward_and_gradients(ops_impl: OpsImpl) {
    let f = fixture();
    let model = model_from(&f, ops_impl);
    let (log_probs, loss) = mean_nll(&model, &f);
    let d = max_abs_diff(&log_probs, &f["logits"]);
    assert!(d < 1e-5, "log-probabilities differ from PyTorch by {d}");
    let d = max_abs_diff(&loss.reshape(1).unwrap(), &f["loss"].reshape(1).unwrap());
    assert!(d < 1e-5, "loss differs from PyTorch by {d}");
    let grads = loss.backward().unwrap();
    let mut report = vec![];
    for (name, var) in model.named_vars() {
        let g = grads.get(var).unwrap_or_else(|| panic!("no gradient for {name}"));
        let d = max_abs_diff(g, &f[&format!("grad.{name}")]);
        report.push((name.clone(), d));
    }
    // All eight are reported at once: which layers differ says where the maths goes wrong (this is
    // how candle's max-pool gradient was found, see `ops::max_pool2d_candle`).
    assert!(report.iter().all(|(_, d)| *d < 1e-5), "gradients differ from PyTorch: {report:?}");
}

#[test]
fn forward_and_gradients_match_pytorch_with_candle_ops() {
    check_forward_and_gradients(OpsImpl::Candle);
}

#[test]
fn forward_and_gradients_match_pytorch_with_fast_ops() {
    check_forward_and_gradients(OpsImpl::Fast);
}

fn check_steps(prefix: &str, momentum: f64, steps: usize) {
    let f = fixture();
    let model = model_from(&f, OpsImpl::Candle);
    let mut sgd = Sgd::new(model.vars(), SgdConfig { lr: 0.01, momentum }).unwrap();
    for _ in 0..steps {
        let (_, loss) = mean_nll(&model, &f);
        sgd.backward_step(&loss).unwrap();
    }
    for name in PARAMETERS.map(|p| p.name) {
        let now = &model.tensors()[name];
        let d = max_abs_diff(now, &f[&format!("{prefix}.{name}")]);
        assert!(d < 1e-5, "{name} after {prefix} differs from torch.optim.SGD by {d}");
    }
}

#[test]
fn one_sgd_step_matches_torch_optim() {
    check_steps("after_sgd", 0.0, 1);
}

#[test]
fn two_momentum_steps_match_torch_optim() {
    check_steps("after_momentum2", 0.9, 2);
}
