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
//! The gradients are themselves computed by custom ops (`Conv2dWeightGrad`, `Conv2dInputGrad`)
//! applied with `apply_op2_no_bwd`, since nobody differentiates the backward pass again.
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
//! The ops evaluate these formulas a group of images at a time (see [`GROUP_COLS_BYTES`]): a
//! group's columns of `G` and rows of `cols` are one block of each matrix, `dW` is the sum of the
//! groups' products, and `dcols` and col2im are done group by group.
//!
//! **Why conv1 needs no input gradient.** Gradients are only useful for things we update (weights,
//! biases) or for passing further back to such things. conv1's input is the batch of images: not a
//! parameter, and nothing before it has one. Its gradient would be computed (one GEMM + col2im, or
//! candle's `conv_transpose2d`) and thrown away. [`InputGrad::Skip`] tells the op not to, and `bwd`
//! returns `None` for `x`. (candle's own conv2d cannot know this: its backward always computes it.)

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use crate::error::{Error, Result};
use crate::ops::conv2d_max_pool2d_relu_candle;
use crate::ops::gemm::{MatRef, gemm_into};
use crate::ops::im2col::{ConvGeometry, col2im, im2col_rows};
use crate::ops::pool::{PoolGeometry, pool_map, scatter_to_winners};
use crate::ops::scratch::Scratch;
use crate::ops::storage::{dense_f32, fast_path_applies};
use crate::ops::threads;

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
    let geometry = checked_geometry(x, weight, bias, padding, stride)?;
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    if !fast_path_applies(&tensors) {
        return conv2d_candle(x, weight, bias, padding, stride);
    }
    let op = Conv2dForward { geometry, input_grad, kept_cols: Mutex::new(None), pool: None };
    apply_forward(x, weight, bias, op)
}

/// `relu(max_pool2d(conv2d(x, weight, bias), pool))` as one op: [`conv2d_fast`] whose output is
/// pooled and clamped while it is copied out of the GEMM's product, giving `[B,K,OH/pool,OW/pool]`.
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
    pool: usize,
    input_grad: InputGrad,
) -> Result<Tensor> {
    let geometry = checked_geometry(x, weight, bias, padding, stride)?;
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    if !fast_path_applies(&tensors) {
        return conv2d_max_pool2d_relu_candle(x, weight, bias, padding, stride, pool);
    }
    let pool = PoolGeometry::from_dims(
        (geometry.batch, geometry.out_channels, geometry.out_h, geometry.out_w),
        pool,
    )?;
    let op = Conv2dForward {
        geometry,
        input_grad,
        kept_cols: Mutex::new(None),
        pool: Some(PoolEpilogue { geometry: pool, winners: Mutex::new(Vec::new()) }),
    };
    apply_forward(x, weight, bias, op)
}

