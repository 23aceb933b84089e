//! The weight gradient, `dW = G · cols`, summed over the groups of images in group order.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};

use super::groups::{cols_stride, group_columns, group_geometry, images_per_group};
use crate::error::Result;
use crate::ops::gemm::{MatRef, gemm_into};
use crate::ops::im2col::{ConvGeometry, im2col_rows};
use crate::ops::scratch::Scratch;
use crate::ops::storage::dense_f32;
use crate::ops::threads;

/// `dW = G · cols`: inputs `x: [B,C,H,W]` and `G: [K,B,OH,OW]`, output `[K,C,FH,FW]`.
///
/// Uses the forward pass's columns when it kept them, and builds them again from `x` otherwise.
pub(super) struct Conv2dWeightGrad<'a> {
    pub(super) geometry: ConvGeometry,
    pub(super) kept_cols: Option<&'a [f32]>,
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
