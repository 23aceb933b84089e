//! The model on an accelerator agrees with the model on the CPU: forward pass and every gradient.
//!
//! Runs on whatever `device::auto()` finds (Metal with `--features metal`, CUDA with
//! `--features cuda`). A build without either feature has no GPU to compare, so there the test is
//! ignored, and `cargo test` says so on its line ("ignored, needs a GPU build: ..."), never a silent
//! pass; a GPU build that finds no GPU fails, since that is a check that could not run:
//!
//! ```text
//! cargo test --features cuda --test device_agreement     # or --features metal, on a Mac
//! ```
//!
//! Worth running on every new GPU set-up: candle's Metal conv2d weight gradients have been reported
//! wrong upstream, and on GPUs the model runs candle's own ops, not the crate's CPU kernels.

mod common;

use std::collections::HashMap;

use common::max_abs_diff;
use lenet_tutor::ModuleT;
use lenet_tutor::data::{self, DataOptions, DatasetName, Loader};
use lenet_tutor::model::LeNet;
use lenet_tutor::{DType, Device, Tensor, device};

fn loss_and_grads(model: &LeNet, images: &Tensor, labels: &Tensor) -> (Tensor, HashMap<String, Tensor>) {
    let log_probs = model.forward_t(images, false).unwrap();
    let loss = candle_nn::loss::nll(&log_probs, labels).unwrap();
    let grads = loss.backward().unwrap();
    let named = model
        .named_vars()
        .iter()
        .map(|(n, v)| (n.clone(), grads.get(v).unwrap().to_device(&Device::Cpu).unwrap()))
        .collect();
    (log_probs.to_device(&Device::Cpu).unwrap(), named)
}

#[test]
#[cfg_attr(
    not(any(feature = "cuda", feature = "metal")),
    ignore = "needs a GPU build: cargo test --features cuda (or metal) --test device_agreement"
)]
fn accelerator_matches_cpu() {
    let accel = device::auto();
    assert!(
        !accel.is_cpu(),
        "no GPU found: this build has {}, and device::auto() fell back to the CPU, so there is \
         nothing to compare (run it where a GPU is, or leave the GPU features off to skip it)",
        if cfg!(any(feature = "cuda", feature = "metal")) {
            "GPU support (--features cuda/metal)"
        } else {
            "no GPU support (build with --features cuda or metal)"
        }
    );
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
    let loader = Loader::new(&splits.test, 64, false, 0, &Device::Cpu).unwrap();
    let batch = loader.epoch(1).next().unwrap().unwrap();
    let cpu_model = LeNet::new(3, &Device::Cpu).unwrap();
    let gpu_model = LeNet::from_tensors(&cpu_model.tensors(), 3, &accel).unwrap();
    let (cpu_out, cpu_grads) = loss_and_grads(&cpu_model, &batch.images, &batch.labels);
    let (gpu_out, gpu_grads) = loss_and_grads(
        &gpu_model,
        &batch.images.to_device(&accel).unwrap(),
        &batch.labels.to_device(&accel).unwrap(),
    );
    let mut report =
        vec![("log_probs".to_string(), max_abs_diff(&cpu_out, &gpu_out.to_dtype(DType::F32).unwrap()))];
    for (name, g) in &cpu_grads {
        report.push((format!("grad.{name}"), max_abs_diff(g, &gpu_grads[name])));
    }
    eprintln!("device_agreement on {}: {report:?}", device::name(&accel));
    assert!(
        report.iter().all(|(_, d)| *d < 1e-4),
        "{} disagrees with the CPU: {report:?}",
        device::name(&accel)
    );
}