/// Runs the forward op on `x`, `weight` and the optional `bias`. The op reads raw slices, so the
/// inputs must be laid out densely; for the usual freshly computed activations and `Var` weights
/// these calls are free.
fn apply_forward(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, op: Conv2dForward) -> Result<Tensor> {
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

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

/// The forward op: `x`, `weight` (and `bias`) → `y`. Its `bwd` builds the gradients.
struct Conv2dForward {
    geometry: ConvGeometry,
    input_grad: InputGrad,
    /// The im2col matrix of the forward pass, kept for the weight gradient (see [`KEEP_COLS_MAX_BYTES`]).
    kept_cols: Mutex<Option<Scratch>>,
    /// Set by [`conv2d_max_pool2d_relu_fast`]: the output is pooled and clamped.
    pool: Option<PoolEpilogue>,
}

/// The max-pool + ReLU a convolution applies to its output while copying it out.
struct PoolEpilogue {
    /// The pooling of the convolution's `[B,K,OH,OW]` output.
    geometry: PoolGeometry,
    /// Per group of images, `[b,K,OH/pool,OW/pool]`: where in its `OH×OW` map each output's
    /// maximum was (flagged where the ReLU clamped it, see `pool::CLAMPED`); written by the forward
    /// pass, read by the backward pass.
    winners: Mutex<Vec<Vec<u32>>>,
}

/// Largest im2col matrix the forward pass keeps for the backward pass: 16 MiB.
///
/// The weight gradient needs the same columns as the forward pass. Keeping them saves a second
/// im2col per layer in the backward pass (measured when im2col was still slow: a tenth of a LeNet
/// training step; now a few percent), but the op holds them until backward runs or the graph is
/// dropped — and an evaluation batch never runs backward. 16 MiB keeps LeNet's training batches
/// (3.7 MiB for conv1 and 4 MiB for conv2 at B = 64) and lets an evaluation batch of 1000 (57.6 and
/// 64 MB, 54.9 and 61.0 MiB) recompute instead of holding on to memory it will never use.
const KEEP_COLS_MAX_BYTES: usize = 16 << 20;

/// Most bytes of im2col matrix one group of images builds at a time: 1 MiB.
///
/// Every op of this module works through the batch a **group of images** at a time: im2col of
/// the group, then its GEMM (and in the backward pass, its share of the weight gradient, or its
/// columns' gradient and col2im). Two reasons:
///
/// * **Cache.** A group's columns fit in a core's 1 MiB L2 cache, so the GEMM reads back from cache
///   what im2col has just written, instead of from memory. At batch 1000 (the evaluation batch) the
///   whole batch's columns are 57.6 MB (54.9 MiB) for conv1 and 64 MB (61.0 MiB) for conv2: built in one piece they were
///   also too big for the buffer pool and for glibc's heap, so every batch faulted in fresh memory.
///   Measured on the evaluation pass (10,000 Fashion-MNIST images, batch 1000, one thread): 2.1–2.4 s
///   in one piece, a quarter of it page faults and page clearing; 0.55–0.7 s in groups (PyTorch:
///   1.4 s). Groups of 0.5, 2 and 4 MiB measured the same or slower.
/// * **Threads.** The groups are what the threads share: each thread takes whole groups and does
///   everything for them serially. A training batch of 64 is four groups of 16, and splitting one
///   small GEMM between two threads gained less than giving each thread its own.
///
/// The groups depend only on the sizes, never on the thread count, and every sum over groups is
/// taken in group order: the results are the same bits with one thread or many.
const GROUP_COLS_BYTES: usize = 1 << 20;

/// The rows of the ops' im2col matrices start a multiple of this many values apart (16 `f32`: one
/// AVX-512 register, one 64-byte cache line).
///
/// The weight gradient's GEMM reads `cols` transposed, one row per kernel tap. The `gemm` crate
/// reads such an operand where it lies only if its row count is a multiple of its SIMD width;
/// LeNet's 25 and 250 taps are not, so it first copied every `cols` matrix into a packed layout of
/// its own — a tenth of a training step, measured. With the rows padded to 32 and 256 values (the
/// padding is never written nor read into anything that is kept: the weight gradient's extra rows
/// are dropped), that copy goes away.
const COLS_ROW_ALIGN: usize = 16;

/// Distance between two rows of the ops' im2col matrices (see [`COLS_ROW_ALIGN`]).
fn cols_stride(g: &ConvGeometry) -> usize {
    g.patch_len().next_multiple_of(COLS_ROW_ALIGN)
}

/// The im2col matrix `[rows, C·FH·FW]` of `cols`, whose rows are [`cols_stride`] apart.
fn cols_matrix<'a>(cols: &'a [f32], g: &ConvGeometry, rows: usize) -> MatRef<'a> {
    MatRef { data: cols, rows, cols: g.patch_len(), row_stride: cols_stride(g), col_stride: 1 }
}

/// Images per group: as many as keep a group's im2col matrix within [`GROUP_COLS_BYTES`] (at least
/// one), evened out so that all groups but the last have that size and the last is not much smaller
/// (a batch of 64 with room for 18 images per group: four groups of 16, not 18, 18, 18 and 10).
fn images_per_group(g: &ConvGeometry) -> usize {
    let cols_bytes_per_image = (g.positions() * g.patch_len() * size_of::<f32>()).max(1);
    let most = (GROUP_COLS_BYTES / cols_bytes_per_image).max(1);
    let groups = g.batch.div_ceil(most).max(1);
    g.batch.div_ceil(groups).max(1)
}

/// The geometry of the group of images that starts at image `first` (`per_group` images, or
/// fewer for the last group).
fn group_geometry(g: &ConvGeometry, first: usize, per_group: usize) -> ConvGeometry {
    ConvGeometry { batch: per_group.min(g.batch - first), ..*g }
}

