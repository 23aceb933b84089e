//! The forward pass: im2col of a group of images, one GEMM, and the product copied out into the
//! network's layout with the bias added (or, for the fused op, pooled and clamped).

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
                // [K, C·FH·FW] · colsᵀ [C·FH·FW, b·OH·OW] = [K, b·OH·OW].
                gemm_into(
                    &mut product,
                    MatRef::row_major(weight, g.out_channels, patch),
                    cols_matrix(cols, &g, columns).t(),
                )?;
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
