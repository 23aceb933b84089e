//! Max-pooling and ReLU fused into one custom op that remembers where each maximum was.
//!
//! LeNet follows each convolution with `max_pool2d(2)` and `relu`. In candle these are two ops, and
//! the max-pool's backward pass is built from seven full-size tensor operations (upsample the
//! output, compare with the input to find the maxima, average-pool the mask to count ties, multiply,
//! upsample the gradient, multiply by the mask) plus two more for the ReLU's backward pass.
//!
//! Two facts make one op enough:
//!
//! * **ReLU commutes with max**: `relu(max(a,b,c,d)) = max(relu(a),…)`, since ReLU never changes
//!   the order of numbers. So the op takes the window's maximum and clamps it at zero.
//! * **The gradient of a max is a switch**: the output's gradient goes entirely to the input that
//!   won, and nowhere else. If, while pooling, we write down *which* input won (its index in the
//!   feature map), the backward pass is one scatter: `dx[winner] = dy`. Where the ReLU clamped the
//!   maximum to zero the gradient is zero, and the op records "no winner" instead.
//!
//! Ties (several equal maxima) go to the first one, as in PyTorch. They are common: MNIST's
//! background is one constant value, so conv1's output is constant there and every 2×2 window of
//! it is a four-way tie (see [`max_pool2d_candle`]).

use std::sync::OnceLock;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use crate::error::{Error, Result};
use crate::ops::storage::{dense_f32, fast_path_applies};
use crate::ops::threads;

/// `relu(max_pool2d_candle(x, window))` for `x: [B,C,H,W]`: non-overlapping `window × window`
/// windows (stride = window, rows and columns that do not fill a window are dropped, as in PyTorch),
/// giving `[B, C, H/window, W/window]`.
///
/// On the CPU with `f32` it is one custom op whose backward pass is a scatter; elsewhere it is
/// [`max_pool2d_relu_candle`].
pub fn max_pool2d_relu_fast(x: &Tensor, window: usize) -> Result<Tensor> {
    let geometry = PoolGeometry::new(x, window)?;
    if !fast_path_applies(&[x]) {
        return max_pool2d_relu_candle(x, window);
    }
    let op = MaxPoolRelu { geometry, winners: OnceLock::new() };
    Ok(x.contiguous()?.apply_op1(op)?)
}

/// The same computed with candle's generic tensor operations, on any device and dtype:
/// `relu(max_pool2d_candle(x))` with [`max_pool2d_candle`] below.
pub fn max_pool2d_relu_candle(x: &Tensor, window: usize) -> Result<Tensor> {
    PoolGeometry::new(x, window)?;
    Ok(max_pool2d_candle(x, window)?.relu()?)
}

/// Max-pooling by `window × window` windows with stride `window`, with PyTorch's gradient, on every
/// device.
///
/// Why not candle's own `x.max_pool2d(window)`? Its forward pass is right, but in candle 0.11.1 its
/// backward pass multiplies the gradient by (number of maxima in the window)/window² where it should send
/// it to one maximum: with 2×2 windows a gradient that flows back through a pooling layer to a unique
/// maximum is **4× too small**, and a tie spreads it over every tied element. Measured at
/// initialisation on 32 digits, conv2's gradient came out 4× too short and conv1's about 8× too
/// short and pointing elsewhere (cosine 0.67 with the right one) — which is why a candle LeNet
/// learned more slowly than PyTorch's. The gradient-parity test (`tests/parity.rs`) found it.
///
/// Ties matter too: MNIST's background is one constant value, so conv1's output is constant there
/// and every 2×2 window in it is a four-way tie. PyTorch sends the whole gradient to the *first*
/// maximum of the window; so do we, by picking it with `argmax` and reading it with `gather`, whose
/// gradient goes to the gathered element only.
pub fn max_pool2d_candle(x: &Tensor, window: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (oh, ow) = (h / window, w / window);
    // PyTorch floors: rows and columns that do not fill a window are dropped.
    let x = if oh * window != h || ow * window != w {
        x.narrow(2, 0, oh * window)?.narrow(3, 0, ow * window)?
    } else {
        x.clone()
    };
    // [B,C,OH,OW,window,window], then [B,C,OH,OW,window²]: each window's values, row by row, on the
    // last axis.
    let blocks = x.reshape((b, c, oh, window, ow, window))?.permute((0, 1, 2, 4, 3, 5))?;
    let windows = blocks.reshape((b, c, oh, ow, window * window))?;
    let first_max = windows.argmax_keepdim(4)?; // [B,C,OH,OW,1]
    Ok(windows.gather(&first_max, 4)?.squeeze(4)?)
}

