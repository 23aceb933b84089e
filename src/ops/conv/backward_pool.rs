//! The fused pooling's backward pass: the gradient of the pooled output sent to the maxima, which
//! gives `G`, the gradient of the convolution's output, in the layout the other two backward ops read.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

use crate::ops::im2col::ConvGeometry;
use crate::ops::pool::{PoolGeometry, scatter_to_winners};
use crate::ops::storage::dense_f32;
use crate::ops::threads;

/// The fused pooling's backward pass: the pooled output's gradient `[B,K,OH/window,OW/window]` sent to
/// the maxima, into the convolution output's gradient laid out channel-major, `G = [K,B,OH,OW]`.
pub(super) struct PoolScatter<'a> {
    pub(super) conv: ConvGeometry,
    pub(super) pool: PoolGeometry,
    /// Per group of images, as the forward pass wrote them.
    pub(super) winners: &'a [Vec<u32>],
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
