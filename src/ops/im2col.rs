//! im2col and col2im: turning a convolution into one matrix product, and back.
//!
//! A convolution slides a `C×FH×FW` kernel over the image and, at each of the `OH×OW` output
//! positions, takes the dot product of the kernel with the patch of the input under it. Written
//! that way it is six nested loops, and a CPU spends most of its time on loop bookkeeping.
//!
//! **im2col** ("image to columns") copies every patch into a column of a matrix first:
//!
//! ```text
//!   x: [B,C,H,W]  ──im2col──▶  cols: [C·FH·FW, B·OH·OW]     one column per output position
//!                                                           of every image in the batch
//!   weight: [K,C,FH,FW] viewed as [K, C·FH·FW]               one row per output channel
//!
//!   weight · cols = [K, B·OH·OW]  ──reorder──▶  y: [B,K,OH,OW]
//! ```
//!
//! Now the convolution is a single GEMM (general matrix multiply), the most optimised routine in
//! numerical computing: it keeps blocks of both matrices in cache and registers and runs the SIMD
//! units at full speed. The copy costs memory — each input pixel appears up to `FH·FW` times — but
//! for LeNet's small images that is a few megabytes, and the GEMM more than pays for it.
//!
//! Why *one* GEMM for the whole batch rather than one per image? `conv2`'s output is only 8×8, so a
//! per-image product is `[20,250]·[250,64]`: too small for the GEMM to reach speed, and paid
//! B times over in call and packing overhead. Putting all B images side by side gives one
//! `[20,250]·[250,64·B]` product that is large enough to block well and to split across threads.
//!
//! **col2im** is the adjoint of im2col, used by the backward pass: the gradient arrives for every
//! entry of `cols`, and since each entry was a copy of one input pixel (or of the zero padding),
//! the pixel's gradient is the *sum* over all its copies. col2im adds each column entry back onto
//! the pixel it came from.

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
    pub fn positions(&self) -> usize {
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
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.positions()
    }

    /// Elements of the kernel `[K,C,FH,FW]`.
    pub fn kernel_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// The input row read by output row `oy` at kernel row `fy`, or `None` where it falls in the
    /// zero padding.
    fn input_row(&self, oy: usize, fy: usize) -> Option<usize> {
        (oy * self.stride + fy).checked_sub(self.padding).filter(|&iy| iy < self.height)
    }

    /// The output columns `ox_lo..ox_hi` whose input column `ox·stride + fx − padding` lies inside
    /// the image (the others read padding).
    fn valid_out_cols(&self, fx: usize) -> (usize, usize) {
        let s = self.stride;
        // ox·s + fx ≥ padding  ⇔  ox ≥ ⌈(padding − fx)/s⌉
        let lo = self.padding.saturating_sub(fx).div_ceil(s);
        // ox·s + fx < width + padding  ⇔  ox < ⌈(width + padding − fx)/s⌉
        let hi = (self.width + self.padding).saturating_sub(fx).div_ceil(s);
        let hi = hi.min(self.out_w);
        (lo.min(hi), hi)
    }
}

fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Shape(format!("{what} has {got} elements, the convolution needs {expected}")))
    }
}