/// The sizes of one pooling: input `[B,C,H,W]`, `window × window` windows, output `[B,C,OH,OW]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolGeometry {
    maps: usize,
    height: usize,
    width: usize,
    window: usize,
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
    batch: usize,
    channels: usize,
}

impl PoolGeometry {
    fn new(x: &Tensor, window: usize) -> Result<Self> {
        let dims = x.dims4().map_err(|_| {
            Error::Shape(format!("max_pool2d_relu: the input must be [B,C,H,W], got shape {:?}", x.dims()))
        })?;
        Self::from_dims(dims, window)
    }

    /// The pooling of a `[B,C,H,W]` input by `window × window` windows.
    pub(crate) fn from_dims(
        (batch, channels, height, width): (usize, usize, usize, usize),
        window: usize,
    ) -> Result<Self> {
        if window == 0 {
            return Err(Error::InvalidArgument(
                "max_pool2d_relu: the window size must be at least 1, got 0".into(),
            ));
        }
        if height < window || width < window {
            return Err(Error::Shape(format!(
                "max_pool2d_relu: a {window}×{window} window does not fit in a {height}×{width} feature map"
            )));
        }
        if height * width > CLAMPED as usize {
            return Err(Error::Shape(format!(
                "max_pool2d_relu: a {height}×{width} feature map is too large"
            )));
        }
        Ok(Self {
            maps: batch * channels,
            height,
            width,
            window,
            out_h: height / window,
            out_w: width / window,
            batch,
            channels,
        })
    }

    fn map_len(&self) -> usize {
        self.height * self.width
    }

    pub(crate) fn out_map_len(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Elements of the whole output `[B,C,OH,OW]`.
    pub(crate) fn output_len(&self) -> usize {
        self.maps * self.out_map_len()
    }
}

/// Set in a winner's position where the ReLU clamped the window's maximum to zero: its gradient goes
/// nowhere. The position is still one inside the window, so that the backward pass can write there
/// without asking first: a 0 into a gradient that is 0 anyway. (Which outputs are clamped is as
/// unpredictable as a coin flip, so an `if` per output would be a branch the processor mispredicts
/// half the time; measured on the training epoch, the two forms take the same time.)
pub(crate) const CLAMPED: u32 = 1 << 31;

/// `dx[winner[i]] = dy[i]` for the outputs of one feature map, `0` at a clamped window's position.
/// The windows do not overlap, so every position is written at most once.
#[inline]
pub(crate) fn scatter_to_winners(plane: &mut [f32], winners: &[u32], dy: &[f32]) {
    for (&at, &dy) in winners.iter().zip(dy) {
        plane[(at & !CLAMPED) as usize] = if at & CLAMPED == 0 { dy } else { 0.0 };
    }
}

/// The forward op. `winners[i]` is the position, inside its own feature map, of the input that
/// produced output `i` (with [`CLAMPED`] set where the ReLU clamped it); written once by `cpu_fwd`,
/// read by `bwd`.
struct MaxPoolRelu {
    geometry: PoolGeometry,
    winners: OnceLock<Vec<u32>>,
}

impl CustomOp1 for MaxPoolRelu {
    fn name(&self) -> &'static str {
        "lenet-max-pool2d-relu"
    }

    fn cpu_fwd(&self, x: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geometry;
        let x = dense_f32(x, layout, "max_pool2d_relu input")?;
        if x.len() != g.maps * g.map_len() {
            candle_core::bail!(
                "max_pool2d_relu: the input has {} elements, expected {}",
                x.len(),
                g.maps * g.map_len()
            );
        }
        let mut y = vec![0.0f32; g.maps * g.out_map_len()];
        let mut winners = vec![0u32; y.len()];
        threads::for_each_chunk_pair_mut(
            &mut y,
            g.out_map_len(),
            &mut winners,
            g.out_map_len(),
            |map, y, winners| pool_map(&x[map * g.map_len()..][..g.map_len()], &g, y, winners),
        );
        // A fresh op is made for every call, so this is the only write.
        let _ = self.winners.set(winners);
        Ok((CpuStorage::F32(y), Shape::from((g.batch, g.channels, g.out_h, g.out_w))))
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad_y: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let Some(winners) = self.winners.get() else {
            candle_core::bail!("max_pool2d_relu: backward pass without a forward pass on the CPU");
        };
        let scatter = MaxPoolReluGrad { geometry: self.geometry, winners };
        Ok(Some(grad_y.contiguous()?.apply_op1_no_bwd(&scatter)?))
    }
}

