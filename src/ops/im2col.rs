//! im2col and col2im: turning a convolution into one matrix product, and back.
//!
//! A convolution slides a `C×FH×FW` kernel over the image and, at each of the `OH×OW` output
//! positions, takes the dot product of the kernel with the patch of the input under it. Written
//! that way it is six nested loops, and a CPU spends most of its time on loop bookkeeping.
//!
//! **im2col** ("image to columns") copies every patch into a matrix first, one patch per row:
//!
//! ```text
//!   x: [B,C,H,W]  ──im2col──▶  cols: [B·OH·OW, C·FH·FW]     row j = the patch under output
//!                                                           position j of the whole batch
//!   weight: [K,C,FH,FW] viewed as [K, C·FH·FW]               row k = kernel k, flattened
//!
//!   weight · colsᵀ = [K, B·OH·OW]  ──reorder──▶  y: [B,K,OH,OW]
//! ```
//!
//! Entry `(k, j)` of the product is the dot product of kernel `k` with patch `j`: exactly the
//! convolution's output. Now the convolution is a single GEMM (general matrix multiply), the most
//! optimised routine in numerical computing: it keeps blocks of both matrices in cache and registers
//! and runs the SIMD units at full speed. The copy costs memory — each input pixel appears up to
//! `FH·FW` times — but for LeNet's small images that is a few megabytes, and the GEMM more than pays
//! for it.
//!
//! Why many images per GEMM rather than one per image? `conv2`'s output is only 8×8, so a
//! per-image product is `[20,250]·[250,64]`: too small for the GEMM to reach speed, and paid
//! B times over in call and packing overhead. Putting B images side by side gives one
//! `[20,250]·[250,64·B]` product, large enough to block well. Measured here (batch 64, one thread):
//! 3.6 ms for 64 per-image products, 1.9 ms for one product. The convolution ops stop at groups of
//! about 16 images (1 MiB of columns), which fit in the cache; see `ops::conv`.
//!
//! Why one patch per *row* (Caffe's classic layout has one per column)? Both hold the same numbers,
//! and the GEMM reads either through strides, but it runs fastest when each patch is contiguous:
//! the same product took 3.8 ms with patches as columns and 1.9 ms with patches as rows. Measure
//! layouts; do not guess them.
//!
//! **col2im** is the adjoint of im2col, used by the backward pass: the gradient arrives for every
//! entry of `cols`, and since each entry was a copy of one input pixel (or of the zero padding),
//! the pixel's gradient is the *sum* over all its copies. col2im adds each entry back onto the
//! pixel it came from.

use crate::error::{Error, Result};
use crate::ops::threads;

/// The sizes that describe one convolution: input `[B,C,H,W]`, kernel `[K,C,FH,FW]`, zero padding
/// on every side, stride, and the output size `[B,K,OH,OW]` they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub padding: usize,
    pub stride: usize,
    /// `(H + 2·padding − FH) / stride + 1`, rounded down like PyTorch and candle.
    pub out_h: usize,
    /// `(W + 2·padding − FW) / stride + 1`.
    pub out_w: usize,
}

impl ConvGeometry {
    /// Checks that an input of dims `(B,C,H,W)` and a kernel of dims `(K,C,FH,FW)` fit together and
    /// works out the output size.
    pub fn new(
        input: (usize, usize, usize, usize),
        kernel: (usize, usize, usize, usize),
        padding: usize,
        stride: usize,
    ) -> Result<Self> {
        let (batch, in_channels, height, width) = input;
        let (out_channels, kernel_channels, kernel_h, kernel_w) = kernel;
        if stride == 0 {
            return Err(Error::InvalidArgument("convolution stride must be at least 1, got 0".into()));
        }
        if kernel_channels != in_channels {
            return Err(Error::Shape(format!(
                "the kernel [{out_channels},{kernel_channels},{kernel_h},{kernel_w}] has depth \
                 {kernel_channels} but the input [{batch},{in_channels},{height},{width}] has \
                 {in_channels} channels; they must be equal"
            )));
        }
        if kernel_h == 0 || kernel_w == 0 {
            return Err(Error::Shape(format!(
                "the kernel is {kernel_h}×{kernel_w}; it must be at least 1×1"
            )));
        }
        if height + 2 * padding < kernel_h || width + 2 * padding < kernel_w {
            return Err(Error::Shape(format!(
                "the {kernel_h}×{kernel_w} kernel does not fit in the {height}×{width} input padded by \
                 {padding}; use a smaller kernel or more padding"
            )));
        }
        Ok(Self {
            batch,
            in_channels,
            height,
            width,
            out_channels,
            kernel_h,
            kernel_w,
            padding,
            stride,
            out_h: (height + 2 * padding - kernel_h) / stride + 1,
            out_w: (width + 2 * padding - kernel_w) / stride + 1,
        })
    }