/// Fills `cols: [C·FH·FW, B·OH·OW]` (row-major) with the patches of `x: [B,C,H,W]` (contiguous).
///
/// Row `(c, fy, fx)` holds, for every output position `(b, oy, ox)`, the input pixel that kernel
/// tap meets there: `x[b, c, oy·s + fy − p, ox·s + fx − p]`, or 0 in the padding. Rows are
/// independent, so they are filled in parallel.
pub fn im2col(x: &[f32], geometry: &ConvGeometry, cols: &mut [f32]) -> Result<()> {
    let g = *geometry;
    check_len("the input", x.len(), g.input_len())?;
    check_len("the im2col matrix", cols.len(), g.patch_len() * g.columns())?;
    let (plane_len, positions, taps) = (g.height * g.width, g.positions(), g.kernel_h * g.kernel_w);
    threads::for_each_chunk_mut(cols, g.columns(), |row, cols_row| {
        let (c, fy, fx) = (row / taps, (row % taps) / g.kernel_w, row % g.kernel_w);
        let (ox_lo, ox_hi) = g.valid_out_cols(fx);
        for (b, image_cols) in cols_row.chunks_exact_mut(positions).enumerate() {
            let plane = &x[(b * g.in_channels + c) * plane_len..][..plane_len];
            for (oy, dst) in image_cols.chunks_exact_mut(g.out_w).enumerate() {
                let Some(iy) = g.input_row(oy, fy) else {
                    dst.fill(0.0);
                    continue;
                };
                let src = &plane[iy * g.width..][..g.width];
                dst[..ox_lo].fill(0.0);
                dst[ox_hi..].fill(0.0);
                if ox_lo == ox_hi {
                    continue;
                }
                let ix_lo = ox_lo * g.stride + fx - g.padding;
                if g.stride == 1 {
                    // The common case: a run of neighbouring pixels, one memcpy.
                    dst[ox_lo..ox_hi].copy_from_slice(&src[ix_lo..ix_lo + (ox_hi - ox_lo)]);
                } else {
                    for (d, s) in dst[ox_lo..ox_hi].iter_mut().zip(src[ix_lo..].iter().step_by(g.stride)) {
                        *d = *s;
                    }
                }
            }
        }
    });
    Ok(())
}

/// The adjoint of [`im2col`]: adds every entry of `cols: [C·FH·FW, B·OH·OW]` onto the pixel of
/// `dx: [B,C,H,W]` it was copied from (entries that came from the padding are dropped).
///
/// `dx` is overwritten. Each feature map `(b, c)` gathers from its own `FH·FW` rows, so maps are
/// independent and filled in parallel, and every pixel sums its contributions in the same order
/// whatever the thread count.
pub fn col2im(cols: &[f32], geometry: &ConvGeometry, dx: &mut [f32]) -> Result<()> {
    let g = *geometry;
    check_len("the im2col gradient", cols.len(), g.patch_len() * g.columns())?;
    check_len("the input gradient", dx.len(), g.input_len())?;
    let (plane_len, positions, columns) = (g.height * g.width, g.positions(), g.columns());
    threads::for_each_chunk_mut(dx, plane_len, |map, plane| {
        let (b, c) = (map / g.in_channels, map % g.in_channels);
        plane.fill(0.0);
        for fy in 0..g.kernel_h {
            for fx in 0..g.kernel_w {
                let row = (c * g.kernel_h + fy) * g.kernel_w + fx;
                let image_cols = &cols[row * columns + b * positions..][..positions];
                let (ox_lo, ox_hi) = g.valid_out_cols(fx);
                if ox_lo == ox_hi {
                    continue;
                }
                let ix_lo = ox_lo * g.stride + fx - g.padding;
                for (oy, src) in image_cols.chunks_exact(g.out_w).enumerate() {
                    let Some(iy) = g.input_row(oy, fy) else { continue };
                    let dst = &mut plane[iy * g.width..][..g.width];
                    let src = &src[ox_lo..ox_hi];
                    if g.stride == 1 {
                        for (d, s) in dst[ix_lo..ix_lo + src.len()].iter_mut().zip(src) {
                            *d += *s;
                        }
                    } else {
                        for (d, s) in dst[ix_lo..].iter_mut().step_by(g.stride).zip(src) {
                            *d += *s;
                        }
                    }
                }
            }
        }
    });
    Ok(())
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
            let mut cols = vec![f32::NAN; g.patch_len() * g.columns()];
            im2col(&x, &g, &mut cols).unwrap();
            let expected = direct_conv(&x, &w, &g);
            for b in 0..g.batch {
                for k in 0..g.out_channels {
                    for p in 0..g.positions() {
                        let dot: f32 = (0..g.patch_len())
                            .map(|r| w[k * g.patch_len() + r] * cols[r * g.columns() + b * g.positions() + p])
                            .sum();
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
        for (padding, stride) in [(0, 1), (2, 1), (1, 2), (0, 3)] {
            let g = ConvGeometry::new((2, 2, 6, 7), (1, 2, 3, 3), padding, stride).unwrap();
            let x = random(g.input_len(), &mut rng);
            let c = random(g.patch_len() * g.columns(), &mut rng);
            let mut cols = vec![0.0; c.len()];
            im2col(&x, &g, &mut cols).unwrap();
            let mut dx = vec![f32::NAN; x.len()];
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