/// The columns of `G = [K, B·OH·OW]` that belong to the group starting at image `first`
/// (`columns` of them): a `[K, columns]` block of `G`, its rows `B·OH·OW` apart.
fn group_columns<'a>(grad_cm: &'a [f32], g: &ConvGeometry, first: usize, columns: usize) -> MatRef<'a> {
    MatRef {
        data: &grad_cm[first * g.positions()..],
        rows: g.out_channels,
        cols: columns,
        row_stride: g.columns(),
        col_stride: 1,
    }
}

impl Conv2dForward {
    /// `y[b,k,p] = Σ_r W[k,r]·cols[b·P + p, r] + bias[k]`, a group of images at a time.
    fn forward(&self, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Result<Vec<f32>> {
        let g = self.geometry;
        if x.len() != g.input_len() {
            return Err(Error::Shape(format!(
                "the input has {} elements, the convolution needs {}",
                x.len(),
                g.input_len()
            )));
        }
        let (patch, positions, stride) = (g.patch_len(), g.positions(), cols_stride(&g));
        let image_len = g.in_channels * g.height * g.width;
        let per_group = images_per_group(&g);

        // One group: im2col into `cols`, one GEMM, then the product reordered into `y_group`.
        let convolve_group = |index: usize, y_group: &mut [f32], cols: &mut [f32]| -> Result<()> {
            let first = index * per_group;
            let part = group_geometry(&g, first, per_group);
            im2col_rows(&x[first * image_len..][..part.batch * image_len], &part, cols, stride)?;

            // [K, C·FH·FW] · colsᵀ [C·FH·FW, b·OH·OW] = [K, b·OH·OW].
            let columns = part.columns();
            let mut product = Scratch::take(g.out_channels * columns);
            gemm_into(
                &mut product,
                MatRef::row_major(weight, g.out_channels, patch),
                cols_matrix(cols, &g, columns).t(),
            )?;

            if let Some(pool) = &self.pool {
                // Each map of the product gets its bias (in place) and is pooled into y_group.
                let out_len = pool.geometry.out_map_len();
                let mut winners = vec![0u32; y_group.len()];
                let maps = y_group.chunks_exact_mut(out_len).zip(winners.chunks_exact_mut(out_len));
                for (map, (y_map, winners_map)) in maps.enumerate() {
                    let (b, k) = (map / g.out_channels, map % g.out_channels);
                    let plane = &mut product[k * columns + b * positions..][..positions];
                    let bias_k = bias.map_or(0.0, |bias| bias[k]);
                    plane.iter_mut().for_each(|v| *v += bias_k);
                    pool_map(plane, &pool.geometry, y_map, winners_map);
                }
                lock(&pool.winners)[index] = winners;
                return Ok(());
            }
            // The product is channel-major ([K,b,OH,OW]); the network wants [b,K,OH,OW]. The copy
            // that reorders it is also where the bias is added, so the bias costs no extra pass.
            for (b, y_image) in y_group.chunks_exact_mut(g.out_channels * positions).enumerate() {
                for (k, y_map) in y_image.chunks_exact_mut(positions).enumerate() {
                    let from = &product[k * columns + b * positions..][..positions];
                    let bias_k = bias.map_or(0.0, |bias| bias[k]);
                    for (to, v) in y_map.iter_mut().zip(from) {
                        *to = v + bias_k;
                    }
                }
            }
            Ok(())
        };

        let (out_len, out_per_image) = match &self.pool {
            Some(pool) => {
                *lock(&pool.winners) = vec![Vec::new(); g.batch.div_ceil(per_group)];
                (pool.geometry.output_len(), g.out_channels * pool.geometry.out_map_len())
            }
            None => (g.output_len(), g.out_channels * positions),
        };
        let mut y = vec![0.0f32; out_len];
        let y_per_group = per_group * out_per_image;
        if g.columns() * stride * size_of::<f32>() <= KEEP_COLS_MAX_BYTES {
            // A training-sized batch: the groups write their columns into one matrix for the whole
            // batch, which the weight gradient reads later.
            let mut cols = Scratch::take(g.columns() * stride); // [B·OH·OW, C·FH·FW], rows `stride` apart
            let cols_per_group = per_group * positions * stride;
            threads::try_for_each_chunk_pair_mut(
                &mut y,
                y_per_group,
                &mut cols[..],
                cols_per_group,
                |i, y, c| convolve_group(i, y, c),
            )?;
            *lock(&self.kept_cols) = Some(cols);
        } else {
            // Too big to keep: each group's columns live only as long as the group.
            threads::try_for_each_chunk_mut(&mut y, y_per_group, |i, y_group| {
                let part = group_geometry(&g, i * per_group, per_group);
                let mut cols = Scratch::take(part.columns() * stride);
                convolve_group(i, y_group, &mut cols)
            })?;
        }
        Ok(y)
    }

    fn output_shape(&self) -> Shape {
        let g = self.geometry;
        match &self.pool {
            Some(pool) => Shape::from((g.batch, g.out_channels, pool.geometry.out_h, pool.geometry.out_w)),
            None => Shape::from((g.batch, g.out_channels, g.out_h, g.out_w)),
        }
    }

    /// The gradients of `x` (unless skipped), `weight` and `bias` from the gradient of `y`.
    fn backward(&self, x: &Tensor, weight: &Tensor, grad_y: &Tensor) -> candle_core::Result<Gradients> {
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
        let bias_grad = grad_cm.flatten_from(1)?.sum(1)?;
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
    bias_grad: Tensor,
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
        let x = dense_f32(x, x_layout, "conv2d input")?;
        let weight = dense_f32(weight, weight_layout, "conv2d weight")?;
        let bias = dense_f32(bias, bias_layout, "conv2d bias")?;
        let y = self.forward(x, weight, Some(bias)).map_err(candle_core::Error::msg)?;
        Ok((CpuStorage::F32(y), self.output_shape()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.backward(x, weight, grad_y)?;
        Ok((g.input_grad, Some(g.weight_grad), Some(g.bias_grad)))
    }
}

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
        let x = dense_f32(x, x_layout, "conv2d input")?;
        let weight = dense_f32(weight, weight_layout, "conv2d weight")?;
        let y = self.forward(x, weight, None).map_err(candle_core::Error::msg)?;
        Ok((CpuStorage::F32(y), self.output_shape()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.backward(x, weight, grad_y)?;
        Ok((g.input_grad, Some(g.weight_grad)))
    }
}

// ---------------------------------------------------------------------------------------------
// Backward ops
// ---------------------------------------------------------------------------------------------

/// Each mutex here is taken by one op at a time; a panic elsewhere leaves nothing half-written
/// that the next reader could not use.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fused pooling's backward pass: the pooled output's gradient `[B,K,OH/pool,OW/pool]` sent to
/// the maxima, into the convolution output's gradient laid out channel-major, `G = [K,B,OH,OW]`.
struct PoolScatter<'a> {
    conv: ConvGeometry,
    pool: PoolGeometry,
    /// Per group of images, as the forward pass wrote them.
    winners: &'a [Vec<u32>],
}

impl CustomOp1 for PoolScatter<'_> {
    fn name(&self) -> &'static str {
        "lenet-conv2d-pool-scatter"
    }

