//! conv1's forward pass computed directly, without im2col: the image's rows multiplied by each
//! kernel tap and added up, sixteen output pixels at a time.
//!
//! conv1 has **one input channel**, so each of its im2col rows is only 25 values (a 5×5 patch) and
//! its GEMM is `[10,25]·[25, B·576]`: ten output channels, a depth of 25. A GEMM that small spends
//! most of its time copying: im2col writes 25 copies of every pixel, and the GEMM packs them again
//! into its own layout before its microkernel multiplies anything. Computed directly, the same
//! product reads the image where it lies:
//!
//! ```text
//!   for each output row oy, for each run of 16 output columns ox..ox+16:
//!       acc[k] = 0                                   (one 16-lane register per output channel k)
//!       for each tap (fy, fx), in the patch's order:
//!           xs = x[oy+fy, ox+fx .. ox+fx+16]         (16 neighbouring pixels: one load)
//!           acc[k] = fma(xs, weight[k,fy,fx], acc[k])   for every k
//! ```
//!
//! Each output is the same sum as in the GEMM, in the same order: starting from zero, one fused
//! multiply-add per tap, tap by tap in the patch's order (that is how the `gemm` crate's microkernels
//! accumulate a product this shallow). So the direct convolution gives **the same bits** as im2col +
//! GEMM, and every trained number in the book stays what it was; `tests` below checks it.
//!
//! It needs fused multiply-adds (`mul_add` without an FMA instruction is a slow library call, and
//! one that rounds differently from a separate multiply and add): the functions are compiled for
//! AVX-512 and for AVX2 with FMA and picked when the CPU has them. Elsewhere — other CPUs, several
//! input channels, a stride — the op keeps im2col + GEMM.
//!
//! Only the forward pass: the weight gradient `dW = G·cols` is a reduction over every output
//! position, a job the GEMM does well; the backward pass builds conv1's columns itself (see
//! `backward_weight.rs`).

use crate::ops::im2col::ConvGeometry;

/// The SIMD instructions the direct convolution is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simd {
    /// 16 lanes of `f32`, 32 registers.
    Avx512,
    /// 8 lanes of `f32`, with FMA.
    Avx2,
}

fn simd() -> Option<Simd> {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            return Some(Simd::Avx512);
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Some(Simd::Avx2);
        }
    }
    None
}

/// Whether the direct convolution can compute this convolution on this CPU: one input channel,
/// stride 1, and FMA instructions.
pub(super) fn applies(g: &ConvGeometry) -> bool {
    g.in_channels == 1 && g.stride == 1 && simd().is_some()
}

/// Most output channels one pass over an output row keeps in registers.
const MAX_BLOCK: usize = 8;

