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

/// `n` deterministic values of both signs and many magnitudes in (−scale/2, scale/2), from an
/// xorshift generator seeded by `seed`: inputs on which two ways of summing the same products would
/// round differently, for the tests that two ops give the same bits.
pub(crate) fn mixed_values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 - 0.5) * scale
        })
        .collect()
}

/// For a test that cannot run on this machine (a CPU without the instructions it checks): a line on
/// standard error and `true`, so the test returns; under CI (`CI=true`) a panic instead, since there
/// a skipped check would pass without checking anything.
pub(crate) fn skip_or_fail(why: &str) -> bool {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{why}, and CI=true: this check must run in CI");
    }
    eprintln!("skipped: {why}");
    true
}