    /// Length of one patch, the rows of the im2col matrix: `C·FH·FW`.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_h * self.kernel_w
    }

    /// Output positions per image: `OH·OW`.
    pub(crate) fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Columns of the im2col matrix, one per output position of the whole batch: `B·OH·OW`.
    pub fn columns(&self) -> usize {
        self.batch * self.positions()
    }

    /// Elements of the input `[B,C,H,W]`.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.height * self.width
    }

    /// Elements of the output `[B,K,OH,OW]`.
    pub(crate) fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.positions()
    }

    /// Elements of the kernel `[K,C,FH,FW]`.
    pub(crate) fn kernel_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// The kernel taps `lo..hi` (rows if `out` is an output row and `size` the height, columns if
    /// it is an output column and `size` the width) that land inside the image at output position
    /// `out`; the others read zero padding. Tap `f` reads input position `out·stride + f − padding`.
    fn valid_taps(&self, out: usize, kernel: usize, size: usize) -> (usize, usize) {
        let start = out * self.stride; // input position of tap 0, plus padding
        let lo = self.padding.saturating_sub(start).min(kernel);
        let hi = (size + self.padding).saturating_sub(start).min(kernel);
        (lo, hi.max(lo))
    }
}

fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Shape(format!("{what} has {got} elements, the convolution needs {expected}")))
    }
}

/// Fills `cols: [B·OH·OW, C·FH·FW]` (row-major) with the patches of `x: [B,C,H,W]` (contiguous).
///
/// Row `(b, oy, ox)` is the patch under that output position, in the kernel's own order
/// `(c, fy, fx)`: entry `(c, fy, fx)` is `x[b, c, oy·s + fy − p, ox·s + fx − p]`, or 0 in the
/// padding. Each image's rows are independent of the others', so images are filled in parallel.
pub fn im2col(x: &[f32], geometry: &ConvGeometry, cols: &mut [f32]) -> Result<()> {
    im2col_rows(x, geometry, cols, geometry.patch_len())
}

