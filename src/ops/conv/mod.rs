//! The convolution as candle custom ops: im2col + one GEMM forward, two GEMMs + col2im backward.
//!
//! candle lets a crate add its own operations to the autograd graph. A [`CustomOp3`] (three inputs:
//! `x`, `weight`, `bias`) supplies
//!
//! * `cpu_fwd`, which gets the inputs' raw storage and returns the output's, and
//! * `bwd`, which gets the inputs, the output and the output's gradient *as tensors* and returns one
//!   optional gradient per input. `None` means "no gradient for this input": candle's backward pass
//!   then simply leaves that input out of the gradient store.
//!
//! A convolution without a bias is the same op with two inputs, a [`CustomOp2`]; both traits run
//! the same code. The gradients are themselves computed by custom ops (`Conv2dWeightGrad`,
//! `Conv2dInputGrad`) applied with `apply_op2_no_bwd`, since nobody differentiates the backward pass
//! again.
//!
//! With `y = W·colsᵀ` (`W: [K, C·FH·FW]`, `cols: [B·OH·OW, C·FH·FW]`, one patch per row) and `G`
//! the gradient of `y` laid out the same way (`[K, B·OH·OW]`), the chain rule for a matrix product
//! gives
//!
//! ```text
//!   dW    = G · cols         [K, C·FH·FW]        one GEMM, summing over every position of every image
//!   dbias = G · 1            [K]                 a row sum
//!   dcols = Gᵀ · W           [B·OH·OW, C·FH·FW]  one GEMM, then dx = col2im(dcols)
//! ```
//!
//! and no `conv_transpose2d` loop is needed anywhere. The transposes cost nothing: a GEMM reads a
//! matrix through its row and column strides, and swapping the strides *is* the transpose.
//!
//! The ops evaluate these formulas a group of images at a time (see `groups.rs`): a group's
//! columns of `G` and rows of `cols` are one block of each matrix, `dW` is the sum of the groups'
//! products, and `dcols` and col2im are done group by group.
//!
//! **Why conv1 needs no input gradient.** Gradients are only useful for things we update (weights,
//! biases) or for passing further back to such things. conv1's input is the batch of images: not a
//! parameter, and nothing before it has one. Its gradient would be computed (one GEMM + col2im, or
//! candle's `conv_transpose2d`) and thrown away. [`InputGrad::Skip`] tells the op not to, and `bwd`
//! returns `None` for `x`. (candle's own conv2d cannot know this: its backward always computes it.)
//!
//! | file | idea |
//! |---|---|
//! | `mod.rs` | the entry points ([`conv2d_fast`], [`conv2d_max_pool2d_relu_fast`], [`conv2d_candle`]); the op, with or without a bias, as a candle custom op: its inputs checked, its gradients put together |
//! | `groups.rs` | what every op shares: the batch cut into groups of images, the layout of their im2col rows |
//! | `forward.rs` | the forward pass: im2col, one GEMM, the product copied out with the bias (or pooled) |
//! | `direct.rs` | conv1's forward pass without im2col: one input channel, computed straight from the image (same bits) |
//! | `backward_pool.rs` | behind a fused pooling: the pooled output's gradient sent to the maxima, giving `G` |
//! | `backward_weight.rs` | `dW = G · cols` |
//! | `backward_input.rs` | `dx = col2im(Gᵀ · W)` |

mod backward_input;
mod backward_pool;
mod backward_weight;
mod direct;
mod forward;
mod groups;
#[cfg(test)]
mod tests;

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use self::backward_input::Conv2dInputGrad;
use self::backward_pool::PoolScatter;
use self::backward_weight::Conv2dWeightGrad;
use crate::error::{Error, Result};
use crate::ops::conv2d_max_pool2d_relu_candle;
use crate::ops::im2col::ConvGeometry;
use crate::ops::pool::PoolGeometry;
use crate::ops::scratch::Scratch;
use crate::ops::storage::{dense_f32, fast_path_applies};

/// Whether the backward pass must produce the gradient of a convolution's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputGrad {
    /// The input depends on parameters (any layer after the first): compute its gradient.
    #[default]
    Needed,
    /// The input is data (the first layer): skip its gradient, which nobody would read.
    Skip,
}

/// A 2-D convolution `y = x ⋆ weight + bias`, with the fast CPU op where they apply.
///
/// * `x: [B,C,H,W]`, `weight: [K,C,FH,FW]`, `bias: [K]` → `y: [B,K,OH,OW]` with
///   `OH = (H + 2·padding − FH)/stride + 1` (likewise `OW`), exactly like PyTorch's `F.conv2d`.
/// * `input_grad`: [`InputGrad::Skip`] for a layer whose input is data; its backward pass then
///   returns no gradient for `x`.
///
/// On the CPU with `f32` tensors this runs the custom ops of this module. Anywhere else it is
/// [`conv2d_candle`] (which always computes the input gradient; `input_grad` is then only a hint).
pub fn conv2d_fast(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    input_grad: InputGrad,
) -> Result<Tensor> {
    conv2d_op(x, weight, bias, padding, stride, None, input_grad, Method::Best)
}

