//! Convolution of a 1-D signal, by hand: the book's chapter "Convolution", section "One dimension:
//! a signal" (the notes: conv layers are used in signal processing and speech recognition too).
//!
//! A signal is a row of numbers `[L]` (one value per sample, a sound's pressure or a sensor's reading
//! over time), a kernel is a shorter row of weights `[F]`. Everything else is the 2-D convolution of
//! [`conv2d_single`](super::conv2d_single) with one dimension fewer: the kernel is not flipped
//! (cross-correlation, as in PyTorch and candle), padding `P` adds zeros at both ends, the kernel moves
//! `S` samples at a time, and the output has `(L + 2P − F) / S + 1` samples, rounded down as PyTorch
//! does ([`output_size_floor`]; check with [`output_size`](super::output_size) first if you want a
//! remainder to be an error).
//!
//! - [`conv1d`]: the convolution itself, one loop over output samples and one over the kernel;
//! - [`noisy_pulse`]: the chapter's test signal, generated from a seed;
//!
//! The figure of a signal and its filtered versions is drawn by
//! [`viz::signals_svg`](crate::viz::signals_svg) (figures add to the convolution, not the other way round).

use candle_core::{Device, Tensor};
use rand::Rng;

use super::size::output_size_floor;
use crate::args::{dims_of_rank, values};
use crate::error::{Error, Result};
use crate::rng;

/// The convolution of a 1-D `signal` `[L]` with one `kernel` `[F]`, with `padding` zeros added at
/// each end and the kernel moving `stride` samples at a time → `[OL]`, `OL = ⌊(L + 2P − F) / S⌋ + 1`.
///
/// Output sample `i` is the dot product of the kernel with the `F` samples of the padded signal that
/// start at `i·S`: `Σ_f kernel[f] · signal[i·S − P + f]`, where a sample outside the signal is a padding
/// zero and adds nothing.
///
/// Errors ([`Error::Shape`]): a signal that is not `[L]` or a kernel that is not `[F]`, a stride or
/// kernel length of 0, a kernel longer than the padded signal.
///
/// The result is `F32` on the signal's device; the arithmetic is done in `f32` on the CPU.
///
/// ```
/// use lenet_tutor::Tensor;
/// use lenet_tutor::conv::conv1d::conv1d;
///
/// # fn main() -> lenet_tutor::Result<()> {
/// let device = lenet_tutor::Device::Cpu;
/// let signal = Tensor::new(&[0f32, 0., 1., 1., 1., 0.], &device)?;
/// let difference = Tensor::new(&[-1f32, 0., 1.], &device)?; // next sample minus previous one
/// let edges = conv1d(&signal, &difference, 0, 1)?; // (6 + 0 − 3)/1 + 1 = 4 samples
/// assert_eq!(edges.to_vec1::<f32>()?, vec![1., 1., 0., -1.]);
/// # Ok(()) }
/// ```
pub fn conv1d(signal: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    let length = dims_of_rank(
        signal,
        1,
        "conv1d: the signal must be [L] (one row of samples)",
        "for one channel of a [C, L] signal take `signal.get(c)?`; for a [1, L] row use `signal.squeeze(0)?`",
    )?[0];
    let kernel_length = dims_of_rank(
        kernel,
        1,
        "conv1d: the kernel must be [F] (one row of weights)",
        "for one kernel of a [K, C, F] stack take `kernel.get(k)?.get(c)?`",
    )?[0];
    let out_length =
        output_size_floor(length, kernel_length, padding, stride).map_err(|error| match error {
            Error::Shape(message) => Error::Shape(format!("conv1d: signal length {length}: {message}")),
            other => other,
        })?;

    let samples = values(signal)?; // [L]
    let weights = values(kernel)?; // [F]
    let mut output = vec![0.0f32; out_length]; // [OL]
    for (i, out) in output.iter_mut().enumerate() {
        let mut dot = 0.0f32;
        for (f, &weight) in weights.iter().enumerate() {
            // Where weight f lands, counted in the *padded* signal.
            let padded = i * stride + f;
            // The padding is zeros: a weight over it adds 0 · weight = 0, so skip it.
            if padded < padding || padded - padding >= length {
                continue;
            }
            dot += samples[padded - padding] * weight;
        }
        *out = dot;
    }
    Ok(Tensor::from_vec(output, out_length, signal.device())?)
}

