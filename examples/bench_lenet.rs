//! Times one training epoch and one test-set inference of the notes' LeNet through the crate's fit
//! loop, and prints one JSON line per measurement (the format of `scripts/bench/torch_lenet.py`).
//!
//! ```sh
//! cargo run --release --example bench_lenet -- --dataset fashion-mnist --batch-size 64 --threads 2
//! ```
//! `--epochs N` trains longer (accuracy comparisons), `--seed N` changes the initial weights, the
//! shuffling and the dropout masks, `--test-only` times the inference alone, `--conv
//! fast|im2col|unfused|candle` picks the ops (`OpsImpl`). Each line also says which SIMD kernels the
//! matrix products could use (`"gemm":"avx512"` when the crate was built with its `avx512` feature,
//! the default, on a CPU that has AVX-512).
//! `scripts/bench/run` runs it beside the PyTorch reference and prints the ratios.

use std::time::Instant;

use lenet_tutor::Optimizer;
use lenet_tutor::data::{self, DataOptions, DatasetName, Loader};
use lenet_tutor::model::{Classifier, LeNet};
use lenet_tutor::ops::OpsImpl;
use lenet_tutor::train::{EpochStats, FitOptions, Output, Phase, Sgd, SgdConfig, fit};
use lenet_tutor::{Device, Result, device};

struct Args {
    dataset: DatasetName,
    batch_size: usize,
    test_batch_size: usize,
    threads: usize,
    epochs: usize,
    ops_impl: OpsImpl,
    lr: f64,
    momentum: f64,
    seed: u64,
    /// Skip the training epoch: time inference only (for profiling it alone).
    test_only: bool,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        dataset: DatasetName::FashionMnist,
        batch_size: 64,
        test_batch_size: 1000,
        threads: 1,
        epochs: 1,
        ops_impl: OpsImpl::Fast,
        lr: 0.01,
        momentum: 0.0,
        seed: 1,
        test_only: false,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let bad = |what: &str| lenet_tutor::Error::InvalidArgument(what.to_string());
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--dataset" => args.dataset = value.parse()?,
            "--batch-size" => args.batch_size = value.parse().map_err(|_| bad("--batch-size N"))?,
            "--test-batch-size" => {
                args.test_batch_size = value.parse().map_err(|_| bad("--test-batch-size N"))?
            }
            "--threads" => args.threads = value.parse().map_err(|_| bad("--threads N"))?,
            "--epochs" => args.epochs = value.parse().map_err(|_| bad("--epochs N"))?,
            "--lr" => args.lr = value.parse().map_err(|_| bad("--lr X"))?,
            "--momentum" => args.momentum = value.parse().map_err(|_| bad("--momentum X"))?,
            "--seed" => args.seed = value.parse().map_err(|_| bad("--seed N"))?,
            "--test-only" => {
                args.test_only = true;
                i += 1;
                continue;
            }
            "--conv" => {
                args.ops_impl = match value.as_str() {
                    "fast" => OpsImpl::Fast,
                    "im2col" => OpsImpl::Im2col,
                    "unfused" => OpsImpl::Unfused,
                    "candle" => OpsImpl::Candle,
                    _ => return Err(bad("--conv fast|im2col|unfused|candle")),
                }
            }
            other => return Err(bad(&format!("unknown argument {other}"))),
        }
        i += 2;
    }
    Ok(args)
}

/// The widest SIMD kernels the `gemm` crate (this crate's ops and candle's matmul) runs here:
/// AVX-512 needs both the CPU and the crate's `avx512` feature (gemm's `x86-v4`).
fn gemm_kernels() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        // What gemm's x86-v4 kernels need (pulp's `V4`).
        let cpu_has_avx512 = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512cd")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl");
        if cpu_has_avx512 && cfg!(feature = "avx512") {
            return "avx512";
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return "avx2";
        }
    }
    "other"
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    device::set_threads(Some(args.threads));
    lenet_tutor::ops::reuse_freed_memory();
    let dev = Device::Cpu;
    let splits = data::load(args.dataset, &DataOptions { data_dir: None, allow_download: false })?;
    let mut model = LeNet::new(args.seed, &dev)?;
    model.set_ops_impl(args.ops_impl);
    let mut sgd = Sgd::new(model.vars(), SgdConfig { lr: args.lr, momentum: args.momentum })?;
    let train = Loader::new(&splits.train, args.batch_size, true, args.seed, &dev)?;
    let test = Loader::new(&splits.test, args.test_batch_size, false, 1, &dev)?;
    let mut options = FitOptions { output: Output::Quiet, ..FitOptions::default() };
    let conv = match args.ops_impl {
        OpsImpl::Fast => "fast",
        OpsImpl::Im2col => "im2col",
        OpsImpl::Unfused => "unfused",
        OpsImpl::Candle => "candle",
    };
    let gemm = gemm_kernels();
    for epoch in 1..=args.epochs {
        // Dropout masks seeded per epoch, as `lenet-tutor train` (the `Trainer`) does: the same seed
        // gives the CLI's numbers.
        model.start_epoch(args.seed, epoch);
        let t0 = Instant::now();
        let stats = if args.test_only {
            EpochStats { epoch, phase: Phase::Training, loss: 0.0, correct: 0, total: 0, seconds: 0.0 }
        } else {
            fit(epoch, &model, &train, Phase::Training, &mut sgd, &mut options)?
        };
        let train_s = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let val = fit(epoch, &model, &test, Phase::Validation, &mut sgd, &mut options)?;
        let test_s = t0.elapsed().as_secs_f64();
        for (phase, seconds, images, batch, acc) in [
            ("train", train_s, stats.total, args.batch_size, stats.accuracy()),
            ("test", test_s, val.total, args.test_batch_size, val.accuracy()),
        ] {
            if args.test_only && phase == "train" {
                continue;
            }
            println!(
                "{{\"impl\":\"candle-{conv}\",\"phase\":\"{phase}\",\"epoch\":{epoch},\"batch\":{batch},\"threads\":{},\"seconds\":{seconds:.4},\"images\":{images},\"accuracy\":{acc:.2},\"dataset\":\"{}\",\"gemm\":\"{gemm}\"}}",
                args.threads, args.dataset
            );
        }
    }
    Ok(())
}
