//! The notes' LeNet in Burn (0.22, the newest release), timed the way `examples/bench_lenet.rs`
//! times lenet-tutor and `scripts/bench/torch_lenet.py` times PyTorch: one training epoch over the
//! training set (SGD, shuffled, batch `--batch-size`), then one inference pass over the test set
//! (batch `--test-batch-size`, 1000), one JSON line each. The data are decoded and normalised before
//! any clock starts; only the loop is timed (gather the batch, forward, loss, backward, step /
//! forward, argmax). No warm-up, as on the other two sides.
//!
//! ```sh
//! CARGO_TARGET_DIR=scripts/bench/burn/target cargo run --release \
//!     --manifest-path scripts/bench/burn/Cargo.toml --bin burn-lenet -- \
//!     --dataset fashion-mnist --batch-size 64 --threads 2 --backend ndarray
//! ```
//! `--backend ndarray` (default) or `flex` (Burn 0.22's own CPU backend, which deprecates ndarray).
//! Burn's candle backend is gone from 0.22; `burn-lenet-candle` (src/candle.rs) runs it on 0.21.

#![allow(deprecated)] // Device::ndarray(): burn-ndarray is deprecated in 0.22, and what was asked for

mod common;

use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use common::{Args, Split};

const BURN_VERSION: &str = "0.22.1";

/// The notes' `Net`: conv1 1→10 5×5, max-pool 2, ReLU; conv2 10→20 5×5, Dropout2d, max-pool 2, ReLU;
/// fc1 320→50, ReLU, dropout; fc2 50→10; log-softmax. Burn's default initialisers are PyTorch's
/// (Kaiming-uniform with gain 1/√3 for weights, U(±1/√fan_in) for biases).
#[derive(Module, Debug)]
struct Net {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Net {
            conv1: Conv2dConfig::new([1, 10], [5, 5]).init(device),
            conv2: Conv2dConfig::new([10, 20], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(), // stride = kernel size
            fc1: LinearConfig::new(320, 50).init(device),
            fc2: LinearConfig::new(50, 10).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>, training: bool) -> Tensor<2> {
        let [b, _, _, _] = x.dims();
        let x = relu(self.pool.forward(self.conv1.forward(x))); // [B,10,12,12]
        let mut x = self.conv2.forward(x); // [B,20,8,8]
        if training {
            // Dropout2d (p = 0.5): whole channels zeroed, the kept ones scaled by 2.
            let keep = Tensor::<4>::random([b, 20, 1, 1], Distribution::Bernoulli(0.5), &x.device());
            x = x * keep * 2.0;
        }
        let x = relu(self.pool.forward(x)).reshape([b, 320]); // [B,20,4,4] -> [B,320]
        let mut x = relu(self.fc1.forward(x)); // [B,50]
        if training {
            // F.dropout (p = 0.5).
            let keep = Tensor::<2>::random([b, 50], Distribution::Bernoulli(0.5), &x.device());
            x = x * keep * 2.0;
        }
        log_softmax(self.fc2.forward(x), 1) // [B,10]
    }
}

fn batch(split: &Split, index: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let (images, labels) = common::gather(split, index);
    let n = index.len();
    let x = Tensor::<4>::from_data(TensorData::new(images, [n, 1, 28, 28]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
    (x, y)
}

fn correct(log_probs: Tensor<2>, targets: Tensor<1, Int>) -> usize {
    let n = targets.dims()[0];
    let predicted = log_probs.argmax(1).reshape([n]);
    predicted.equal(targets).int().sum().into_scalar::<i64>() as usize
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = common::parse_args("ndarray")?;
    common::set_threads(args.threads);
    let device = match args.backend.as_str() {
        "ndarray" => Device::ndarray(),
        "flex" => Device::flex(),
        other => return Err(format!("--backend ndarray|flex, not {other:?}")),
    };
    let train = common::load(&args, "train")?;
    let test = common::load(&args, "test")?;
    device.seed(args.seed);
    let ad = device.clone().autodiff();
    let mut model = Net::new(&ad);
    let mut optim = if args.momentum > 0.0 {
        SgdConfig::new()
            .with_momentum(Some(
                burn::optim::momentum::MomentumConfig::new().with_momentum(args.momentum).with_dampening(0.0),
            ))
            .init()
    } else {
        SgdConfig::new().init() // the notes' SGD: no momentum, no weight decay
    };
    let name = format!("burn-{}", args.backend);
    for epoch in 1..=args.epochs {
        let (seconds, cpu, hits) = train_epoch(&mut model, &mut optim, &train, &args, epoch, &ad);
        common::print_line(
            &name,
            BURN_VERSION,
            "train",
            epoch,
            args.batch_size,
            &args,
            seconds,
            cpu,
            train.len(),
            hits,
        );
        let (seconds, cpu, hits) = evaluate(&model, &test, &args, &device);
        common::print_line(
            &name,
            BURN_VERSION,
            "test",
            epoch,
            args.test_batch_size,
            &args,
            seconds,
            cpu,
            test.len(),
            hits,
        );
    }
    Ok(())
}

fn train_epoch(
    model: &mut Net,
    optim: &mut burn::optim::ModuleOptimizer,
    data: &Split,
    args: &Args,
    epoch: usize,
    device: &Device,
) -> (f64, f64, usize) {
    let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
    let order = common::permutation(data.len(), args.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
    let mut hits = 0;
    for index in order.chunks(args.batch_size) {
        let (x, y) = batch(data, index, device);
        let n = index.len();
        let output = model.forward(x, true);
        // NLL loss of the log-probabilities: -mean(output[i, y_i]).
        let loss = output.clone().gather(1, y.clone().reshape([n, 1])).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &*model);
        *model = optim.step(args.lr, model.clone(), grads);
        hits += correct(output.detach(), y);
    }
    (start.elapsed().as_secs_f64(), common::cpu_seconds() - cpu_start, hits)
}

fn evaluate(model: &Net, data: &Split, args: &Args, device: &Device) -> (f64, f64, usize) {
    let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
    let model = model.valid(); // no autodiff, training flags off
    let order: Vec<usize> = (0..data.len()).collect();
    let mut hits = 0;
    for index in order.chunks(args.test_batch_size) {
        let (x, y) = batch(data, index, device);
        hits += correct(model.forward(x, false), y);
    }
    (start.elapsed().as_secs_f64(), common::cpu_seconds() - cpu_start, hits)
}
