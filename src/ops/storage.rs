//! Which tensors the custom ops can read, and reading them: CPU `f32` storage laid out densely.

use candle_core::{CpuStorage, DType, Layout, Tensor};

/// Whether the custom CPU ops can run on these tensors: all on the CPU, all `f32`.
pub(crate) fn fast_path_applies(tensors: &[&Tensor]) -> bool {
    tensors.iter().all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// The `f32` elements of a densely laid out tensor, or an error naming `what`.
#[inline]
pub(crate) fn dense_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{what}: expected a contiguous tensor (call .contiguous() first)"),
    }
}