/// [`im2col`] with the rows of `cols` `row_stride ≥ C·FH·FW` values apart; the values between the
/// end of one patch and the start of the next are left as they were. (The convolution op pads
/// its rows to a multiple of 16, see `COLS_ROW_ALIGN` in `ops::conv`.)
pub(crate) fn im2col_rows(
    x: &[f32],
    geometry: &ConvGeometry,
    cols: &mut [f32],
    row_stride: usize,
) -> Result<()> {
    let g = *geometry;
    check_len("the input", x.len(), g.input_len())?;
    if row_stride < g.patch_len() {
        return Err(Error::Shape(format!(
            "im2col: rows {row_stride} apart cannot hold patches of {} values",
            g.patch_len()
        )));
    }
    check_len("the im2col matrix", cols.len(), g.columns() * row_stride)?;
    let (plane_len, patch) = (g.height * g.width, g.patch_len());
    let image_len = g.in_channels * plane_len;
    threads::for_each_chunk_mut(cols, g.positions() * row_stride, |b, image_rows| {
        let image = &x[b * image_len..][..image_len];
        if g.padding > 0 {
            // Taps that fall in the padding are skipped below and must read as zeros.
            image_rows.fill(0.0);
        }
        for (oy, output_row) in image_rows.chunks_exact_mut(g.out_w * row_stride).enumerate() {
            let (fy_lo, fy_hi) = g.valid_taps(oy, g.kernel_h, g.height);
            for (ox, row) in output_row.chunks_exact_mut(row_stride).enumerate() {
                let row = &mut row[..patch];
                let (fx_lo, fx_hi) = g.valid_taps(ox, g.kernel_w, g.width);
                if (fy_lo, fy_hi, fx_lo, fx_hi) == (0, g.kernel_h, 0, g.kernel_w) {
                    // The whole patch is inside the image: the common case, and the only one in LeNet.
                    let top_left = (oy * g.stride - g.padding) * g.width + ox * g.stride - g.padding;
                    match g.kernel_w {
                        5 => copy_patch::<5>(row, image, top_left, &g),
                        3 => copy_patch::<3>(row, image, top_left, &g),
                        _ => copy_patch_any_width(row, image, top_left, &g),
                    }
                    continue;
                }
                let run = fx_hi - fx_lo;
                if run == 0 || fy_lo == fy_hi {
                    continue; // the whole patch lies in the padding
                }
                // Input offset of tap (fy_lo, fx_lo); each further kernel row is one image row down.
                let first = (oy * g.stride + fy_lo - g.padding) * g.width + ox * g.stride + fx_lo - g.padding;
                for (plane, kernel_rows) in
                    image.chunks_exact(plane_len).zip(row.chunks_exact_mut(g.kernel_h * g.kernel_w))
                {
                    let taps = kernel_rows.chunks_exact_mut(g.kernel_w).skip(fy_lo).take(fy_hi - fy_lo);
                    for (i, taps) in taps.enumerate() {
                        // Taps fx_lo..fx_hi of one kernel row read neighbouring pixels of one input row.
                        let src = first + i * g.width;
                        taps[fx_lo..fx_hi].copy_from_slice(&plane[src..src + run]);
                    }
                }
            }
        }
    });
    Ok(())
}

