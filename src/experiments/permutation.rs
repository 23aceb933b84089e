//! The notes' claim about the FC layer, run as an experiment.
//!
//! The notes: an FC layer "ignores the shape of the data: for images it cannot use spatial
//! information" (데이터의 형상 무시 … 공간적 정보를 살릴 수 없다). If that is so, an FC-only network
//! cannot tell an image from the same image with its pixels shuffled — as long as every image is
//! shuffled the same way. So we fix one random permutation of the 784 pixels, apply it to training and
//! test images alike, and train four networks:
//!
//! | | original pixels | permuted pixels |
//! |---|---|---|
//! | MLP (FC only) | a | ≈ a: it never used the neighbourhoods |
//! | LeNet (conv) | b | < b: its 5×5 kernels now see unrelated pixels |
//!
//! The MLP learns the same function either way (its first layer's weights just come out permuted);
//! the convolution's premise — that nearby pixels belong together — is broken by the shuffle.

use candle_core::{D, Device, Tensor, Var};
use candle_nn::{Linear, Module, ModuleT};
use rand::seq::SliceRandom;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Classifier, LeNet, uniform_fan_in};
use crate::ops::OpsImpl;
use crate::rng::{self, streams};
use crate::train::{EpochStats, Output, SgdConfig, TrainConfig, Trainer};

/// An FC-only network: 784 → hidden → … → 10, ReLU between layers, log_softmax at the end.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    params: Vec<(String, Var)>,
}

impl Mlp {
    /// An MLP with the given hidden layer sizes (e.g. `&[100]` for 784→100→10), initialised like
    /// PyTorch's `nn.Linear` from `seed`.
    pub fn new(hidden: &[usize], seed: u64, device: &Device) -> Result<Self> {
        let mut rng = rng::stream(seed, streams::INIT);
        let mut sizes = vec![28 * 28];
        sizes.extend_from_slice(hidden);
        sizes.push(10);
        let mut layers = Vec::new();
        let mut params = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            let (inputs, outputs) = (pair[0], pair[1]);
            let w = uniform_fan_in((outputs, inputs), inputs, &mut rng, device)?;
            let b = uniform_fan_in(outputs, inputs, &mut rng, device)?;
            layers.push(Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone())));
            params.push((format!("fc{}.weight", i + 1), w));
            params.push((format!("fc{}.bias", i + 1), b));
        }
        Ok(Self { layers, params })
    }

    /// Number of trainable parameters.
    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|(_, v)| v.elem_count()).sum()
    }
}

impl ModuleT for Mlp {
    fn forward_t(&self, x: &Tensor, _train: bool) -> candle_core::Result<Tensor> {
        // Flattening is exactly where the shape is thrown away: [B,1,28,28] → [B,784].
        let mut x = x.flatten_from(1)?;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x)?;
            if i + 1 < self.layers.len() {
                x = x.relu()?;
            }
        }
        candle_nn::ops::log_softmax(&x, D::Minus1)
    }
}

impl Classifier for Mlp {
    fn named_vars(&self) -> &[(String, Var)] {
        &self.params
    }
}

/// A fixed random permutation of `n` pixel positions, from `seed`.
pub fn pixel_permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng::stream(seed, streams::EXPERIMENT));
    perm
}

/// `dataset` with every image's pixels rearranged: new pixel `i` is old pixel `perm[i]`.
pub fn permute_pixels(dataset: &Dataset, perm: &[usize]) -> Result<Dataset> {
    let n = dataset.pixels_per_image();
    if perm.len() != n {
        return Err(Error::Shape(format!(
            "the permutation has {} positions but the images have {n} pixels",
            perm.len()
        )));
    }
    let mut images = Vec::with_capacity(dataset.images().len());
    for i in 0..dataset.len() {
        let image = dataset.image(i);
        images.extend(perm.iter().map(|&p| image[p]));
    }
    Dataset::new(dataset.name(), images, dataset.labels().to_vec(), dataset.rows(), dataset.cols())
}

/// Settings of the experiment. The defaults take about a minute on two cores with the bundled sample.
#[derive(Debug, Clone)]
pub struct PermutationConfig {
    /// How each of the four networks is trained (the same for all four; the output is always
    /// quiet). Default: 5 epochs, batches of 32, learning rate 0.01 with momentum 0.9, seed 1.
    pub training: TrainConfig,
    /// Hidden layer sizes of the MLP.
    pub mlp_hidden: Vec<usize>,
}

impl Default for PermutationConfig {
    fn default() -> Self {
        Self {
            training: TrainConfig {
                epochs: 5,
                optimizer: SgdConfig { lr: 0.01, momentum: 0.9 },
                output: Output::Quiet,
                ..TrainConfig::default()
            },
            mlp_hidden: vec![100],
        }
    }
}

/// The four validation accuracies (percent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationResult {
    pub mlp_original: f32,
    pub mlp_permuted: f32,
    pub lenet_original: f32,
    pub lenet_permuted: f32,
}

impl PermutationResult {
    /// How much the MLP lost by the permutation (≈ 0).
    pub fn mlp_drop(&self) -> f32 {
        self.mlp_original - self.mlp_permuted
    }

    /// How much LeNet lost by the permutation (several points).
    pub fn lenet_drop(&self) -> f32 {
        self.lenet_original - self.lenet_permuted
    }
}

/// Trains `model` for `config.epochs` on `train` with the crate's one training loop ([`Trainer`]) and
/// returns the last validation pass on `test`.
fn train_and_validate<M: Classifier>(
    model: M,
    train: &Dataset,
    test: &Dataset,
    config: &PermutationConfig,
    device: &Device,
) -> Result<EpochStats> {
    let run = TrainConfig {
        epochs: config.training.epochs.max(1),
        output: Output::Quiet,
        ..config.training.clone()
    };
    let mut trainer = Trainer::with_model(model, run, device)?;
    let history = trainer.run(train, test)?;
    history.last_validation().cloned().ok_or_else(|| {
        Error::InvalidArgument("the permutation experiment ran no epoch (its budget allows no batch)".into())
    })
}

/// Runs the whole experiment: MLP and LeNet, each on original and on permuted pixels, all four from
/// the same seed (same initial weights, same batches).
pub fn permutation_experiment(
    train: &Dataset,
    test: &Dataset,
    config: &PermutationConfig,
    device: &Device,
) -> Result<PermutationResult> {
    let perm = pixel_permutation(train.pixels_per_image(), config.training.seed);
    let (train_p, test_p) = (permute_pixels(train, &perm)?, permute_pixels(test, &perm)?);
    let mlp = |tr: &Dataset, te: &Dataset| -> Result<f32> {
        let model = Mlp::new(&config.mlp_hidden, config.training.seed, device)?;
        Ok(train_and_validate(model, tr, te, config, device)?.accuracy())
    };
    let lenet = |tr: &Dataset, te: &Dataset| -> Result<f32> {
        let mut model = LeNet::new(config.training.seed, device)?;
        model.set_ops_impl(OpsImpl::Fast);
        Ok(train_and_validate(model, tr, te, config, device)?.accuracy())
    };
    Ok(PermutationResult {
        mlp_original: mlp(train, test)?,
        mlp_permuted: mlp(&train_p, &test_p)?,
        lenet_original: lenet(train, test)?,
        lenet_permuted: lenet(&train_p, &test_p)?,
    })
}