/// The chapter's test signal `[length]`: 0, then 1 from sample `rise` up to (not including) sample
/// `fall`, then 0 again, plus noise drawn uniformly from `[−noise, noise)` by
/// [`rng::seeded`]`(seed)`. The same seed gives the same signal on every machine.
///
/// A pulse has the two things a 1-D kernel is asked to find or remove: two sharp edges (one up, one
/// down) and the noise on top.
///
/// Errors ([`Error::InvalidArgument`]): `rise > fall`, `fall > length`, or a `noise` that is negative
/// or not finite.
pub fn noisy_pulse(
    length: usize,
    rise: usize,
    fall: usize,
    noise: f32,
    seed: u64,
    device: &Device,
) -> Result<Tensor> {
    if rise > fall || fall > length {
        return Err(Error::InvalidArgument(format!(
            "noisy_pulse: the pulse must lie inside the signal, rise ≤ fall ≤ length; got rise {rise}, \
             fall {fall}, length {length}"
        )));
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "noisy_pulse: the noise amplitude must be a finite number ≥ 0, got {noise}"
        )));
    }
    let mut rng = rng::seeded(seed);
    let samples: Vec<f32> = (0..length)
        .map(|t| {
            let clean = if (rise..fall).contains(&t) { 1.0 } else { 0.0 };
            // `random_range` panics on an empty range, so no noise means no draw at all.
            let jitter = if noise > 0.0 { rng.random_range(-noise..noise) } else { 0.0 };
            clean + jitter
        })
        .collect();
    Ok(Tensor::from_vec(samples, length, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, random_tensor};

    /// candle's own `conv1d` on the same numbers: input `[1, 1, L]`, kernel `[1, 1, F]`.
    fn candle_conv1d(signal: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Tensor {
        let input = signal.unsqueeze(0).unwrap().unsqueeze(0).unwrap();
        let kernel = kernel.unsqueeze(0).unwrap().unsqueeze(0).unwrap();
        input.conv1d(&kernel, padding, stride, 1, 1).unwrap().squeeze(0).unwrap().squeeze(0).unwrap()
    }

    fn shape_message(result: Result<Tensor>) -> String {
        match result {
            Err(Error::Shape(message)) => message,
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn matches_candle_for_every_padding_and_stride() {
        let mut rng = rng::seeded(7);
        for (length, kernel_length) in [(1, 1), (9, 3), (20, 5), (31, 4), (16, 16)] {
            let signal = random_tensor(&mut rng, &[length]);
            let kernel = random_tensor(&mut rng, &[kernel_length]);
            for padding in 0..3 {
                for stride in 1..4 {
                    let ours = conv1d(&signal, &kernel, padding, stride).unwrap();
                    let theirs = candle_conv1d(&signal, &kernel, padding, stride);
                    assert_eq!(
                        ours.dims(),
                        theirs.dims(),
                        "L {length}, F {kernel_length}, P {padding}, S {stride}"
                    );
                    assert!(
                        max_abs_diff(&ours, &theirs) < 1e-5,
                        "L {length}, F {kernel_length}, P {padding}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_kernel_is_not_flipped_and_padding_is_zeros() {
        let device = Device::Cpu;
        let signal = Tensor::new(&[1f32, 2., 3.], &device).unwrap();
        // [1, 0, 0] reads the sample on the *left* of the centre: a shift to the right.
        let left = Tensor::new(&[1f32, 0., 0.], &device).unwrap();
        assert_eq!(conv1d(&signal, &left, 1, 1).unwrap().to_vec1::<f32>().unwrap(), vec![0., 1., 2.]);
        // Padding 2 with a kernel of 1 only adds zeros at both ends.
        let one = Tensor::new(&[1f32], &device).unwrap();
        assert_eq!(
            conv1d(&signal, &one, 2, 1).unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 0., 1., 2., 3., 0., 0.]
        );
    }

    #[test]
    fn output_length_follows_the_formula_rounded_down() {
        let signal = Tensor::zeros(100, candle_core::DType::F32, &Device::Cpu).unwrap();
        let kernel = Tensor::ones(5, candle_core::DType::F32, &Device::Cpu).unwrap();
        assert_eq!(conv1d(&signal, &kernel, 0, 1).unwrap().dims(), &[96]); // (100 − 5)/1 + 1
        assert_eq!(conv1d(&signal, &kernel, 2, 1).unwrap().dims(), &[100]); // "same" padding
        assert_eq!(conv1d(&signal, &kernel, 0, 5).unwrap().dims(), &[20]); // (100 − 5)/5 + 1
        assert_eq!(conv1d(&signal, &kernel, 0, 2).unwrap().dims(), &[48]); // ⌊95/2⌋ + 1, as PyTorch
        assert!(crate::conv::output_size(100, 5, 0, 2).is_err()); // the strict rule refuses it
    }

    #[test]
    fn bad_shapes_are_errors_that_say_what_to_do() {
        let device = Device::Cpu;
        let row = Tensor::zeros((1, 10), candle_core::DType::F32, &device).unwrap();
        let kernel = Tensor::ones(3, candle_core::DType::F32, &device).unwrap();
        let message = shape_message(conv1d(&row, &kernel, 0, 1));
        assert!(message.contains("the signal must be [L]") && message.contains("[1, 10]"), "{message}");
        assert!(message.contains("squeeze(0)"), "{message}");
        let signal = Tensor::zeros(10, candle_core::DType::F32, &device).unwrap();
        let message = shape_message(conv1d(&signal, &kernel.unsqueeze(0).unwrap(), 0, 1));
        assert!(message.contains("the kernel must be [F]"), "{message}");
        let message = shape_message(conv1d(&signal, &kernel, 0, 0));
        assert!(message.starts_with("conv1d: signal length 10: stride must be at least 1"), "{message}");
        let long = Tensor::ones(13, candle_core::DType::F32, &device).unwrap();
        let message = shape_message(conv1d(&signal, &long, 1, 1));
        assert!(
            message.contains("kernel size 13 is larger than the padded input 10 + 2·1 = 12"),
            "{message}"
        );
        let empty = Tensor::zeros(0, candle_core::DType::F32, &device).unwrap();
        assert!(matches!(conv1d(&signal, &empty, 0, 1), Err(Error::Shape(_))));
    }

    #[test]
    fn the_pulse_is_reproducible_and_where_it_was_asked() {
        let device = Device::Cpu;
        let clean = noisy_pulse(10, 3, 6, 0.0, 1, &device).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(clean, vec![0., 0., 0., 1., 1., 1., 0., 0., 0., 0.]);
        let a = noisy_pulse(200, 50, 150, 0.2, 4, &device).unwrap().to_vec1::<f32>().unwrap();
        let b = noisy_pulse(200, 50, 150, 0.2, 4, &device).unwrap().to_vec1::<f32>().unwrap();
        let c = noisy_pulse(200, 50, 150, 0.2, 5, &device).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for (t, v) in a.iter().enumerate() {
            let clean = if (50..150).contains(&t) { 1.0 } else { 0.0 };
            assert!((v - clean).abs() <= 0.2, "sample {t}: {v}");
        }
        assert!(a.iter().any(|v| v.fract() != 0.0)); // there is noise
        for (rise, fall, length, noise) in
            [(5, 4, 10, 0.1), (2, 11, 10, 0.1), (2, 4, 10, -0.1), (2, 4, 10, f32::NAN)]
        {
            assert!(matches!(
                noisy_pulse(length, rise, fall, noise, 1, &device),
                Err(Error::InvalidArgument(_))
            ));
        }
    }
}