/// One feature map `plane` (`H×W`) pooled into `y` (`OH×OW`), with the position in `plane` of each
/// output's maximum in `winners` (with [`CLAMPED`] set where the ReLU clamped it to zero). Also the
/// epilogue of the fused convolution (`conv2d_max_pool2d_relu_fast`).
pub(crate) fn pool_map(plane: &[f32], g: &PoolGeometry, y: &mut [f32], winners: &mut [u32]) {
    if g.window == 2 {
        pool_map_2x2(plane, g.width, g.out_w, y, winners);
        return;
    }
    for oy in 0..g.out_h {
        let y_row = &mut y[oy * g.out_w..][..g.out_w];
        let winners_row = &mut winners[oy * g.out_w..][..g.out_w];
        for (ox, (y, winner)) in y_row.iter_mut().zip(winners_row).enumerate() {
            let top_left = oy * g.window * g.width + ox * g.window;
            let (best, best_at) = window_max(plane, top_left, g.width, g.window);
            // relu: a non-positive maximum becomes 0 and passes no gradient back.
            (*y, *winner) = if best > 0.0 { (best, best_at as u32) } else { (0.0, best_at as u32 | CLAMPED) };
        }
    }
}

/// The largest value of the `window × window` window whose top-left pixel is `top_left` in a
/// feature map `width` wide, and where it is; the first of equal maxima wins.
fn window_max(plane: &[f32], top_left: usize, width: usize, window: usize) -> (f32, usize) {
    let (mut best, mut best_at) = (plane[top_left], top_left);
    for dy in 0..window {
        let row = top_left + dy * width;
        for (dx, &v) in plane[row..row + window].iter().enumerate() {
            if v > best {
                (best, best_at) = (v, row + dx);
            }
        }
    }
    (best, best_at)
}

/// One feature map `width` wide pooled by LeNet's 2×2 windows into `y` (`out_w` wide) and the
/// winners' positions, a pair of input rows at a time.
///
/// The general [`window_max`] loop took 8% of a fast training step, and a version with the four
/// values written out still 10–14% (with `x86-v4`): its `if`s are branches the processor cannot
/// predict (which of four pixels wins is random), and every index is bounds-checked. Here the rows
/// come as slices the compiler knows the length of, and each comparison is a select (`cmov`), not a
/// jump; the first of equal maxima still wins, since a later value replaces the best only if it is
/// strictly larger.
#[inline(always)]
fn pool_map_2x2(plane: &[f32], width: usize, out_w: usize, y: &mut [f32], winners: &mut [u32]) {
    if crate::ops::pool_avx512::pool_map_2x2(plane, width, out_w, y, winners) {
        return;
    }
    pool_map_2x2_scalar(plane, width, out_w, y, winners);
}

/// [`pool_map_2x2`] one window at a time: the loop for CPUs without AVX-512, and the reference the
/// AVX-512 version (`pool_avx512.rs`) is tested against.
fn pool_map_2x2_scalar(plane: &[f32], width: usize, out_w: usize, y: &mut [f32], winners: &mut [u32]) {
    let rows = plane.chunks_exact(2 * width);
    for (oy, ((pair, y_row), winners_row)) in
        rows.zip(y.chunks_exact_mut(out_w)).zip(winners.chunks_exact_mut(out_w)).enumerate()
    {
        let (top, bottom) = (&pair[..2 * out_w], &pair[width..width + 2 * out_w]);
        let row_start = (2 * oy * width) as u32;
        let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        for (ox, ((t, b), (y, winner))) in
            windows.zip(y_row.iter_mut().zip(winners_row.iter_mut())).enumerate()
        {
            let at = row_start + 2 * ox as u32;
            let (mut best, mut best_at) = (t[0], at);
            (best, best_at) = if t[1] > best { (t[1], at + 1) } else { (best, best_at) };
            (best, best_at) = if b[0] > best { (b[0], at + width as u32) } else { (best, best_at) };
            (best, best_at) = if b[1] > best { (b[1], at + width as u32 + 1) } else { (best, best_at) };
            // relu: a non-positive maximum becomes 0 and passes no gradient back.
            let positive = best > 0.0;
            *y = if positive { best } else { 0.0 };
            *winner = if positive { best_at } else { best_at | CLAMPED };
        }
    }
}

/// The backward op: `dx[winner[i]] = dy[i]`, zero everywhere else.
struct MaxPoolReluGrad<'a> {
    geometry: PoolGeometry,
    winners: &'a [u32],
}