/// `relu(max_pool2d(conv2d(x, weight, bias), window))` as one op: [`conv2d_fast`] whose output is
/// pooled by `window × window` windows and clamped while it is copied out of the GEMM's product,
/// giving `[B,K,OH/window,OW/window]`.
///
/// LeNet follows each convolution by a max-pool and a ReLU. As two ops, the convolution writes its
/// whole output (`[64,10,24,24]`, 1.5 MB at batch 64 for conv1) for the pooling to read once, and
/// the backward pass pays for that tensor again: candle keeps a zeroed gradient of it and adds into
/// it, the pooling scatters into a second one, and the convolution transposes it into the
/// channel-major layout its GEMMs want. Fused, the product is pooled while it is still in cache, and
/// the backward pass scatters the output's gradient straight into that channel-major layout.
/// Same numbers as the two ops: the bias is added before the maxima are taken, and ties still go
/// to the first maximum.
///
/// On the CPU with `f32` this is the custom op; anywhere else [`conv2d_max_pool2d_relu_candle`]
/// ([`conv2d_candle`] followed by `max_pool2d_relu_candle`).
pub fn conv2d_max_pool2d_relu_fast(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    window: usize,
    input_grad: InputGrad,
) -> Result<Tensor> {
    conv2d_op(x, weight, bias, padding, stride, Some(window), input_grad, Method::Best)
}

/// How the fast op computes a convolution's forward product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// The direct convolution where it applies (one input channel, stride 1, a CPU with FMA: see
    /// `direct.rs`), im2col + GEMM everywhere else.
    Best,
    /// im2col + GEMM always: the fast ops as they were before the direct convolution
    /// (`OpsImpl::Im2col`).
    Im2col,
}

/// Both entry points: the convolution, pooled by `window × window` windows if there is a `window`,
/// its forward product computed by `method`. The op reads raw slices, so the inputs are made dense
/// first; for the usual freshly computed activations and `Var` weights that is free.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_op(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    window: Option<usize>,
    input_grad: InputGrad,
    method: Method,
) -> Result<Tensor> {
    let geometry = checked_geometry(x, weight, bias, padding, stride)?;
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    if !fast_path_applies(&tensors) {
        return match window {
            None => conv2d_candle(x, weight, bias, padding, stride),
            Some(window) => conv2d_max_pool2d_relu_candle(x, weight, bias, padding, stride, window),
        };
    }
    let pool = match window {
        None => None,
        Some(window) => {
            let dims = (geometry.batch, geometry.out_channels, geometry.out_h, geometry.out_w);
            let geometry = PoolGeometry::from_dims(dims, window)?;
            Some(PoolEpilogue { geometry, winners: Mutex::new(Vec::new()) })
        }
    };
    let direct = method == Method::Best && direct::applies(&geometry);
    let op = Conv2dForward { geometry, input_grad, direct, kept_cols: Mutex::new(None), pool };
    let (x, weight) = (x.contiguous()?, weight.contiguous()?);
    let y = match bias {
        Some(bias) => x.apply_op3(&weight, &bias.contiguous()?, op)?,
        None => x.apply_op2(&weight, op)?,
    };
    Ok(y)
}

/// The same convolution with candle's built-in operations: `Tensor::conv2d` plus a broadcast bias.
/// The reference the fast path is tested against, and the fallback on GPUs and other dtypes.
pub fn conv2d_candle(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let geometry = checked_geometry(x, weight, bias, padding, stride)?;
    let y = x.conv2d(weight, padding, stride, 1, 1)?;
    Ok(match bias {
        Some(bias) => y.broadcast_add(&bias.reshape((1, geometry.out_channels, 1, 1))?)?,
        None => y,
    })
}

/// Validates the shapes once, with the crate's error messages, for both implementations.
fn checked_geometry(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
) -> Result<ConvGeometry> {
    let rank4 = |t: &Tensor, what: &str| {
        t.dims4()
            .map_err(|_| Error::Shape(format!("conv2d: {what} must have rank 4, got shape {:?}", t.dims())))
    };
    let geometry = ConvGeometry::new(
        rank4(x, "the input [B,C,H,W]")?,
        rank4(weight, "the weight [K,C,FH,FW]")?,
        padding,
        stride,
    )?;
    if let Some(bias) = bias
        && bias.dims() != [geometry.out_channels]
    {
        return Err(Error::Shape(format!(
            "conv2d: the bias must have shape [{}] (one value per output channel), got {:?}",
            geometry.out_channels,
            bias.dims()
        )));
    }
    Ok(geometry)
}

