//! Pooling by hand: the book's chapter "Pooling".
//!
//! Pooling shrinks an activation map without learning anything (the notes: 계산없이 사이즈를 줄이는 것,
//! "making it smaller without computation", i.e. down-sampling). A window slides over each activation map
//! as a kernel would, but instead of a dot product with learned weights it just summarises the values it
//! covers: their largest (max pooling, the usual choice and LeNet's), their mean, or their smallest. A
//! pooling layer has no parameters at all.
//!
//! Each channel is pooled on its own (the notes: 각 활성화 맵에서 독립적으로 작동), so `[C, H, W]` becomes
//! `[C, OH, OW]`: the number of activation maps does not change, only their size. The size follows the
//! convolution formula with no padding and the window as the kernel, `OH = ⌊(H − window) / S⌋ + 1`,
//! rounded down like PyTorch's default (`ceil_mode=False`). LeNet pools 2×2 windows with stride 2,
//! halving 24×24 maps to 12×12.
//!
//! As in [`crate::conv`], the code is plain loops over row-major `Vec<f32>`; the tests check it against
//! candle's `max_pool2d_with_stride` and `avg_pool2d_with_stride`.

use candle_core::Tensor;

use crate::args::{dims_of_rank, values};
use crate::conv::output_size_floor;
use crate::error::{Error, Result};

/// Max pooling: each output cell is the **largest** value in its `window × window` window, one channel
/// at a time. `input` `[C, H, W]` → `[C, OH, OW]` with `OH = ⌊(H − window) / stride⌋ + 1`.
///
/// It keeps the strongest response of each feature in each neighbourhood and forgets exactly where in the
/// window it was, which makes the next layer less sensitive to small shifts.
///
/// Errors: an input that is not `[C, H, W]` or a window larger than it ([`Error::Shape`]); a window or
/// stride of 0 ([`Error::InvalidArgument`]).
pub fn max_pool2d(input: &Tensor, window: usize, stride: usize) -> Result<Tensor> {
    pool("max_pool2d", input, window, stride, largest)
}

/// Average pooling: each output cell is the **mean** of its `window × window` window, one channel at a time.
/// Shapes and errors as in [`max_pool2d`].
pub fn avg_pool2d(input: &Tensor, window: usize, stride: usize) -> Result<Tensor> {
    pool("avg_pool2d", input, window, stride, mean)
}

/// Min pooling: each output cell is the **smallest** value in its `window × window` window, one channel at
/// a time. Shapes and errors as in [`max_pool2d`].
///
/// Libraries rarely provide it because it is max pooling in disguise: `min_pool2d(x) = −max_pool2d(−x)`
/// (negating turns the smallest value into the largest). The tests check exactly that.
pub fn min_pool2d(input: &Tensor, window: usize, stride: usize) -> Result<Tensor> {
    pool("min_pool2d", input, window, stride, smallest)
}

/// The largest of `values` (`-∞` for none).
fn largest(values: &[f32]) -> f32 {
    let mut best = f32::NEG_INFINITY;
    for &value in values {
        if value > best {
            best = value;
        }
    }
    best
}

/// The smallest of `values` (`+∞` for none).
fn smallest(values: &[f32]) -> f32 {
    let mut best = f32::INFINITY;
    for &value in values {
        if value < best {
            best = value;
        }
    }
    best
}

/// The mean of `values`.
fn mean(values: &[f32]) -> f32 {
    let mut total = 0.0f32;
    for &value in values {
        total += value;
    }
    total / values.len() as f32
}