    fn cpu_fwd(&self, grad_y: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, p) = (self.conv, self.pool);
        let grad_y = dense_f32(grad_y, layout, "pooled convolution output gradient")?;
        let winners_len: usize = self.winners.iter().map(Vec::len).sum();
        if grad_y.len() != p.output_len() || winners_len != grad_y.len() {
            candle_core::bail!(
                "conv2d + max_pool2d_relu: the gradient has {} elements, expected {} (backward pass without a forward pass?)",
                grad_y.len(),
                p.output_len()
            );
        }
        let (positions, out_len) = (g.positions(), p.out_map_len());
        // One row of G per output channel: rows never overlap, so the channels can share threads.
        let mut grad_cm = vec![0.0f32; g.output_len()];
        threads::for_each_chunk_mut(&mut grad_cm, g.batch * positions, |k, row| {
            let mut planes = row.chunks_exact_mut(positions);
            let mut first = 0; // the group's first image
            for group in self.winners {
                let images = group.len() / (g.out_channels * out_len);
                for (b, plane) in (first..first + images).zip(&mut planes) {
                    let at = (b - first) * g.out_channels + k;
                    let dy = &grad_y[(b * g.out_channels + k) * out_len..][..out_len];
                    scatter_to_winners(plane, &group[at * out_len..][..out_len], dy);
                }
                first += images;
            }
        });
        Ok((CpuStorage::F32(grad_cm), Shape::from((g.out_channels, g.batch, g.out_h, g.out_w))))
    }
}

