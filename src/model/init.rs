//! PyTorch's default initialisation, drawn from the crate's own seeded RNG.
//!
//! `nn.Conv2d` and `nn.Linear` start from `kaiming_uniform_(a=√5)`, which works out to a uniform
//! distribution on ±1/√fan_in for the weights, and the same bound for the biases (fan_in = inputs per
//! output: `in_channels·kh·kw` for a convolution, `in_features` for a linear layer). candle-nn's
//! defaults differ (and use candle's RNG, which cannot be seeded on the CPU), so a candle model built
//! with them does not start where the notes' PyTorch model starts. We draw the numbers ourselves.

use candle_core::{Device, Shape, Tensor, Var};
use rand::Rng;

use crate::error::Result;
use crate::rng::TutorRng;

/// A variable of `shape` filled with U(−bound, bound), `bound = 1/√fan_in`.
pub fn uniform_fan_in(
    shape: impl Into<Shape>,
    fan_in: usize,
    rng: &mut TutorRng,
    device: &Device,
) -> Result<Var> {
    let shape = shape.into();
    let bound = 1.0 / (fan_in as f32).sqrt();
    let values: Vec<f32> = (0..shape.elem_count()).map(|_| rng.random_range(-bound..bound)).collect();
    Ok(Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_within_the_fan_in_bound_and_fill_it() {
        let mut rng = crate::rng::seeded(0);
        let v = uniform_fan_in((50, 320), 320, &mut rng, &Device::Cpu).unwrap();
        let values = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let bound = 1.0 / 320f32.sqrt();
        assert!(values.iter().all(|x| x.abs() < bound));
        let max = values.iter().cloned().fold(f32::MIN, f32::max);
        let min = values.iter().cloned().fold(f32::MAX, f32::min);
        // 16,000 draws from U(−b, b) reach within 1% of both ends.
        assert!(max > 0.99 * bound && min < -0.99 * bound, "{min} {max}");
    }
}
