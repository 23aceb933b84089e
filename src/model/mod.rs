//! The notes' `Net`: LeNet for 28×28 digits, two convolution layers and two FC layers.
//!
//! ```text
//! x [B,1,28,28]
//!  → conv1 (1→10, 5×5)  [B,10,24,24] → max_pool 2 → relu   [B,10,12,12]
//!  → conv2 (10→20, 5×5) [B,20,8,8]   → Dropout2d → max_pool 2 → relu [B,20,4,4]
//!  → view(-1, 320)      [B,320]
//!  → fc1 (320→50) → relu [B,50] → fc2 (50→10) [B,10] → log_softmax
//! ```
//!
//! Parameters are named as in PyTorch's `state_dict` (`conv1.weight`, `fc2.bias`, …), so a PyTorch
//! checkpoint converted to safetensors loads as it is, and the gradient-parity test can compare
//! tensor by tensor.

mod dropout2d;
mod init;

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{Conv2d, Conv2dConfig, Linear, Module, ModuleT};

pub use dropout2d::{Dropout2d, zeroed_map_fraction};
pub(crate) use init::uniform_fan_in;

use crate::error::{Error, Result};
use crate::ops::{InputGrad, OpsImpl};
use crate::rng::{self, streams};

/// One trainable tensor of LeNet: its PyTorch name, its shape, and the fan-in PyTorch's default
/// initialisation draws it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    pub name: &'static str,
    pub shape: &'static [usize],
    pub fan_in: usize,
}

/// LeNet's parameters in the order PyTorch's `Net.parameters()` lists them (weight, then bias, layer
/// by layer). The one table that creating, loading and checking a LeNet read.
pub const PARAMETERS: [Parameter; 8] = [
    Parameter { name: "conv1.weight", shape: &[10, 1, 5, 5], fan_in: 25 },
    Parameter { name: "conv1.bias", shape: &[10], fan_in: 25 },
    Parameter { name: "conv2.weight", shape: &[20, 10, 5, 5], fan_in: 250 },
    Parameter { name: "conv2.bias", shape: &[20], fan_in: 250 },
    Parameter { name: "fc1.weight", shape: &[50, 320], fan_in: 320 },
    Parameter { name: "fc1.bias", shape: &[50], fan_in: 320 },
    Parameter { name: "fc2.weight", shape: &[10, 50], fan_in: 50 },
    Parameter { name: "fc2.bias", shape: &[10], fan_in: 50 },
];

/// A model that turns images into log-probabilities: what the fit loop trains.
///
/// The forward pass is candle-nn's [`ModuleT`] (`forward_t(x, train)`: log-probabilities
/// `[B,classes]` for images `[B,1,28,28]`, `train` switching dropout on); a classifier adds what
/// training needs besides. LeNet is one; the FC-only network of the chapter "The FC layer and its
/// limit" is another.
pub trait Classifier: ModuleT {
    /// The trainable variables with their names.
    fn named_vars(&self) -> &[(String, Var)];
    /// Called by the fit loop at the start of each training epoch, so that per-epoch randomness
    /// (dropout masks) depends only on the seed and the epoch. The default does nothing.
    fn start_epoch(&self, _seed: u64, _epoch: usize) {}
}

/// The notes' `forward`, as candle-nn's trait: `model.forward_t(&images, train)`.
impl ModuleT for LeNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        self.forward(x, train).map_err(candle_core::Error::wrap)
    }
}

impl Classifier for LeNet {
    fn named_vars(&self) -> &[(String, Var)] {
        LeNet::named_vars(self)
    }
    fn start_epoch(&self, seed: u64, epoch: usize) {
        self.conv2_drop.reseed(rng::stream(seed ^ ((epoch as u64) << 32), streams::DROPOUT));
    }
}

/// The notes' LeNet.
#[derive(Debug)]
pub struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    conv2_drop: Dropout2d,
    fc1: Linear,
    fc2: Linear,
    params: Vec<(String, Var)>,
    ops_impl: OpsImpl,
    device: Device,
}

