//! Helpers shared by the crate's unit tests (compiled only for `cargo test`).

use candle_core::{Device, Tensor};
use rand::Rng;

use crate::rng::TutorRng;

/// A tensor of the given shape filled with values uniform in [-1, 1).
pub(crate) fn random_tensor(rng: &mut TutorRng, dims: &[usize]) -> Tensor {
    let count: usize = dims.iter().product();
    let data: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).unwrap()
}

/// The largest element-wise difference `max |a − b|` of two tensors of the same shape.
pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}
