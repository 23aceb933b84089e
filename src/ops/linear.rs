//! LeNet's fully connected tail as two custom ops: `relu(x·Wᵀ + b)` and `log_softmax(x·Wᵀ + b)`.
//!
//! At LeNet's sizes (`[64,320]·[320,50]` and `[64,50]·[50,10]`) the arithmetic of the tail is tiny;
//! what costs is the number of candle operations. candle-nn's `Linear` is a matmul, a transpose and
//! a broadcast add; `log_softmax` is a max, two broadcast subtractions, an exponential, a sum and a
//! logarithm. Each is a node of the autograd graph, with its own output tensor and, in the backward
//! pass, its own zeroed gradient that the node's gradient is added into. Profiled on the training
//! epoch, the tail was a few percent of a step with one thread and more with two, since none of it
//! is big enough to share between threads. As two ops it is two nodes, and each backward pass is
//! three small GEMMs and one loop.
//!
//! With `z = x·Wᵀ + b` (`x: [B,I]`, `W: [O,I]`, `b: [O]`) and `dz` the gradient of `z`:
//!
//! ```text
//!   dW = dzᵀ · x      [O,I]      db = Σ_rows dz   [O]      dx = dz · W   [B,I]
//!   relu:         dz = dy ⊙ [z > 0]
//!   log_softmax:  dz = dy − softmax(z) · Σ_j dy_j        (row by row; softmax(z) = exp(y))
//! ```
//!
//! The ReLU passes no gradient where `z = 0` exactly, as PyTorch does (candle's `relu` passes it);
//! an output of exactly zero before the ReLU does not happen with real data.

use candle_core::{CpuStorage, CustomOp3, D, Layout, Shape, Tensor};

use crate::error::{Error, Result};
use crate::ops::gemm::{MatRef, gemm_into_serial};
use crate::ops::storage::{dense_f32, fast_path_applies};

/// What follows the matrix product in the op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    Relu,
    LogSoftmax,
}

/// `relu(x·weightᵀ + bias)` for `x: [B,I]`, `weight: [O,I]`, `bias: [O]` → `[B,O]`: candle-nn's
/// `Linear` followed by `relu`, as one op on the CPU with `f32` (elsewhere [`linear_relu_candle`]).
pub fn linear_relu_fast(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    linear_fast(x, weight, bias, Activation::Relu)
}

/// `log_softmax(x·weightᵀ + bias)` over the last axis, shapes as [`linear_relu_fast`]: candle-nn's
/// `Linear` followed by `candle_nn::ops::log_softmax`, as one op on the CPU with `f32` (elsewhere
/// [`linear_log_softmax_candle`]).
pub fn linear_log_softmax_fast(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    linear_fast(x, weight, bias, Activation::LogSoftmax)
}

/// [`linear_relu_fast`] with candle's operations: the reference it is tested against.
pub fn linear_relu_candle(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    checked_dims(x, weight, bias)?;
    Ok(x.matmul(&weight.t()?)?.broadcast_add(bias)?.relu()?)
}

/// [`linear_log_softmax_fast`] with candle's operations: the reference it is tested against.
pub fn linear_log_softmax_candle(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    checked_dims(x, weight, bias)?;
    let z = x.matmul(&weight.t()?)?.broadcast_add(bias)?;
    Ok(candle_nn::ops::log_softmax(&z, D::Minus1)?)
}

fn linear_fast(x: &Tensor, weight: &Tensor, bias: &Tensor, activation: Activation) -> Result<Tensor> {
    let dims = checked_dims(x, weight, bias)?;
    if !fast_path_applies(&[x, weight, bias]) {
        return match activation {
            Activation::Relu => linear_relu_candle(x, weight, bias),
            Activation::LogSoftmax => linear_log_softmax_candle(x, weight, bias),
        };
    }
    let op = LinearAct { dims, activation };
    Ok(x.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?)
}

/// The sizes of one layer: `batch` rows of `inputs` values in, `outputs` values out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LinearDims {
    batch: usize,
    inputs: usize,
    outputs: usize,
}