impl CustomOp1 for MaxPoolReluGrad<'_> {
    fn name(&self) -> &'static str {
        "lenet-max-pool2d-relu-grad"
    }

    fn cpu_fwd(&self, grad_y: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geometry;
        let grad_y = dense_f32(grad_y, layout, "max_pool2d_relu output gradient")?;
        if grad_y.len() != self.winners.len() {
            candle_core::bail!(
                "max_pool2d_relu: the gradient has {} elements, expected {}",
                grad_y.len(),
                self.winners.len()
            );
        }
        let mut grad_x = vec![0.0f32; g.maps * g.map_len()];
        threads::for_each_chunk_mut(&mut grad_x, g.map_len(), |map, plane| {
            let range = map * g.out_map_len()..(map + 1) * g.out_map_len();
            scatter_to_winners(plane, &self.winners[range.clone()], &grad_y[range]);
        });
        Ok((CpuStorage::F32(grad_x), Shape::from((g.batch, g.channels, g.height, g.width))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    #[test]
    fn pools_clamps_and_routes_the_gradient_to_the_winner() {
        // One 2×4 map: windows [1,-2;5,3] and [-1,-4;-3,-2]. The first maximum is 5 (bottom-left);
        // the second window's maximum is negative, so ReLU makes it 0 and it passes no gradient.
        let x =
            Var::from_vec(vec![1f32, -2., -1., -4., 5., 3., -3., -2.], (1, 1, 2, 4), &Device::Cpu).unwrap();
        let y = max_pool2d_relu_fast(&x, 2).unwrap();
        assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), [5.0, 0.0]);
        let weights = Tensor::new(&[[[[10f32, 20.]]]], &Device::Cpu).unwrap();
        let grads = (y * weights).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = grads.get(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn odd_sizes_drop_the_last_row_and_column_like_candle() {
        // Compared with candle's own max_pool2d, whose forward pass is right for these sizes.
        let values: Vec<f32> = (0..2 * 3 * 5 * 7).map(|i| ((i * 37 % 23) as f32) - 11.0).collect();
        let x = Tensor::from_vec(values, (2, 3, 5, 7), &Device::Cpu).unwrap();
        let builtin = x.max_pool2d(2).unwrap().relu().unwrap();
        for ours in [max_pool2d_relu_fast(&x, 2).unwrap(), max_pool2d_relu_candle(&x, 2).unwrap()] {
            assert_eq!(ours.dims(), [2, 3, 2, 3]);
            let diff =
                (ours - &builtin).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(diff, 0.0);
        }
    }

    #[test]
    fn the_avx512_pooling_gives_the_scalar_loops_values_and_winners() {
        // Random maps with many ties (values from a small set) and NaNs, in widths that leave partial
        // registers (out_w 1 … 20, odd widths whose last column is dropped), LeNet's 24 and 8.
        let mut s = 12345u32;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        };
        let mut checked = 0;
        for width in [2, 3, 5, 8, 9, 24, 31, 32, 33, 40, 41] {
            for height in [2, 3, 6, 24] {
                let plane: Vec<f32> = (0..width * height)
                    .map(|_| match next() % 23 {
                        0 => f32::NAN,
                        1 => -0.0,
                        v => (v as f32 - 11.0) * 0.5,
                    })
                    .collect();
                let (out_w, out_h) = (width / 2, height / 2);
                let (mut y, mut winners) = (vec![7.0; out_w * out_h], vec![7; out_w * out_h]);
                let (mut y_ref, mut winners_ref) = (y.clone(), winners.clone());
                if !crate::ops::pool_avx512::pool_map_2x2(&plane, width, out_w, &mut y, &mut winners) {
                    crate::test_util::skip_or_fail("no AVX-512 on this CPU: nothing to compare");
                    return;
                }
                pool_map_2x2_scalar(&plane, width, out_w, &mut y_ref, &mut winners_ref);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&y), bits(&y_ref), "values, {height}×{width}");
                assert_eq!(winners, winners_ref, "winners, {height}×{width}");
                checked += 1;
            }
        }
        assert_eq!(checked, 44);
    }

    #[test]
    fn bad_windows_are_clear_errors() {
        let x = Tensor::zeros((1, 1, 3, 3), DType::F32, &Device::Cpu).unwrap();
        let err = max_pool2d_relu_fast(&x, 4).unwrap_err().to_string();
        assert!(err.contains("does not fit in a 3×3"), "{err}");
        let err = max_pool2d_relu_fast(&x, 0).unwrap_err().to_string();
        assert!(err.contains("at least 1"), "{err}");
    }
}