/// `dW = G · cols`: inputs `x: [B,C,H,W]` and `G: [K,B,OH,OW]`, output `[K,C,FH,FW]`.
///
/// Uses the forward pass's columns when it kept them, and builds them again from `x` otherwise.
struct Conv2dWeightGrad<'a> {
    geometry: ConvGeometry,
    kept_cols: Option<&'a [f32]>,
}

impl CustomOp2 for Conv2dWeightGrad<'_> {
    fn name(&self) -> &'static str {
        "lenet-conv2d-weight-grad"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        grad_cm: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geometry;
        let x = dense_f32(x, x_layout, "conv2d input")?;
        let grad_cm = dense_f32(grad_cm, grad_layout, "conv2d output gradient")?;
        let (patch, positions, stride) = (g.patch_len(), g.positions(), cols_stride(&g));
        let image_len = g.in_channels * g.height * g.width;
        let per_group = images_per_group(&g);
        let kernel_len = g.kernel_len();

        // Each group's share G_group · cols_group, side by side; then their sum, in group order.
        // A share is [K, stride]: the product with all of each `cols` row, padding included (see
        // COLS_ROW_ALIGN); its last `stride − C·FH·FW` columns are dropped in the sum.
        let groups = g.batch.div_ceil(per_group);
        let share_len = g.out_channels * stride;
        let mut shares = vec![0.0f32; groups * share_len];
        threads::try_for_each_chunk_mut(&mut shares, share_len, |i, share| -> Result<()> {
            let first = i * per_group;
            let part = group_geometry(&g, first, per_group);
            let columns = part.columns();
            let rebuilt;
            let cols = match self.kept_cols {
                Some(cols) => &cols[first * positions * stride..][..columns * stride],
                None => {
                    let mut cols = Scratch::take(columns * stride);
                    im2col_rows(&x[first * image_len..][..part.batch * image_len], &part, &mut cols, stride)?;
                    rebuilt = cols;
                    &rebuilt[..]
                }
            };
            let grad_group = group_columns(grad_cm, &g, first, columns);
            gemm_into(share, grad_group, MatRef::row_major(cols, columns, stride))
        })
        .map_err(candle_core::Error::msg)?;
        let mut weight_grad = vec![0.0f32; kernel_len];
        for share in shares.chunks_exact(share_len) {
            for (totals, row) in weight_grad.chunks_exact_mut(patch).zip(share.chunks_exact(stride)) {
                for (total, v) in totals.iter_mut().zip(row) {
                    *total += v;
                }
            }
        }
        let shape = Shape::from((g.out_channels, g.in_channels, g.kernel_h, g.kernel_w));
        Ok((CpuStorage::F32(weight_grad), shape))
    }
}

/// `dx = col2im(Gᵀ · W)`: inputs `G: [K,B,OH,OW]` and `weight: [K,C,FH,FW]`, output `[B,C,H,W]`.
struct Conv2dInputGrad {
    geometry: ConvGeometry,
}