/// The one pooling loop: for each channel and output cell, collect the window's values and `summarise`
/// them into one number. `function` names the caller in error messages.
fn pool(
    function: &str,
    input: &Tensor,
    window: usize,
    stride: usize,
    summarise: fn(&[f32]) -> f32,
) -> Result<Tensor> {
    let dims = dims_of_rank(
        input,
        3,
        &format!("{function}: the input must be [C, H, W] (channels, height, width)"),
        "for a batch [B, C, H, W] take one image with `input.get(i)?` (candle's Tensor::max_pool2d and \
         avg_pool2d pool whole batches)",
    )?;
    let (channels, height, width) = (dims[0], dims[1], dims[2]);
    if window == 0 {
        return Err(Error::InvalidArgument(format!(
            "{function}: the window must be at least 1×1, got 0 (LeNet uses 2)"
        )));
    }
    if stride == 0 {
        return Err(Error::InvalidArgument(format!(
            "{function}: the stride must be at least 1, got 0 (window {window}); with stride = window the \
             windows tile the input without overlapping"
        )));
    }
    if window > height || window > width {
        return Err(Error::Shape(format!(
            "{function}: the {window}×{window} window is larger than the {height}×{width} input \
             (shape {dims:?} = [C, H, W]); use a window of at most {}",
            height.min(width)
        )));
    }
    // The convolution formula with padding 0 and the window as the kernel.
    let out_h = output_size_floor(height, window, 0, stride)?;
    let out_w = output_size_floor(width, window, 0, stride)?;

    let image = values(input)?; // [C, H, W]
    let mut output = vec![0.0f32; channels * out_h * out_w]; // [C, OH, OW]
    let mut in_window = Vec::with_capacity(window * window);
    for c in 0..channels {
        // Each channel on its own: channel c of the output only ever reads channel c of the input.
        for oy in 0..out_h {
            for ox in 0..out_w {
                in_window.clear();
                for wy in 0..window {
                    for wx in 0..window {
                        let (y, x) = (oy * stride + wy, ox * stride + wx);
                        in_window.push(image[(c * height + y) * width + x]);
                    }
                }
                output[(c * out_h + oy) * out_w + ox] = summarise(&in_window);
            }
        }
    }
    Ok(Tensor::from_vec(output, (channels, out_h, out_w), input.device())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use crate::test_util::{max_abs_diff, random_tensor};
    use candle_core::Device;
    use rand::Rng;

    /// The example worked by hand in the book: one 4×4 map, 2×2 windows, stride 2.
    fn four_by_four() -> Tensor {
        Tensor::new(
            &[[[1f32, 3., 2., 1.], [4., 6., 5., 0.], [3., 1., 1., 0.], [1., 2., 3., 4.]]],
            &Device::Cpu,
        )
        .unwrap()
    }

    #[test]
    fn hand_worked_four_by_four() {
        // Windows: {1,3,4,6}  {2,1,5,0}
        //          {3,1,1,2}  {1,0,3,4}
        let x = four_by_four();
        let max = max_pool2d(&x, 2, 2).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(max, vec![vec![vec![6.0, 5.0], vec![3.0, 4.0]]]);
        let avg = avg_pool2d(&x, 2, 2).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(avg, vec![vec![vec![3.5, 2.0], vec![1.75, 2.0]]]);
        let min = min_pool2d(&x, 2, 2).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(min, vec![vec![vec![1.0, 0.0], vec![1.0, 0.0]]]);
        // Overlapping windows (3×3, stride 1): 4×4 → 2×2.
        let overlapping = max_pool2d(&x, 3, 1).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(overlapping, vec![vec![vec![6.0, 6.0], vec![6.0, 6.0]]]);
    }

    #[test]
    fn lenet_pooling_halves_the_maps_and_keeps_the_channels() {
        let mut rng = rng::seeded(5);
        let maps = random_tensor(&mut rng, &[10, 24, 24]);
        assert_eq!(max_pool2d(&maps, 2, 2).unwrap().dims(), &[10, 12, 12]);
        let maps = random_tensor(&mut rng, &[20, 8, 8]);
        assert_eq!(max_pool2d(&maps, 2, 2).unwrap().dims(), &[20, 4, 4]);
    }

    #[test]
    fn max_and_avg_match_candle_on_random_shapes() {
        let mut rng = rng::stream(7, rng::streams::EXPERIMENT);
        let mut checked = 0;
        while checked < 150 {
            let channels = rng.random_range(1..=4);
            let (height, width) = (rng.random_range(1..=10), rng.random_range(1..=10));
            let window = rng.random_range(1..=4);
            let stride = rng.random_range(1..=4);
            if window > height || window > width {
                continue;
            }
            let x = random_tensor(&mut rng, &[channels, height, width]);
            let batch = x.unsqueeze(0).unwrap(); // candle pools [B, C, H, W]
            let case = format!("C={channels} H={height} W={width} window={window} stride={stride}");

            let ours = max_pool2d(&x, window, stride).unwrap();
            let theirs = batch.max_pool2d_with_stride(window, stride).unwrap().squeeze(0).unwrap();
            assert_eq!(max_abs_diff(&ours, &theirs), 0.0, "max: {case}");

            let ours = avg_pool2d(&x, window, stride).unwrap();
            let theirs = batch.avg_pool2d_with_stride(window, stride).unwrap().squeeze(0).unwrap();
            let diff = max_abs_diff(&ours, &theirs);
            assert!(diff <= 1e-6, "avg: {case}: max abs diff {diff}");
            checked += 1;
        }
    }

    #[test]
    fn min_pooling_is_minus_max_pooling_of_minus_x() {
        let mut rng = rng::seeded(6);
        for (channels, height, width, window, stride) in [(1, 4, 4, 2, 2), (3, 7, 5, 3, 2), (2, 6, 9, 2, 1)] {
            let x = random_tensor(&mut rng, &[channels, height, width]);
            let min = min_pool2d(&x, window, stride).unwrap();
            let via_max = max_pool2d(&x.neg().unwrap(), window, stride).unwrap().neg().unwrap();
            assert_eq!(max_abs_diff(&min, &via_max), 0.0);
            // And it really is the minimum: never above the average.
            let avg = avg_pool2d(&x, window, stride).unwrap();
            let above = min.gt(&avg).unwrap().to_dtype(candle_core::DType::F32).unwrap();
            assert_eq!(above.sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
        }
    }

    #[test]
    fn channels_are_pooled_independently() {
        let mut rng = rng::seeded(8);
        let x = random_tensor(&mut rng, &[3, 6, 6]);
        let all = max_pool2d(&x, 2, 2).unwrap();
        for c in 0..3 {
            let alone = max_pool2d(&x.narrow(0, c, 1).unwrap(), 2, 2).unwrap();
            assert_eq!(max_abs_diff(&all.narrow(0, c, 1).unwrap(), &alone), 0.0, "channel {c}");
        }
    }

    #[test]
    fn bad_windows_strides_and_shapes_are_errors() {
        let x = four_by_four();
        match max_pool2d(&x, 0, 2) {
            Err(Error::InvalidArgument(message)) => assert!(message.contains("window must be at least 1×1")),
            other => panic!("expected an invalid argument, got {other:?}"),
        }
        match avg_pool2d(&x, 2, 0) {
            Err(Error::InvalidArgument(message)) => {
                assert!(message.contains("avg_pool2d: the stride must be at least 1"), "{message}")
            }
            other => panic!("expected an invalid argument, got {other:?}"),
        }
        match min_pool2d(&x, 5, 1) {
            Err(Error::Shape(message)) => {
                assert!(message.contains("5×5 window is larger than the 4×4 input"), "{message}")
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        match max_pool2d(&x.unsqueeze(0).unwrap(), 2, 2) {
            Err(Error::Shape(message)) => assert!(message.contains("rank 4"), "{message}"),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }
}