/// The adjoint of [`im2col`]: adds every entry of `cols: [B·OH·OW, C·FH·FW]` onto the pixel of
/// `dx: [B,C,H,W]` it was copied from; entries that came from the padding are dropped.
///
/// The contributions are *added* to `dx`, which the caller zeroes first (a freshly allocated
/// `vec![0.0; n]` already is). Each image's gradient comes only from its own rows, so images are
/// filled in parallel, and every pixel sums its contributions in the same order whatever the
/// thread count.
pub(crate) fn col2im(cols: &[f32], geometry: &ConvGeometry, dx: &mut [f32]) -> Result<()> {
    let g = *geometry;
    check_len("the im2col gradient", cols.len(), g.columns() * g.patch_len())?;
    check_len("the input gradient", dx.len(), g.input_len())?;
    let (plane_len, patch) = (g.height * g.width, g.patch_len());
    let image_rows_len = g.positions() * patch;
    threads::for_each_chunk_mut(dx, g.in_channels * plane_len, |b, image| {
        let image_rows = &cols[b * image_rows_len..][..image_rows_len];
        for (oy, output_row) in image_rows.chunks_exact(g.out_w * patch).enumerate() {
            let (fy_lo, fy_hi) = g.valid_taps(oy, g.kernel_h, g.height);
            for (ox, row) in output_row.chunks_exact(patch).enumerate() {
                let (fx_lo, fx_hi) = g.valid_taps(ox, g.kernel_w, g.width);
                if (fy_lo, fy_hi, fx_lo, fx_hi) == (0, g.kernel_h, 0, g.kernel_w) {
                    let top_left = (oy * g.stride - g.padding) * g.width + ox * g.stride - g.padding;
                    match g.kernel_w {
                        5 => add_patch::<5>(image, row, top_left, &g),
                        3 => add_patch::<3>(image, row, top_left, &g),
                        _ => add_patch_any_width(image, row, top_left, &g),
                    }
                    continue;
                }
                let run = fx_hi - fx_lo;
                if run == 0 || fy_lo == fy_hi {
                    continue; // the whole patch lies in the padding
                }
                let first = (oy * g.stride + fy_lo - g.padding) * g.width + ox * g.stride + fx_lo - g.padding;
                for (plane, kernel_rows) in
                    image.chunks_exact_mut(plane_len).zip(row.chunks_exact(g.kernel_h * g.kernel_w))
                {
                    let taps = kernel_rows.chunks_exact(g.kernel_w).skip(fy_lo).take(fy_hi - fy_lo);
                    for (i, taps) in taps.enumerate() {
                        let dst = first + i * g.width;
                        for (d, s) in plane[dst..dst + run].iter_mut().zip(&taps[fx_lo..fx_hi]) {
                            *d += *s;
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

/// Copies the patch whose top-left input pixel is `top_left` (an offset into each feature map of
/// `image`) into `row`, for a kernel `KW` pixels wide.
///
/// im2col copies one kernel row at a time: 5 pixels in LeNet, 400,000 times per batch of 64. A copy
/// whose length the compiler knows becomes a few register moves; one whose length it only learns at
/// run time becomes a call to `memcpy`, which for 5 floats costs more than the copy. So the usual
/// widths get their own compiled copy of this function (`KW` is a const generic parameter).
#[inline(always)]
fn copy_patch<const KW: usize>(row: &mut [f32], image: &[f32], top_left: usize, g: &ConvGeometry) {
    let plane_len = g.height * g.width;
    for (plane, kernel) in image.chunks_exact(plane_len).zip(row.chunks_exact_mut(g.kernel_h * KW)) {
        for (fy, taps) in kernel.chunks_exact_mut(KW).enumerate() {
            let src = top_left + fy * g.width;
            taps.copy_from_slice(&plane[src..src + KW]);
        }
    }
}

/// [`copy_patch`] for any kernel width.
fn copy_patch_any_width(row: &mut [f32], image: &[f32], top_left: usize, g: &ConvGeometry) {
    let (plane_len, kw) = (g.height * g.width, g.kernel_w);
    for (plane, kernel) in image.chunks_exact(plane_len).zip(row.chunks_exact_mut(g.kernel_h * kw)) {
        for (fy, taps) in kernel.chunks_exact_mut(kw).enumerate() {
            let src = top_left + fy * g.width;
            taps.copy_from_slice(&plane[src..src + kw]);
        }
    }
}

/// The adjoint of [`copy_patch`]: adds `row` onto the patch whose top-left input pixel is
/// `top_left`, with the kernel width `KW` known at compile time for the same reason.
#[inline(always)]
fn add_patch<const KW: usize>(image: &mut [f32], row: &[f32], top_left: usize, g: &ConvGeometry) {
    let plane_len = g.height * g.width;
    for (plane, kernel) in image.chunks_exact_mut(plane_len).zip(row.chunks_exact(g.kernel_h * KW)) {
        for (fy, taps) in kernel.chunks_exact(KW).enumerate() {
            let dst = top_left + fy * g.width;
            for (d, s) in plane[dst..dst + KW].iter_mut().zip(taps) {
                *d += *s;
            }
        }
    }
}

/// [`add_patch`] for any kernel width.
fn add_patch_any_width(image: &mut [f32], row: &[f32], top_left: usize, g: &ConvGeometry) {
    let (plane_len, kw) = (g.height * g.width, g.kernel_w);
    for (plane, kernel) in image.chunks_exact_mut(plane_len).zip(row.chunks_exact(g.kernel_h * kw)) {
        for (fy, taps) in kernel.chunks_exact(kw).enumerate() {
            let dst = top_left + fy * g.width;
            for (d, s) in plane[dst..dst + kw].iter_mut().zip(taps) {
                *d += *s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The convolution written as its definition, six loops, as the reference for im2col + GEMM.
    fn direct_conv(x: &[f32], w: &[f32], g: &ConvGeometry) -> Vec<f32> {
        let mut y = vec![0.0; g.output_len()];
        for b in 0..g.batch {
            for k in 0..g.out_channels {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let mut acc = 0.0;
                        for c in 0..g.in_channels {
                            for fy in 0..g.kernel_h {
                                for fx in 0..g.kernel_w {
                                    let iy = (oy * g.stride + fy) as isize - g.padding as isize;
                                    let ix = (ox * g.stride + fx) as isize - g.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= g.height as isize || ix >= g.width as isize {
                                        continue;
                                    }
                                    let xi = ((b * g.in_channels + c) * g.height + iy as usize) * g.width
                                        + ix as usize;
                                    let wi = ((k * g.in_channels + c) * g.kernel_h + fy) * g.kernel_w + fx;
                                    acc += x[xi] * w[wi];
                                }
                            }
                        }
                        y[((b * g.out_channels + k) * g.out_h + oy) * g.out_w + ox] = acc;
                    }
                }
            }
        }
        y
    }

    fn random(n: usize, rng: &mut crate::rng::TutorRng) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn weight_times_cols_is_the_convolution() {
        let mut rng = crate::rng::seeded(11);
        for (padding, stride) in [(0, 1), (1, 1), (2, 2), (1, 3)] {
            let g = ConvGeometry::new((2, 3, 7, 6), (4, 3, 3, 2), padding, stride).unwrap();
            let x = random(g.input_len(), &mut rng);
            let w = random(g.kernel_len(), &mut rng);
            let mut cols = vec![f32::NAN; g.columns() * g.patch_len()];
            im2col(&x, &g, &mut cols).unwrap();
            let expected = direct_conv(&x, &w, &g);
            for b in 0..g.batch {
                for k in 0..g.out_channels {
                    for p in 0..g.positions() {
                        let row = &cols[(b * g.positions() + p) * g.patch_len()..][..g.patch_len()];
                        let dot: f32 = row.iter().zip(&w[k * g.patch_len()..]).map(|(c, w)| c * w).sum();
                        let want = expected[(b * g.out_channels + k) * g.positions() + p];
                        assert!((dot - want).abs() < 1e-5, "p={padding} s={stride}: {dot} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for all x, c: the defining property of the adjoint,
        // and exactly what makes col2im the right backward pass.
        let mut rng = crate::rng::seeded(12);
        for (padding, stride) in [(0, 1), (2, 1), (1, 2), (0, 3), (2, 3)] {
            let g = ConvGeometry::new((2, 2, 6, 7), (1, 2, 3, 3), padding, stride).unwrap();
            let x = random(g.input_len(), &mut rng);
            let c = random(g.patch_len() * g.columns(), &mut rng);
            let mut cols = vec![0.0; c.len()];
            im2col(&x, &g, &mut cols).unwrap();
            let mut dx = vec![0.0; x.len()];
            col2im(&c, &g, &mut dx).unwrap();
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((lhs - rhs).abs() < 1e-4, "p={padding} s={stride}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn geometry_errors_say_what_is_wrong() {
        let err = ConvGeometry::new((1, 3, 8, 8), (4, 2, 3, 3), 0, 1).unwrap_err().to_string();
        assert!(err.contains("depth 2") && err.contains("3 channels"), "{err}");
        let err = ConvGeometry::new((1, 1, 4, 4), (1, 1, 5, 5), 0, 1).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{err}");
        let err = ConvGeometry::new((1, 1, 4, 4), (1, 1, 3, 3), 0, 0).unwrap_err().to_string();
        assert!(err.contains("stride"), "{err}");
        let err = im2col(&[0.0; 3], &ConvGeometry::new((1, 1, 4, 4), (1, 1, 3, 3), 0, 1).unwrap(), &mut [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("has 3 elements") && err.contains("needs 16"), "{err}");
    }

    #[test]
    fn lenet_sizes() {
        let conv1 = ConvGeometry::new((64, 1, 28, 28), (10, 1, 5, 5), 0, 1).unwrap();
        assert_eq!((conv1.out_h, conv1.out_w, conv1.patch_len(), conv1.columns()), (24, 24, 25, 64 * 576));
        let conv2 = ConvGeometry::new((64, 10, 12, 12), (20, 10, 5, 5), 0, 1).unwrap();
        assert_eq!((conv2.out_h, conv2.out_w, conv2.patch_len(), conv2.columns()), (8, 8, 250, 64 * 64));
    }
}
