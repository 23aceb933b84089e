//! The input gradient, `dx = col2im(Gᵀ · W)`, a group of images at a time. Not computed at all for
//! a layer whose input is data ([`InputGrad::Skip`](super::InputGrad::Skip)).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};

use super::groups::{group_columns, group_geometry, images_per_group};
use crate::error::Result;
use crate::ops::gemm::{MatRef, gemm_into};
use crate::ops::im2col::{ConvGeometry, col2im};
use crate::ops::scratch::Scratch;
use crate::ops::storage::dense_f32;
use crate::ops::threads;

/// `dx = col2im(Gᵀ · W)`: inputs `G: [K,B,OH,OW]` and `weight: [K,C,FH,FW]`, output `[B,C,H,W]`.
pub(super) struct Conv2dInputGrad {
    pub(super) geometry: ConvGeometry,
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