/// `product[k·columns + b·OH·OW + oy·OW + ox] = Σ_{fy,fx} weight[k,fy,fx] · x[b, oy+fy−p, ox+fx−p]`
/// for the `g.batch` images of `x: [b,1,H,W]`: the same `[K, columns]` block as the GEMM's product
/// (`columns ≥ b·OH·OW`; the columns past the group's are left as they were).
///
/// The op calls it only where [`applies`] said yes, with sizes it has checked; anything else is a
/// bug in the op, so this asserts rather than returning an error nobody could act on.
pub(super) fn convolve(x: &[f32], g: &ConvGeometry, weight: &[f32], product: &mut [f32], columns: usize) {
    assert!(
        g.in_channels == 1 && g.stride == 1,
        "the direct convolution needs one input channel and stride 1"
    );
    assert!(x.len() == g.input_len() && weight.len() == g.kernel_len());
    assert!(columns >= g.columns() && product.len() >= g.out_channels * columns);
    match simd() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `simd()` saw the CPU features each function is compiled for.
        Some(Simd::Avx512) => unsafe { convolve_avx512(x, g, weight, product, columns) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Some(Simd::Avx2) => unsafe { convolve_avx2(x, g, weight, product, columns) },
        _ => unreachable!("the direct convolution runs only where `applies` found FMA instructions"),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn convolve_avx512(x: &[f32], g: &ConvGeometry, weight: &[f32], product: &mut [f32], columns: usize) {
    convolve_lanes::<16>(x, g, weight, product, columns);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn convolve_avx2(x: &[f32], g: &ConvGeometry, weight: &[f32], product: &mut [f32], columns: usize) {
    convolve_lanes::<8>(x, g, weight, product, columns);
}

/// [`convolve`] with `L` lanes per register: each image copied into a zero-bordered buffer whose
/// rows are long enough for whole registers, then the output channels in blocks of at most
/// [`MAX_BLOCK`] (as even as possible: 10 channels are two blocks of 5, not 8 and 2).
#[inline(always)]
fn convolve_lanes<const L: usize>(
    x: &[f32],
    g: &ConvGeometry,
    weight: &[f32],
    product: &mut [f32],
    columns: usize,
) {
    let (kh, kw, p) = (g.kernel_h, g.kernel_w, g.padding);
    // With stride 1, OW = W + 2p − FW + 1: a row of W + 2p values, rounded up for whole registers.
    let padded_w = g.out_w.next_multiple_of(L) + kw - 1;
    let mut padded = vec![0.0f32; padded_w * (g.height + 2 * p)];
    let blocks = g.out_channels.div_ceil(MAX_BLOCK);
    let per_block = g.out_channels.div_ceil(blocks);
    // Each block's kernels, tap-major: `taps[t·n + j]` is tap t of the block's channel j.
    let taps = kh * kw;
    let block_taps: Vec<Vec<f32>> = (0..g.out_channels)
        .step_by(per_block)
        .map(|first| {
            let n = per_block.min(g.out_channels - first);
            (0..taps * n).map(|i| weight[(first + i % n) * taps + i / n]).collect()
        })
        .collect();
    for (b, image) in x.chunks_exact(g.height * g.width).enumerate() {
        // The image with `p` zeros around it; the columns past `W + 2p` stay zero too (only lanes
        // whose outputs are dropped read them).
        for (y, row) in image.chunks_exact(g.width).enumerate() {
            padded[(y + p) * padded_w + p..][..g.width].copy_from_slice(row);
        }
        for (i, block_taps) in block_taps.iter().enumerate() {
            let (first, n) = (i * per_block, block_taps.len() / taps);
            let block = Block {
                padded: &padded,
                padded_w,
                taps: block_taps,
                g,
                first,
                at: b * g.positions(),
                columns,
            };
            match n {
                1 => block.rows::<1, L>(product),
                2 => block.rows::<2, L>(product),
                3 => block.rows::<3, L>(product),
                4 => block.rows::<4, L>(product),
                5 => block.rows::<5, L>(product),
                6 => block.rows::<6, L>(product),
                7 => block.rows::<7, L>(product),
                _ => block.rows::<MAX_BLOCK, L>(product),
            }
        }
    }
}

/// One image's padded copy and a block of output channels.
struct Block<'a> {
    padded: &'a [f32],
    padded_w: usize,
    /// The block's kernels, tap-major: `taps[t·N + j]` is tap t of the block's channel j.
    taps: &'a [f32],
    g: &'a ConvGeometry,
    /// The block's first output channel.
    first: usize,
    /// The image's first column in the product.
    at: usize,
    columns: usize,
}

impl Block<'_> {
    /// Every output row of the image for the block's `N` channels, `L` output columns at a time,
    /// with `N` registers of `L` lanes as accumulators.
    #[inline(always)]
    fn rows<const N: usize, const L: usize>(&self, product: &mut [f32]) {
        let g = self.g;
        let kw = g.kernel_w;
        for oy in 0..g.out_h {
            for ox in (0..g.out_w).step_by(L) {
                let mut acc = [[0.0f32; L]; N];
                for (fy, row_taps) in self.taps.chunks_exact(kw * N).enumerate() {
                    let row = &self.padded[(oy + fy) * self.padded_w + ox..][..kw - 1 + L];
                    for (fx, tap) in row_taps.chunks_exact(N).enumerate() {
                        let xs: &[f32; L] = row[fx..fx + L].try_into().expect("L values");
                        let tap: &[f32; N] = tap.try_into().expect("N weights");
                        for (acc, &w) in acc.iter_mut().zip(tap) {
                            for (a, &v) in acc.iter_mut().zip(xs) {
                                *a = v.mul_add(w, *a);
                            }
                        }
                    }
                }
                let valid = L.min(g.out_w - ox);
                for (j, acc) in acc.iter().enumerate() {
                    let to = (self.first + j) * self.columns + self.at + oy * g.out_w + ox;
                    product[to..to + valid].copy_from_slice(&acc[..valid]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gemm::{MatRef, gemm_into};
    use crate::ops::im2col::im2col;
    use crate::test_util::mixed_values;

    /// The product im2col + GEMM computes, `[K, B·OH·OW]`.
    fn im2col_gemm(x: &[f32], g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
        let mut cols = vec![0.0; g.columns() * g.patch_len()];
        im2col(x, g, &mut cols).unwrap();
        let mut product = vec![0.0; g.out_channels * g.columns()];
        gemm_into(
            &mut product,
            MatRef::row_major(weight, g.out_channels, g.patch_len()),
            MatRef::row_major(&cols, g.columns(), g.patch_len()).t(),
        )
        .unwrap();
        product
    }

    #[test]
    fn gives_the_same_bits_as_im2col_and_gemm() {
        if simd().is_none()
            && crate::test_util::skip_or_fail("no FMA on this CPU: the direct convolution never runs here")
        {
            return;
        }
        // LeNet's conv1, and sizes that leave partial registers, odd channel blocks and padding.
        let cases = [
            ((3, 1, 28, 28), (10, 1, 5, 5), 0),
            ((2, 1, 13, 21), (11, 1, 3, 3), 1),
            ((1, 1, 7, 40), (1, 1, 5, 2), 2),
            ((2, 1, 9, 9), (17, 1, 4, 4), 0),
        ];
        for (i, (input, kernel, padding)) in cases.into_iter().enumerate() {
            let g = ConvGeometry::new(input, kernel, padding, 1).unwrap();
            let x = mixed_values(g.input_len(), 2 * i as u32, 3.7);
            let weight = mixed_values(g.kernel_len(), 2 * i as u32 + 1, 3.7);
            let mut product = vec![f32::NAN; g.out_channels * g.columns()];
            convolve(&x, &g, &weight, &mut product, g.columns());
            let expected = im2col_gemm(&x, &g, &weight);
            let differ = product.iter().zip(&expected).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(differ, 0, "case {i} {g:?}: {differ} of {} values differ", expected.len());
        }
    }

    #[test]
    fn applies_only_to_one_channel_and_stride_one() {
        let two_channels = ConvGeometry::new((1, 2, 8, 8), (4, 2, 3, 3), 0, 1).unwrap();
        let strided = ConvGeometry::new((1, 1, 8, 8), (4, 1, 3, 3), 0, 2).unwrap();
        assert!(!applies(&two_channels) && !applies(&strided));
    }
}