/// Every intermediate tensor of one forward pass (evaluation mode), for the pictures of chapter 7.
#[derive(Debug, Clone)]
pub struct LeNetActivations {
    /// `[B,10,24,24]` conv1's output, before pooling.
    pub conv1: Tensor,
    /// `[B,10,12,12]` after max-pool and ReLU.
    pub pool1: Tensor,
    /// `[B,20,8,8]` conv2's output.
    pub conv2: Tensor,
    /// `[B,20,4,4]` after max-pool and ReLU.
    pub pool2: Tensor,
    /// `[B,50]` after fc1 and ReLU.
    pub fc1: Tensor,
    /// `[B,10]` fc2's output (before log_softmax).
    pub logits: Tensor,
}

impl LeNet {
    /// A freshly initialised LeNet (PyTorch's default initialisation, drawn from `seed`).
    pub fn new(seed: u64, device: &Device) -> Result<Self> {
        let mut rng = rng::stream(seed, streams::INIT);
        // Same order as PyTorch creates them: weight then bias, layer by layer.
        let mut tensors = HashMap::new();
        for p in PARAMETERS {
            let var = uniform_fan_in(p.shape, p.fan_in, &mut rng, device)?;
            tensors.insert(p.name.to_string(), var.as_tensor().clone());
        }
        Self::from_tensors(&tensors, seed, device)
    }

    /// A LeNet with the given parameter values (names and shapes as in [`PARAMETERS`]).
    ///
    /// Every parameter must be present with the right shape; extra tensors are ignored (a checkpoint
    /// also holds the optimiser's state).
    pub fn from_tensors(tensors: &HashMap<String, Tensor>, seed: u64, device: &Device) -> Result<Self> {
        let mut params = Vec::with_capacity(8);
        for Parameter { name, shape, .. } in PARAMETERS {
            let t = tensors.get(name).ok_or_else(|| {
                Error::Shape(format!("LeNet parameter `{name}` is missing (expected shape {shape:?})"))
            })?;
            if t.dims() != shape {
                return Err(Error::Shape(format!(
                    "LeNet parameter `{name}` has shape {:?}, expected {shape:?}",
                    t.dims()
                )));
            }
            let t = t.to_dtype(DType::F32)?.to_device(device)?;
            params.push((name.to_string(), Var::from_tensor(&t)?));
        }
        let p = |i: usize| params[i].1.as_tensor().clone();
        let conv_cfg = Conv2dConfig::default(); // padding 0, stride 1, as nn.Conv2d(…, kernel_size=5)
        Ok(Self {
            conv1: Conv2d::new(p(0), Some(p(1)), conv_cfg),
            conv2: Conv2d::new(p(2), Some(p(3)), conv_cfg),
            conv2_drop: Dropout2d::new(0.5, rng::stream(seed, streams::DROPOUT))?,
            fc1: Linear::new(p(4), Some(p(5))),
            fc2: Linear::new(p(6), Some(p(7))),
            params,
            ops_impl: OpsImpl::default(),
            device: device.clone(),
        })
    }

    /// The trainable variables with their PyTorch names, in PyTorch's order.
    pub fn named_vars(&self) -> &[(String, Var)] {
        &self.params
    }