fn checked_dims(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<LinearDims> {
    let (batch, inputs) = x
        .dims2()
        .map_err(|_| Error::Shape(format!("linear: the input must be [B,I], got shape {:?}", x.dims())))?;
    let (outputs, weight_inputs) = weight.dims2().map_err(|_| {
        Error::Shape(format!("linear: the weight must be [O,I], got shape {:?}", weight.dims()))
    })?;
    if weight_inputs != inputs {
        return Err(Error::Shape(format!(
            "linear: the input has {inputs} values per row but the weight {:?} expects {weight_inputs}",
            weight.dims()
        )));
    }
    if bias.dims() != [outputs] {
        return Err(Error::Shape(format!(
            "linear: the bias must have shape [{outputs}] (one value per output), got {:?}",
            bias.dims()
        )));
    }
    Ok(LinearDims { batch, inputs, outputs })
}

/// The forward op: `x`, `weight`, `bias` → `activation(x·weightᵀ + bias)`.
struct LinearAct {
    dims: LinearDims,
    activation: Activation,
}

impl CustomOp3 for LinearAct {
    fn name(&self) -> &'static str {
        match self.activation {
            Activation::Relu => "lenet-linear-relu",
            Activation::LogSoftmax => "lenet-linear-log-softmax",
        }
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
        let LinearDims { batch, inputs, outputs } = self.dims;
        let x = dense_f32(x, x_layout, "linear input")?;
        let weight = dense_f32(weight, weight_layout, "linear weight")?;
        let bias = dense_f32(bias, bias_layout, "linear bias")?;
        let mut y = vec![0.0f32; batch * outputs];
        gemm_into_serial(
            &mut y,
            MatRef::row_major(x, batch, inputs),
            MatRef::row_major(weight, outputs, inputs).t(),
        )
        .map_err(candle_core::Error::msg)?;
        for row in y.chunks_exact_mut(outputs.max(1)) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
            match self.activation {
                Activation::Relu => row.iter_mut().for_each(|v| *v = v.max(0.0)),
                Activation::LogSoftmax => log_softmax_row(row),
            }
        }
        Ok((CpuStorage::F32(y), Shape::from((batch, outputs))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // dz from dy, then the three products; all of it in one op that returns them side by side.
        let grads = y.contiguous()?.apply_op3_no_bwd(
            &grad_y.contiguous()?,
            &x.contiguous()?,
            &LinearActGrad { dims: self.dims, activation: self.activation, weight: weight.clone() },
        )?;
        let LinearDims { batch, inputs, outputs } = self.dims;
        // [dW (O·I) | db (O) | dx (B·I)] in one buffer, so that the op is one call.
        let weight_grad = grads.narrow(0, 0, outputs * inputs)?.reshape((outputs, inputs))?;
        let bias_grad = grads.narrow(0, outputs * inputs, outputs)?;
        let input_grad =
            grads.narrow(0, outputs * inputs + outputs, batch * inputs)?.reshape((batch, inputs))?;
        Ok((Some(input_grad), Some(weight_grad), Some(bias_grad)))
    }
}

/// `row ← row − max − ln Σ exp(row − max)`, in the order candle-nn's `log_softmax` computes it.
fn log_softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v -= max);
    let log_sum = row.iter().map(|v| v.exp()).sum::<f32>().ln();
    row.iter_mut().for_each(|v| *v -= log_sum);
}

/// The backward op: inputs `y` (the forward output), `dy`, `x`; the weight is held by the op.
/// Output: `dW`, `db` and `dx` one after the other in one flat tensor.
struct LinearActGrad {
    dims: LinearDims,
    activation: Activation,
    weight: Tensor,
}

impl CustomOp3 for LinearActGrad {
    fn name(&self) -> &'static str {
        "lenet-linear-activation-grad"
    }

    fn cpu_fwd(
        &self,
        y: &CpuStorage,
        y_layout: &Layout,
        grad_y: &CpuStorage,
        grad_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let LinearDims { batch, inputs, outputs } = self.dims;
        let y = dense_f32(y, y_layout, "linear output")?;
        let grad_y = dense_f32(grad_y, grad_layout, "linear output gradient")?;
        let x = dense_f32(x, x_layout, "linear input")?;
        let (weight_storage, weight_layout) = self.weight.storage_and_layout();
        let candle_core::Storage::Cpu(weight_storage) = &*weight_storage else {
            candle_core::bail!("linear: the weight is not on the CPU");
        };
        let weight = dense_f32(weight_storage, weight_layout, "linear weight")?;

        // dz [B,O]
        let mut grad_z = grad_y.to_vec();
        for (dz, y) in grad_z.chunks_exact_mut(outputs.max(1)).zip(y.chunks_exact(outputs.max(1))) {
            match self.activation {
                Activation::Relu => {
                    dz.iter_mut().zip(y).for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 })
                }
                Activation::LogSoftmax => {
                    let total: f32 = dz.iter().sum();
                    dz.iter_mut().zip(y).for_each(|(d, &y)| *d -= y.exp() * total);
                }
            }
        }
        let mut grads = vec![0.0f32; outputs * inputs + outputs + batch * inputs];
        let (weight_grad, rest) = grads.split_at_mut(outputs * inputs);
        let (bias_grad, input_grad) = rest.split_at_mut(outputs);
        let grad_z_m = MatRef::row_major(&grad_z, batch, outputs);
        gemm_into_serial(weight_grad, grad_z_m.t(), MatRef::row_major(x, batch, inputs))
            .map_err(candle_core::Error::msg)?;
        for dz in grad_z.chunks_exact(outputs.max(1)) {
            bias_grad.iter_mut().zip(dz).for_each(|(b, d)| *b += d);
        }
        gemm_into_serial(input_grad, grad_z_m, MatRef::row_major(weight, outputs, inputs))
            .map_err(candle_core::Error::msg)?;
        let len = grads.len();
        Ok((CpuStorage::F32(grads), Shape::from(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn bad_shapes_are_clear_errors() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((4, 6), DType::F32, &dev).unwrap();
        let w = Tensor::zeros((3, 5), DType::F32, &dev).unwrap();
        let b = Tensor::zeros(3, DType::F32, &dev).unwrap();
        let err = linear_relu_fast(&x, &w, &b).unwrap_err().to_string();
        assert!(err.contains("expects 5"), "{err}");
        let w = Tensor::zeros((3, 6), DType::F32, &dev).unwrap();
        let err = linear_log_softmax_fast(&x, &w, &w).unwrap_err().to_string();
        assert!(err.contains("bias must have shape [3]"), "{err}");
        let err = linear_relu_fast(&x.unsqueeze(0).unwrap(), &w, &b).unwrap_err().to_string();
        assert!(err.contains("[B,I]"), "{err}");
    }
}