/// The forward op: `x`, `weight` (and `bias`) → `y`. Its `bwd` builds the gradients.
struct Conv2dForward {
    geometry: ConvGeometry,
    input_grad: InputGrad,
    /// Whether the forward product is computed directly (`direct.rs`) rather than by im2col + GEMM.
    direct: bool,
    /// The im2col matrix of the forward pass, kept for the weight gradient (see
    /// `forward::KEEP_COLS_MAX_BYTES`); the direct convolution builds none.
    kept_cols: Mutex<Option<Scratch>>,
    /// Set by [`conv2d_max_pool2d_relu_fast`]: the output is pooled and clamped.
    pool: Option<PoolEpilogue>,
}

/// The max-pool + ReLU a convolution applies to its output while copying it out.
struct PoolEpilogue {
    /// The pooling of the convolution's `[B,K,OH,OW]` output.
    geometry: PoolGeometry,
    /// Per group of images, `[b,K,OH/window,OW/window]`: where in its `OH×OW` map each output's
    /// maximum was (flagged where the ReLU clamped it, see `pool::CLAMPED`); written by the forward
    /// pass, read by the backward pass.
    winners: Mutex<Vec<Vec<u32>>>,
}

/// Each mutex here is taken by one op at a time; a panic elsewhere leaves nothing half-written
/// that the next reader could not use.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tensor's storage and layout, as a custom op's `cpu_fwd` receives them.
type Storage<'a> = (&'a CpuStorage, &'a Layout);

impl Conv2dForward {
    /// The `cpu_fwd` of both traits, with the bias or without: the inputs read as dense slices,
    /// then [`Self::forward`] (in `forward.rs`).
    fn cpu_forward(
        &self,
        (x, x_layout): Storage<'_>,
        (weight, weight_layout): Storage<'_>,
        bias: Option<Storage<'_>>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = dense_f32(x, x_layout, "conv2d input")?;
        let weight = dense_f32(weight, weight_layout, "conv2d weight")?;
        let bias = bias.map(|(bias, layout)| dense_f32(bias, layout, "conv2d bias")).transpose()?;
        let y = self.forward(x, weight, bias).map_err(candle_core::Error::msg)?;
        Ok((CpuStorage::F32(y), self.output_shape()))
    }

    /// The gradients of `x` (unless skipped), `weight` and, for an op `with_bias`, `bias` from the
    /// gradient of `y`: the `bwd` of both traits.
    fn backward(
        &self,
        x: &Tensor,
        weight: &Tensor,
        grad_y: &Tensor,
        with_bias: bool,
    ) -> candle_core::Result<Gradients> {
        // The gradient of the convolution's output in the same layout as the forward product, so
        // that it is the matrix G = [K, B·OH·OW] of the formulas above: [B,K,OH,OW] transposed to
        // [K,B,OH,OW], or, behind a pooling, the pooled output's gradient scattered to the maxima.
        let grad_cm = match &self.pool {
            None => grad_y.transpose(0, 1)?.contiguous()?,
            Some(pool) => {
                let winners = std::mem::take(&mut *lock(&pool.winners));
                let scatter = PoolScatter { conv: self.geometry, pool: pool.geometry, winners: &winners };
                grad_y.contiguous()?.apply_op1_no_bwd(&scatter)?
            }
        };
        // The kept columns are taken out: they are freed as soon as the weight gradient is done.
        let kept_cols = lock(&self.kept_cols).take();
        let weight_grad_op = Conv2dWeightGrad { geometry: self.geometry, kept_cols: kept_cols.as_deref() };
        let weight_grad = x.apply_op2_no_bwd(&grad_cm, &weight_grad_op)?;
        let bias_grad = if with_bias { Some(grad_cm.flatten_from(1)?.sum(1)?) } else { None };
        let input_grad = match self.input_grad {
            InputGrad::Skip => None,
            InputGrad::Needed => {
                Some(grad_cm.apply_op2_no_bwd(weight, &Conv2dInputGrad { geometry: self.geometry })?)
            }
        };
        Ok(Gradients { input_grad, weight_grad, bias_grad })
    }
}

struct Gradients {
    input_grad: Option<Tensor>,
    weight_grad: Tensor,
    /// `None` for an op without a bias.
    bias_grad: Option<Tensor>,
}

impl CustomOp3 for Conv2dForward {
    fn name(&self) -> &'static str {
        "lenet-conv2d-im2col"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.cpu_forward((x, x_layout), (weight, weight_layout), Some((bias, bias_layout)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.backward(x, weight, grad_y, true)?;
        Ok((g.input_grad, Some(g.weight_grad), g.bias_grad))
    }
}

/// The same op without a bias: two inputs instead of three, the same code.
impl CustomOp2 for Conv2dForward {
    fn name(&self) -> &'static str {
        "lenet-conv2d-im2col-nobias"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.cpu_forward((x, x_layout), (weight, weight_layout), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.backward(x, weight, grad_y, false)?;
        Ok((g.input_grad, Some(g.weight_grad)))
    }
}
