//! Reading the arguments of the hand-written functions out of tensors, with errors that say what
//! shape was expected and what to do instead: a bottom-layer helper shared by [`conv`](crate::conv),
//! [`pool`](crate::pool) and the figures ([`viz`](crate::viz)).

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

/// The values of `tensor` as one flat row-major `Vec<f32>`, whatever its dtype and device.
pub(crate) fn values(tensor: &Tensor) -> Result<Vec<f32>> {
    Ok(tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// The dimensions of `tensor`, after checking that it has `rank` of them. `what` names the tensor
/// and its expected layout (`"conv2d: the input must be [C, H, W]"`), `hint` says what to do instead.
pub(crate) fn dims_of_rank(tensor: &Tensor, rank: usize, what: &str, hint: &str) -> Result<Vec<usize>> {
    let dims = tensor.dims().to_vec();
    if dims.len() != rank {
        return Err(Error::Shape(format!("{what}, got shape {dims:?} (rank {}); {hint}", dims.len())));
    }
    Ok(dims)
}

/// Checks the notes' rule that a kernel's depth equals the input's channel count.
pub(crate) fn check_depth(function: &str, channels: usize, kernel_dims: &[usize]) -> Result<()> {
    let depth = kernel_dims[1];
    if depth != channels {
        return Err(Error::Shape(format!(
            "{function}: the kernels have depth {depth} but the input has {channels} channel(s); a kernel's \
             depth must equal the input's channel count (grayscale image → 1, colour RGB image → 3), because \
             each kernel covers all channels of its window at once (kernels {kernel_dims:?} are \
             [K, C, FH, FW])"
        )));
    }
    Ok(())
}

/// The bias values, one per kernel; zeros when there is no bias.
pub(crate) fn bias_values(function: &str, bias: Option<&Tensor>, kernel_count: usize) -> Result<Vec<f32>> {
    let Some(bias) = bias else {
        return Ok(vec![0.0; kernel_count]);
    };
    if bias.dims() != [kernel_count] {
        return Err(Error::Shape(format!(
            "{function}: the bias must be [K] = [{kernel_count}], one number per kernel, got shape {:?}",
            bias.dims()
        )));
    }
    values(bias)
}