impl CustomOp2 for Conv2dInputGrad {
    fn name(&self) -> &'static str {
        "lenet-conv2d-input-grad"
    }

    fn cpu_fwd(
        &self,
        grad_cm: &CpuStorage,
        grad_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geometry;
        let grad_cm = dense_f32(grad_cm, grad_layout, "conv2d output gradient")?;
        let weight = dense_f32(weight, weight_layout, "conv2d weight")?;
        let patch = g.patch_len();
        let image_len = g.in_channels * g.height * g.width;
        let per_group = images_per_group(&g);

        // Per group: its rows of dcols = Gᵀ·W, then col2im into its images' gradient.
        let mut input_grad = vec![0.0f32; g.input_len()];
        threads::try_for_each_chunk_mut(&mut input_grad, per_group * image_len, |i, dx| -> Result<()> {
            let first = i * per_group;
            let part = group_geometry(&g, first, per_group);
            let columns = part.columns();
            let grad_group = group_columns(grad_cm, &g, first, columns);
            let mut cols_grad = Scratch::take(columns * patch);
            gemm_into(&mut cols_grad, grad_group.t(), MatRef::row_major(weight, g.out_channels, patch))?;
            col2im(&cols_grad, &part, dx)
        })
        .map_err(candle_core::Error::msg)?;
        let shape = Shape::from((g.batch, g.in_channels, g.height, g.width));
        Ok((CpuStorage::F32(input_grad), shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    #[test]
    fn bad_shapes_are_clear_errors_on_both_paths() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3, 8, 8), DType::F32, &dev).unwrap();
        let w = Tensor::zeros((4, 2, 3, 3), DType::F32, &dev).unwrap();
        for imp in [crate::ops::ConvImpl::Fast, crate::ops::ConvImpl::Candle] {
            let err = imp.conv2d(&x, &w, None, 0, 1, InputGrad::Needed).unwrap_err().to_string();
            assert!(err.contains("depth 2"), "{err}");
        }
        let w = Tensor::zeros((4, 3, 3, 3), DType::F32, &dev).unwrap();
        let bias = Tensor::zeros(3, DType::F32, &dev).unwrap();
        let err = conv2d_fast(&x, &w, Some(&bias), 0, 1, InputGrad::Needed).unwrap_err().to_string();
        assert!(err.contains("bias must have shape [4]"), "{err}");
        let flat = Tensor::zeros((2, 192), DType::F32, &dev).unwrap();
        let err = conv2d_fast(&flat, &w, None, 0, 1, InputGrad::Needed).unwrap_err().to_string();
        assert!(err.contains("rank 4"), "{err}");
    }

    #[test]
    fn batches_go_through_in_groups_with_the_same_result() {
        // Every op works a group of images at a time. A training-sized batch keeps its columns
        // (written group by group into one matrix) for the weight gradient; a batch whose im2col
        // matrix exceeds KEEP_COLS_MAX_BYTES keeps none, and the backward pass rebuilds them.
        // Output and gradients must not notice either way. The batch sizes leave a smaller last group.
        let dev = Device::Cpu;
        let mut rng = crate::rng::stream(7, crate::rng::streams::EXPERIMENT);
        let mut uniform = |dims: &[usize]| {
            let n: usize = dims.iter().product();
            let values: Vec<f32> = (0..n).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
            Tensor::from_vec(values, dims, &dev).unwrap()
        };
        for (batch, padding, stride, kept) in
            [(41, 0, 1, true), (301, 0, 1, false), (253, 1, 1, false), (1031, 2, 2, false)]
        {
            let x = Var::from_tensor(&uniform(&[batch, 1, 28, 28])).unwrap();
            let w = Var::from_tensor(&uniform(&[6, 1, 5, 5])).unwrap();
            let bias = Var::from_tensor(&uniform(&[6])).unwrap();
            let g = ConvGeometry::new(x.dims4().unwrap(), w.dims4().unwrap(), padding, stride).unwrap();
            let cols_bytes = g.columns() * g.patch_len() * size_of::<f32>();
            assert_eq!(cols_bytes <= KEEP_COLS_MAX_BYTES, kept, "{g:?}");
            let per_group = images_per_group(&g);
            assert!(per_group < batch && batch % per_group != 0, "batch {batch}: groups of {per_group}");

            let fast = conv2d_fast(&x, &w, Some(&bias), padding, stride, InputGrad::Needed).unwrap();
            let reference = conv2d_candle(&x, &w, Some(&bias), padding, stride).unwrap();
            let max_diff = |a: &Tensor, b: &Tensor| {
                (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
            };
            assert!(max_diff(&fast, &reference) < 1e-4, "output, batch {batch}");

            // A fixed random output gradient, so every position matters differently.
            let probe = uniform(fast.dims());
            let fast_grads = (&fast * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            let reference_grads = (&reference * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, var) in [("input", &x), ("weight", &w), ("bias", &bias)] {
                let (f, r) = (fast_grads.get(var).unwrap(), reference_grads.get(var).unwrap());
                // Sums over hundreds of thousands of positions: compare relative to their size.
                let scale = r.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap().max(1.0);
                assert!(max_diff(f, r) / scale < 1e-4, "{name} gradient, batch {batch}");
            }
        }
    }

    #[test]
    fn f64_falls_back_to_candle_and_still_trains() {
        let dev = Device::Cpu;
        let x = Tensor::ones((1, 1, 4, 4), DType::F64, &dev).unwrap();
        let w = Var::ones((2, 1, 3, 3), DType::F64, &dev).unwrap();
        let y = conv2d_fast(&x, &w, None, 1, 1, InputGrad::Skip).unwrap();
        assert_eq!(y.dims(), [1, 2, 4, 4]);
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&w).is_some());
    }
}