    /// The trainable variables in PyTorch's order.
    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Current parameter values by name.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.params.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect()
    }

    /// Total number of trainable parameters (21,840).
    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The channel dropout after conv2.
    pub fn dropout(&self) -> &Dropout2d {
        &self.conv2_drop
    }

    /// Chooses the code of the convolution, the pooling and the fully connected layers (see
    /// [`OpsImpl`]).
    pub fn set_ops_impl(&mut self, ops_impl: OpsImpl) {
        self.ops_impl = ops_impl;
    }

    /// conv1's kernels `[10,1,5,5]`.
    pub fn conv1_weight(&self) -> &Tensor {
        self.conv1.weight()
    }

    /// conv2's kernels `[20,10,5,5]`.
    pub fn conv2_weight(&self) -> &Tensor {
        self.conv2.weight()
    }

    /// The notes' `forward`: log-probabilities `[B,10]` for images `[B,1,28,28]`.
    /// `train` switches dropout on (`model.train()`) or off (`model.eval()`). Readers call it as
    /// [`ModuleT::forward_t`]; this is the same with the crate's error type.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if matches!(self.ops_impl, OpsImpl::Fast | OpsImpl::Im2col) {
            return self.forward_fused(x, train);
        }
        let x = self.check_input(x)?;
        let x = self.conv(&self.conv1, &x, true)?; // [B,10,24,24]
        let x = self.pool_relu(&x)?; // [B,10,12,12]
        let x = self.conv(&self.conv2, &x, false)?; // [B,20,8,8]
        let x = self.conv2_drop.forward_t(&x, train)?;
        let x = self.pool_relu(&x)?; // [B,20,4,4]
        let x = x.flatten_from(1)?; // x.view(-1, 320)
        let x = self.fc1.forward(&x)?.relu()?; // [B,50]
        let x = self.fc2.forward(&x)?; // [B,10]
        Ok(candle_nn::ops::log_softmax(&x, D::Minus1)?)
    }

    /// The same pass with chapter 8's fused ops ([`OpsImpl::Fast`]): each convolution and the
    /// pooling after it as one op, and each fully connected layer with what follows it as one op.
    /// The dropout moves behind the second pooling: it multiplies whole maps by 0 or 1/(1−p) ≥ 0,
    /// and max and ReLU commute with such a factor, so the numbers are the same (with p = 0.5 the
    /// factor is 2, exactly).
    fn forward_fused(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.check_input(x)?;
        let x = self.conv_pool_relu(&self.conv1, &x, true)?; // [B,10,12,12]
        let x = self.conv_pool_relu(&self.conv2, &x, false)?; // [B,20,4,4]
        let x = self.conv2_drop.forward_t(&x, train)?;
        let x = x.flatten_from(1)?; // [B,320]
        let x = self.ops_impl.linear_relu(&x, self.fc1.weight(), self.fc1_bias()?)?; // [B,50]
        self.ops_impl.linear_log_softmax(&x, self.fc2.weight(), self.fc2_bias()?) // [B,10]
    }

    fn fc1_bias(&self) -> Result<&Tensor> {
        self.fc1.bias().ok_or_else(|| Error::Shape("LeNet's fc1 has no bias".into()))
    }

    fn fc2_bias(&self) -> Result<&Tensor> {
        self.fc2.bias().ok_or_else(|| Error::Shape("LeNet's fc2 has no bias".into()))
    }

    /// One forward pass in evaluation mode, keeping every intermediate tensor.
    pub fn activations(&self, x: &Tensor) -> Result<LeNetActivations> {
        let x = self.check_input(x)?;
        let conv1 = self.conv(&self.conv1, &x, true)?;
        let pool1 = self.pool_relu(&conv1)?;
        let conv2 = self.conv(&self.conv2, &pool1, false)?;
        let pool2 = self.pool_relu(&conv2)?;
        let fc1 = self.fc1.forward(&pool2.flatten_from(1)?)?.relu()?;
        let logits = self.fc2.forward(&fc1)?;
        Ok(LeNetActivations { conv1, pool1, conv2, pool2, fc1, logits })
    }

    fn check_input(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let x = match dims {
            [_, 1, 28, 28] => x.clone(),
            [1, 28, 28] | [28, 28] => x.reshape((1, 1, 28, 28))?,
            _ => {
                return Err(Error::Shape(format!("LeNet takes images of shape [B,1,28,28], got {dims:?}")));
            }
        };
        Ok(x.to_dtype(DType::F32)?)
    }

    fn conv(&self, layer: &Conv2d, x: &Tensor, input_is_data: bool) -> Result<Tensor> {
        // conv1's input is the batch of images: nobody needs its gradient, so don't compute it.
        let input_grad = if input_is_data { InputGrad::Skip } else { InputGrad::Needed };
        self.ops_impl.conv2d(x, layer.weight(), layer.bias(), 0, 1, input_grad)
    }

    /// `F.relu(F.max_pool2d(conv(x), 2))` as one op.
    fn conv_pool_relu(&self, layer: &Conv2d, x: &Tensor, input_is_data: bool) -> Result<Tensor> {
        let input_grad = if input_is_data { InputGrad::Skip } else { InputGrad::Needed };
        self.ops_impl.conv2d_max_pool2d_relu(x, layer.weight(), layer.bias(), 0, 1, 2, input_grad)
    }

    fn pool_relu(&self, x: &Tensor) -> Result<Tensor> {
        // F.relu(F.max_pool2d(x, 2))
        self.ops_impl.max_pool2d_relu(x, 2)
    }
}

impl LeNetActivations {
    /// The tensors with the names the book uses, in the order of the forward pass.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        [
            ("conv1", &self.conv1),
            ("pool1", &self.pool1),
            ("conv2", &self.conv2),
            ("pool2", &self.pool2),
            ("fc1", &self.fc1),
            ("logits", &self.logits),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect()
    }
}
