//! Making LeNet fast: the book's chapter on speed, in code.
//!
//! candle's CPU convolution is written for generality, not for LeNet's shapes. On this crate's
//! LeNet a training epoch through candle's own ops was several times slower than PyTorch's, and
//! almost all of the difference was in the two convolutions:
//!
//! * the **forward** pass works image by image, so every matrix product is tiny;
//! * the **input gradient** of `conv2` is computed by `conv_transpose2d`, a plain nested loop;
//! * `conv1`'s input gradient is computed at all, although its input is the data and nobody asks
//!   for the gradient of a picture of a digit.
//!
//! This module replaces both convolutions (and the max-pool + ReLU after each) by
//! [candle custom ops](candle_core::CustomOp3): small structs with a `cpu_fwd` that computes the
//! result from raw slices and a `bwd` that returns the gradients as tensors. Inside, everything is
//! the classic recipe from Caffe and PyTorch:
//!
//! 1. **im2col** ([`im2col`]): copy every receptive field of the whole batch into one row of a
//!    matrix, so that a convolution *is* a matrix product;
//! 2. **one GEMM** (general matrix multiply, from the `gemm` crate that candle itself uses) for a
//!    group of images (as many as fit in 1 MiB of columns), with the bias added while the result is
//!    copied out; the groups are what the threads share;
//! 3. the backward pass as two more GEMMs, plus **col2im** to fold the gradient of the columns back
//!    into the image — and only when [`InputGrad::Needed`] says someone wants it.
//!
//! Profiling the result showed two more costs worth removing: max-pooling and ReLU as separate
//! candle ops (`pool.rs` fuses them and keeps the position of each maximum), and memory that every
//! step asks the operating system for again — a third of the step's CPU time went into page faults.
//! The ops reuse their temporary buffers (`scratch`), and [`reuse_freed_memory`] makes glibc's
//! allocator do the same for every tensor (`memory.rs` tells the story).
//!
//! What each step gave, measured against candle's ops and PyTorch on the machine that ran the
//! benchmark, is in chapter 8 ("Making LeNet fast"), whose tables `scripts/bench/run` generates
//! (`book/src/generated/bench.md`); no timing is typed here.
//!
//! A second profile, on an AVX-512 Xeon, led to three more changes: the im2col rows padded to a
//! multiple of 16 values, so that the weight gradient's GEMM reads them where they lie instead of
//! copying them (`conv/groups.rs`); each convolution fused with the max-pool + ReLU after it
//! ([`conv2d_max_pool2d_relu_fast`]); and the fully connected tail as two ops ([`linear_relu_fast`],
//! [`linear_log_softmax_fast`], in `linear.rs`), which replace a dozen small candle operations and
//! their gradient buffers. Chapter 8 has the profile and what each change gave.
//!
//! A third round went after the copies that compute nothing: conv1, whose one input channel makes
//! its GEMM mostly copying, is computed directly (`conv/direct.rs`); the forward GEMM is asked for
//! the product position by position, so that it reads `cols` where it lies instead of packing it
//! (`conv/forward.rs`); and the 2×2 max-pool takes 16 windows at a time with AVX-512
//! (`pool_avx512.rs`). None of the three changes a bit of any result.
//!
//! [`OpsImpl`] switches between these ops and candle's built-in operations, so that the book
//! can train the same LeNet both ways and compare. On GPUs and for dtypes other than `f32` the fast
//! path steps aside and candle's operations run, so a model written against this module works
//! everywhere.

mod conv;
mod gemm;
pub mod im2col;
mod linear;
mod memory;
mod pool;
mod pool_avx512;
mod scratch;
mod storage;
mod threads;

pub use conv::{InputGrad, conv2d_candle, conv2d_fast, conv2d_max_pool2d_relu_fast};
pub use linear::{linear_log_softmax_candle, linear_log_softmax_fast, linear_relu_candle, linear_relu_fast};
pub use memory::reuse_freed_memory;
pub use pool::{max_pool2d_candle, max_pool2d_relu_candle, max_pool2d_relu_fast};

use candle_core::Tensor;

use self::conv::Method;

use crate::error::Result;

