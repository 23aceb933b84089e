//! Channel-wise dropout, PyTorch's `nn.Dropout2d`.
//!
//! Element-wise dropout (candle-nn's `Dropout`) zeroes single activations. Neighbouring pixels of a
//! feature map are strongly correlated, so the next layer can still read a dropped pixel from its
//! neighbours and the regularisation is weak. `Dropout2d` zeroes whole feature maps instead: one
//! coin flip per (sample, channel), and the surviving maps are scaled by 1/(1−p) so that the
//! expected activation is the same in training and evaluation.

use std::sync::Mutex;

use candle_core::{D, Tensor};
use rand::Rng;

use crate::error::{Error, Result};
use crate::rng::TutorRng;

/// `nn.Dropout2d(p)`; the notes use the default `p = 0.5`.
#[derive(Debug)]
pub struct Dropout2d {
    p: f32,
    // The masks come from our own RNG (candle cannot seed its CPU RNG). A Mutex lets `forward_t`
    // take `&self` like a candle `Module` while still drawing numbers.
    rng: Mutex<TutorRng>,
}

impl Dropout2d {
    /// Dropout of whole channels with probability `p` (0 ≤ p < 1).
    pub fn new(p: f32, rng: TutorRng) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument(format!("dropout probability must be in [0, 1), got {p}")));
        }
        Ok(Self { p, rng: Mutex::new(rng) })
    }

    /// Replaces the mask generator, e.g. to restart it at the beginning of an epoch.
    pub(crate) fn reseed(&self, rng: TutorRng) {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = rng;
    }

    /// In training, zeroes each `[H,W]` map of `x: [B,C,H,W]` with probability `p` and scales the rest
    /// by 1/(1−p); in evaluation, returns `x` unchanged.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.p == 0.0 {
            return Ok(x.clone());
        }
        let (b, c, _h, _w) = x.dims4()?;
        let keep = 1.0 / (1.0 - self.p);
        let mask: Vec<f32> = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (0..b * c).map(|_| if rng.random::<f32>() < self.p { 0.0 } else { keep }).collect()
        };
        // [B,C,1,1], broadcast over each map's pixels.
        let mask = Tensor::from_vec(mask, (b, c, 1, 1), x.device())?.to_dtype(x.dtype())?;
        Ok(x.broadcast_mul(&mask)?)
    }
}

/// Fraction of `[H,W]` maps of `x: [B,C,H,W]` that are entirely zero (used by tests and the book).
pub fn zeroed_map_fraction(x: &Tensor) -> Result<f32> {
    let (b, c, _, _) = x.dims4()?;
    let per_map = x.abs()?.flatten_from(2)?.max(D::Minus1)?; // [B,C]
    let zero = per_map.eq(0f32)?.to_dtype(candle_core::DType::F32)?.sum_all()?.to_scalar::<f32>()?;
    Ok(zero / (b * c) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn drops_whole_channels_and_rescales_the_rest() {
        let drop = Dropout2d::new(0.5, crate::rng::seeded(3)).unwrap();
        let x = Tensor::ones((64, 20, 8, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = drop.forward_t(&x, true).unwrap();
        let values = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(values.iter().all(|&v| v == 0.0 || v == 2.0));
        // Every map is all-zero or all-two: the mask is per (sample, channel), not per pixel.
        let maps = y.flatten_from(2).unwrap();
        let min = maps.min(D::Minus1).unwrap();
        let max = maps.max(D::Minus1).unwrap();
        assert_eq!(min.to_vec2::<f32>().unwrap(), max.to_vec2::<f32>().unwrap());
        let frac = zeroed_map_fraction(&y).unwrap();
        assert!((0.4..0.6).contains(&frac), "dropped fraction {frac}");
    }

    #[test]
    fn evaluation_is_the_identity() {
        let drop = Dropout2d::new(0.5, crate::rng::seeded(3)).unwrap();
        let x = Tensor::arange(0f32, 32., &Device::Cpu).unwrap().reshape((2, 4, 2, 2)).unwrap();
        let y = drop.forward_t(&x, false).unwrap();
        assert_eq!(
            x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn rejects_a_probability_outside_zero_one() {
        let err = Dropout2d::new(1.0, crate::rng::seeded(0)).unwrap_err().to_string();
        assert!(err.contains("must be in [0, 1), got 1"), "{err}");
    }
}
