//! The notes' LeNet in Burn 0.21 on Burn's candle backend (`burn-candle`, candle on the CPU): the same
//! program as src/main.rs (Burn 0.22, ndarray / flex), in 0.21's API, where modules and tensors are
//! generic over the backend. Burn 0.22 dropped the candle backend; 0.21 is its last release.
//!
//! One difference in the model, forced by the backend: burn-candle has no `max_pool2d_with_indices`
//! (it panics), which Burn's autodiff needs for the max-pool's gradient. While training, the 2×2
//! max-pool is therefore written with tensor ops (reshape to 2×2 windows, `max_dim` twice), which
//! autodiff differentiates through gather/scatter; the test pass uses candle's own `max_pool2d`.
//!
//! ```sh
//! CARGO_TARGET_DIR=scripts/bench/burn/target cargo run --release \
//!     --manifest-path scripts/bench/burn/Cargo.toml --no-default-features --features candle \
//!     --bin burn-lenet-candle -- \
//!     --dataset fashion-mnist --batch-size 64 --threads 2
//! ```

#![allow(deprecated)] // burn-candle is deprecated in 0.21 (and gone from 0.22): what was asked for

mod common;

use std::time::Instant;

use burn_021 as burn;

use burn::backend::candle::CandleDevice;
use burn::backend::{Autodiff, Candle};
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, ElementConversion, Int, Tensor, TensorData};

use common::{Args, Split};

const BURN_VERSION: &str = "0.21.0";

type Base = Candle<f32, i64>;
type Train = Autodiff<Base>;

/// The notes' `Net` (see src/main.rs).
#[derive(Module, Debug)]
struct Net<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    fc1: Linear<B>,
    fc2: Linear<B>,
}

impl<B: Backend> Net<B> {
    fn new(device: &B::Device) -> Self {
        Net {
            conv1: Conv2dConfig::new([1, 10], [5, 5]).init(device),
            conv2: Conv2dConfig::new([10, 20], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(320, 50).init(device),
            fc2: LinearConfig::new(50, 10).init(device),
        }
    }

    /// 2×2 max-pool, stride 2: candle's op for inference, tensor ops while training (see the top).
    fn pool(&self, x: Tensor<B, 4>, training: bool) -> Tensor<B, 4> {
        if !training {
            return self.pool.forward(x);
        }
        let [b, c, h, w] = x.dims();
        x.reshape([b, c, h / 2, 2, w / 2, 2]).max_dim(5).max_dim(3).reshape([b, c, h / 2, w / 2])
    }

    fn forward(&self, x: Tensor<B, 4>, training: bool) -> Tensor<B, 2> {
        let [b, _, _, _] = x.dims();
        let device = x.device();
        let x = relu(self.pool(self.conv1.forward(x), training)); // [B,10,12,12]
        let mut x = self.conv2.forward(x); // [B,20,8,8]
        if training {
            let keep = Tensor::<B, 4>::random([b, 20, 1, 1], Distribution::Bernoulli(0.5), &device);
            x = x * keep * 2.0; // Dropout2d
        }
        let x = relu(self.pool(x, training)).reshape([b, 320]);
        let mut x = relu(self.fc1.forward(x));
        if training {
            let keep = Tensor::<B, 2>::random([b, 50], Distribution::Bernoulli(0.5), &device);
            x = x * keep * 2.0; // dropout
        }
        log_softmax(self.fc2.forward(x), 1)
    }
}

fn batch<B: Backend>(
    split: &Split,
    index: &[usize],
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 1, Int>) {
    let (images, labels) = common::gather(split, index);
    let n = index.len();
    let x = Tensor::<B, 4>::from_data(TensorData::new(images, [n, 1, 28, 28]), device);
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [n]), device);
    (x, y)
}

fn correct<B: Backend>(log_probs: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> usize {
    let n = targets.dims()[0];
    let predicted = log_probs.argmax(1).reshape([n]);
    predicted.equal(targets).int().sum().into_scalar().elem::<i64>() as usize
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = common::parse_args("candle")?;
    if args.backend != "candle" {
        return Err(format!("this binary runs --backend candle only, not {:?}", args.backend));
    }
    common::set_threads(args.threads);
    let device = CandleDevice::Cpu;
    let train = common::load(&args, "train")?;
    let test = common::load(&args, "test")?;
    Train::seed(&device, args.seed);
    let mut model = Net::<Train>::new(&device);
    let mut config = SgdConfig::new();
    if args.momentum > 0.0 {
        config = config.with_momentum(Some(
            burn::optim::momentum::MomentumConfig::new().with_momentum(args.momentum).with_dampening(0.0),
        ));
    }
    let mut optim = config.init::<Train, Net<Train>>();
    for epoch in 1..=args.epochs {
        let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
        let hits = train_epoch(&mut model, &mut optim, &train, &args, epoch, &device);
        let (seconds, cpu) = (start.elapsed().as_secs_f64(), common::cpu_seconds() - cpu_start);
        common::print_line(
            "burn-candle",
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
        let (start, cpu_start) = (Instant::now(), common::cpu_seconds());
        let hits = evaluate(&model.valid(), &test, &args, &device);
        let (seconds, cpu) = (start.elapsed().as_secs_f64(), common::cpu_seconds() - cpu_start);
        common::print_line(
            "burn-candle",
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
    model: &mut Net<Train>,
    optim: &mut impl Optimizer<Net<Train>, Train>,
    data: &Split,
    args: &Args,
    epoch: usize,
    device: &CandleDevice,
) -> usize {
    let order = common::permutation(data.len(), args.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
    let mut hits = 0;
    for index in order.chunks(args.batch_size) {
        let (x, y) = batch::<Train>(data, index, device);
        let n = index.len();
        let output = model.forward(x, true);
        let loss = output.clone().gather(1, y.clone().reshape([n, 1])).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &*model);
        *model = optim.step(args.lr, model.clone(), grads);
        hits += correct(output.inner(), y.inner());
    }
    hits
}

fn evaluate(model: &Net<Base>, data: &Split, args: &Args, device: &CandleDevice) -> usize {
    let order: Vec<usize> = (0..data.len()).collect();
    let mut hits = 0;
    for index in order.chunks(args.test_batch_size) {
        let (x, y) = batch::<Base>(data, index, device);
        hits += correct(model.forward(x, false), y);
    }
    hits
}