/// Which implementation of the convolution, the max-pool + ReLU and the fully connected tail a model
/// uses.
///
/// The book trains LeNet with `Fast` and `Candle` and compares epoch times; the results agree to
/// rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpsImpl {
    /// This module's custom ops (im2col + one GEMM) on the CPU with `f32`; candle's operations on
    /// every other device or dtype.
    #[default]
    Fast,
    /// candle's built-in `Tensor::conv2d` and generic tensor operations for the pooling (see
    /// [`max_pool2d_candle`] for why not candle's `max_pool2d`), everywhere.
    Candle,
    /// The fast ops without the fused ones: convolution and pooling as two custom ops, the fully
    /// connected tail with candle's operations. The fast path as it was before
    /// [`conv2d_max_pool2d_relu_fast`] and [`linear_relu_fast`]; the benchmark keeps it to measure
    /// what fusing gave.
    Unfused,
    /// The fast ops with every convolution as im2col + GEMM: `Fast` as it was before conv1's direct
    /// convolution. Same results, bit for bit: kept for the test that says so
    /// (`tests/ops_agreement.rs`) and for timing the two side by side (`bench_lenet --conv im2col`).
    Im2col,
}

impl OpsImpl {
    /// A 2-D convolution of `x: [B,C,H,W]` with `weight: [K,C,FH,FW]` plus `bias: [K]`, giving
    /// `[B,K,OH,OW]`; see [`conv2d_fast`] for the arguments.
    pub fn conv2d(
        self,
        x: &Tensor,
        weight: &Tensor,
        bias: Option<&Tensor>,
        padding: usize,
        stride: usize,
        input_grad: InputGrad,
    ) -> Result<Tensor> {
        match self {
            OpsImpl::Fast => conv2d_fast(x, weight, bias, padding, stride, input_grad),
            OpsImpl::Unfused | OpsImpl::Im2col => {
                conv::conv2d_op(x, weight, bias, padding, stride, None, input_grad, Method::Im2col)
            }
            OpsImpl::Candle => conv2d_candle(x, weight, bias, padding, stride),
        }
    }

    /// `relu(max_pool2d(conv2d(x, weight, bias), window))`, a convolution layer followed by LeNet's
    /// pooling: one op on the fast path ([`conv2d_max_pool2d_relu_fast`]), the two steps one after
    /// the other with candle's operations ([`conv2d_max_pool2d_relu_candle`]).
    #[allow(clippy::too_many_arguments)]
    pub fn conv2d_max_pool2d_relu(
        self,
        x: &Tensor,
        weight: &Tensor,
        bias: Option<&Tensor>,
        padding: usize,
        stride: usize,
        window: usize,
        input_grad: InputGrad,
    ) -> Result<Tensor> {
        match self {
            OpsImpl::Fast => {
                conv2d_max_pool2d_relu_fast(x, weight, bias, padding, stride, window, input_grad)
            }
            OpsImpl::Im2col => {
                conv::conv2d_op(x, weight, bias, padding, stride, Some(window), input_grad, Method::Im2col)
            }
            OpsImpl::Unfused => max_pool2d_relu_fast(
                &conv::conv2d_op(x, weight, bias, padding, stride, None, input_grad, Method::Im2col)?,
                window,
            ),
            OpsImpl::Candle => conv2d_max_pool2d_relu_candle(x, weight, bias, padding, stride, window),
        }
    }

    /// `relu(x·weightᵀ + bias)`, a fully connected layer and its ReLU; see [`linear_relu_fast`].
    pub fn linear_relu(self, x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
        match self {
            OpsImpl::Fast | OpsImpl::Im2col => linear_relu_fast(x, weight, bias),
            OpsImpl::Candle | OpsImpl::Unfused => linear_relu_candle(x, weight, bias),
        }
    }

    /// `log_softmax(x·weightᵀ + bias)`, the last layer and the log-probabilities; see
    /// [`linear_log_softmax_fast`].
    pub fn linear_log_softmax(self, x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
        match self {
            OpsImpl::Fast | OpsImpl::Im2col => linear_log_softmax_fast(x, weight, bias),
            OpsImpl::Candle | OpsImpl::Unfused => linear_log_softmax_candle(x, weight, bias),
        }
    }

    /// `relu(max_pool2d(x, window))` for `x: [B,C,H,W]`; see [`max_pool2d_relu_fast`].
    pub fn max_pool2d_relu(self, x: &Tensor, window: usize) -> Result<Tensor> {
        match self {
            OpsImpl::Fast | OpsImpl::Unfused | OpsImpl::Im2col => max_pool2d_relu_fast(x, window),
            OpsImpl::Candle => max_pool2d_relu_candle(x, window),
        }
    }
}

/// `relu(max_pool2d(conv2d(x, weight, bias), window))` with candle's operations: [`conv2d_candle`]
/// then [`max_pool2d_relu_candle`]. The reference [`conv2d_max_pool2d_relu_fast`] is tested against.
pub fn conv2d_max_pool2d_relu_candle(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    window: usize,
) -> Result<Tensor> {
    max_pool2d_relu_candle(&conv2d_candle(x, weight, bias, padding, stride)?, window)
}
