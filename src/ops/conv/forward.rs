//! The forward pass: im2col of a group of images, one GEMM, and the product copied out into the
//! network's layout with the bias added (or, for the fused op, pooled and clamped). conv1 skips the
//! im2col and the GEMM: it is computed directly (`direct.rs`).
//!
//! **Which way round the GEMM runs.** The product the copy-out wants is channel by channel,
//! `[K, b·OH·OW]` (one feature map after another). Asked for that, the `gemm` crate first copies
//! ("packs") all of `cols`, 250 values per output position for conv2, into the layout its
//! microkernel reads, because it walks the long dimension (the positions) down a register and needs
//! it contiguous. Asked instead for the product position by position, `cols · Wᵀ = [b·OH·OW, K]`, it
//! walks the short dimension (the 20 channels) down a register, packs only the small `W`, and reads
//! `cols` where im2col wrote it. A 20 × 1024 transpose then gives the channel-by-channel layout.
//! Measured on the inference pass (batch 1000, one thread, Intel Xeon with AVX-512), packing was 23 %
//! of the pass's samples, 62 % of conv2's GEMM; without it the pass took 10–15 % less. Each product is the
//! same sum in the same order (one fused multiply-add per tap, in tap order) either way round, so the
//! bits do not change; a test below checks it.

use candle_core::Shape;

use super::groups::{cols_matrix, cols_stride, group_geometry, images_per_group};
use super::{Conv2dForward, direct, lock};
use crate::error::{Error, Result};
use crate::ops::gemm::{MatRef, gemm_into};
use crate::ops::im2col::im2col_rows;
use crate::ops::pool::pool_map;
use crate::ops::scratch::Scratch;
use crate::ops::threads;

/// Largest im2col matrix the forward pass keeps for the backward pass: 16 MiB.
///
/// The weight gradient needs the same columns as the forward pass. Keeping them saves a second
/// im2col per layer in the backward pass (measured when im2col was still slow: a tenth of a LeNet
/// training step; now a few percent), but the op holds them until backward runs or the graph is
/// dropped — and an evaluation batch never runs backward. 16 MiB keeps LeNet's training batches
/// (3.7 MiB for conv1 and 4 MiB for conv2 at B = 64) and lets an evaluation batch of 1000 (57.6 and
/// 64 MB, 54.9 and 61.0 MiB) recompute instead of holding on to memory it will never use.
pub(super) const KEEP_COLS_MAX_BYTES: usize = 16 << 20;

impl Conv2dForward {
    /// `y[b,k,p] = Σ_r W[k,r]·cols[b·P + p, r] + bias[k]`, a group of images at a time.
    pub(super) fn forward(&self, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Result<Vec<f32>> {
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
            let x_group = &x[first * image_len..][..part.batch * image_len];
            let columns = part.columns();
            let mut product = Scratch::take(g.out_channels * columns);
            if self.direct {
                direct::convolve(x_group, &part, weight, &mut product, columns);
            } else {
                im2col_rows(x_group, &part, cols, stride)?;
                // cols [b·OH·OW, C·FH·FW] · Wᵀ [C·FH·FW, K] = the product position by position,
                // [b·OH·OW, K], which the GEMM computes without packing `cols` (see the module
                // docs); then transposed into [K, b·OH·OW].
                let mut by_position = Scratch::take(columns * g.out_channels);
                gemm_into(
                    &mut by_position,
                    cols_matrix(cols, &g, columns),
                    MatRef::row_major(weight, g.out_channels, patch).t(),
                )?;
                transpose_into(&mut product, &by_position, columns, g.out_channels);
            }

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
        if self.direct {
            // No columns to build or keep (the weight gradient builds its own).
            threads::try_for_each_chunk_mut(&mut y, y_per_group, |i, y_group| {
                convolve_group(i, y_group, &mut [])
            })?;
        } else if g.columns() * stride * size_of::<f32>() <= KEEP_COLS_MAX_BYTES {
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

    pub(super) fn output_shape(&self) -> Shape {
        let g = self.geometry;
        match &self.pool {
            Some(pool) => Shape::from((g.batch, g.out_channels, pool.geometry.out_h, pool.geometry.out_w)),
            None => Shape::from((g.batch, g.out_channels, g.out_h, g.out_w)),
        }
    }
}

/// `to[k·rows + j] = from[j·cols + k]`: the `[rows, cols]` matrix `from` transposed into `to`.
fn transpose_into(to: &mut [f32], from: &[f32], rows: usize, cols: usize) {
    for (k, to_row) in to.chunks_exact_mut(rows).take(cols).enumerate() {
        for (t, from_row) in to_row.iter_mut().zip(from.chunks_exact(cols)) {
            *t = from_row[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::mixed_values;

    #[test]
    fn the_product_by_position_gives_the_same_bits_as_the_product_by_channel() {
        // (K, C·FH·FW, row stride, columns): LeNet's conv2 for a group of 16 images and a last
        // group of 7, conv1's shape, and a deep odd one.
        for (k, patch, stride, columns) in
            [(20, 250, 256, 1024), (20, 250, 256, 448), (10, 25, 32, 9216), (7, 300, 304, 33)]
        {
            let weight = mixed_values(k * patch, k as u32, 3.1);
            let cols = mixed_values(columns * stride, patch as u32, 3.1);
            let cols = MatRef { data: &cols, rows: columns, cols: patch, row_stride: stride, col_stride: 1 };
            let mut by_channel = vec![0.0; k * columns];
            gemm_into(&mut by_channel, MatRef::row_major(&weight, k, patch), cols.t()).unwrap();
            let mut by_position = vec![0.0; columns * k];
            gemm_into(&mut by_position, cols, MatRef::row_major(&weight, k, patch).t()).unwrap();
            let mut transposed = vec![f32::NAN; k * columns];
            transpose_into(&mut transposed, &by_position, columns, k);
            let differ =
                by_channel.iter().zip(&transposed).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(differ, 0, "K {k}, patch {patch}, {columns} columns: {differ} values differ");
        }
    }
}
