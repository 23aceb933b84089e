//! Exercises of chapter 5, "Pooling": global max pooling, what max pooling forgets, average pooling
//! written as a convolution, and the learning rate of a learned kernel.

use lenet_tutor::conv::{conv2d, kernels};
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::experiments::learn_kernel::learn_kernel;
use lenet_tutor::pool::{avg_pool2d, max_pool2d};
use lenet_tutor::{DType, Device, Error, Result, Tensor};

// ANCHOR: global_max_pool
/// The largest value of each map of `maps` `[C, H, H]`: one window as large as the map → `[C]`.
pub fn global_max_pool(maps: &Tensor) -> Result<Tensor> {
    let size = maps.dims()[1];
    let pooled = max_pool2d(maps, size, size)?; // [C, 1, 1]
    Ok(pooled.flatten_all()?)
}
// ANCHOR_END: global_max_pool

// ANCHOR: forgets
/// An 8×8 map of zeros with a single 1 at `(y, x)`, max-pooled 2×2 with stride 2 → a 4×4 map.
pub fn pooled_bright_pixel(y: usize, x: usize, device: &Device) -> Result<Vec<Vec<f32>>> {
    let mut values = vec![0f32; 64];
    values[y * 8 + x] = 1.0;
    let map = Tensor::from_vec(values, (1, 8, 8), device)?;
    Ok(max_pool2d(&map, 2, 2)?.squeeze(0)?.to_vec2::<f32>()?)
}

#[test]
fn max_pooling_only_keeps_which_window() {
    let device = lenet_tutor::device::auto();
    let at = |y, x| pooled_bright_pixel(y, x, &device).unwrap();
    // (2, 2), (2, 3), (3, 2) and (3, 3) are one window: the pooled map cannot tell them apart.
    for (y, x) in [(2, 3), (3, 2), (3, 3)] {
        assert_eq!(at(y, x), at(2, 2));
    }
    // One pixel further, across the window's border, and the bright cell moves.
    for (y, x) in [(2, 4), (4, 2), (1, 1)] {
        assert_ne!(at(y, x), at(2, 2));
    }
    assert_eq!(at(5, 6)[2][3], 1.0); // cell (5 / 2, 6 / 2)
}
// ANCHOR_END: forgets

// ANCHOR: avg_as_conv
/// Average pooling of `maps` `[C, H, W]` with `k × k` windows and stride `k`, as a convolution: kernel `c`
/// has `1/k²` everywhere in slice `c` and zeros in every other slice, so it averages map `c` alone.
pub fn avg_pool_as_conv(maps: &Tensor, k: usize) -> Result<Tensor> {
    let channels = maps.dims()[0];
    let mut weights = vec![0f32; channels * channels * k * k]; // [C, C, k, k]
    for c in 0..channels {
        let slice_start = (c * channels + c) * k * k; // kernel c, slice c
        for weight in &mut weights[slice_start..slice_start + k * k] {
            *weight = 1.0 / (k * k) as f32;
        }
    }
    let kernels = Tensor::from_vec(weights, (channels, channels, k, k), maps.device())?;
    conv2d(maps, &kernels, None, 0, k)
}
// ANCHOR_END: avg_as_conv

fn signed_maps(dims: &[usize], device: &Device) -> Tensor {
    let count: usize = dims.iter().product();
    let values: Vec<f32> = (0..count).map(|i| ((i * 13) % 23) as f32 - 11.0).collect();
    Tensor::from_vec(values, dims, device).unwrap()
}

#[test]
fn global_max_pool_is_each_maps_maximum() {
    let device = lenet_tutor::device::auto();
    let maps = signed_maps(&[4, 6, 6], &device);
    let pooled = global_max_pool(&maps).unwrap();
    assert_eq!(pooled.dims(), &[4]);
    let expected = maps.flatten_from(1).unwrap().max(1).unwrap(); // the largest of each map's 36 values
    assert_eq!(pooled.to_vec1::<f32>().unwrap(), expected.to_vec1::<f32>().unwrap());
}

#[test]
fn average_pooling_is_a_convolution_with_fixed_kernels() {
    let device = lenet_tutor::device::auto();
    for (dims, k) in [([3usize, 8, 8], 2usize), ([2, 9, 6], 3), ([1, 5, 5], 2)] {
        let maps = signed_maps(&dims, &device);
        let as_conv = avg_pool_as_conv(&maps, k).unwrap();
        let pooled = avg_pool2d(&maps, k, k).unwrap();
        assert_eq!(as_conv.dims(), pooled.dims(), "{dims:?}, k = {k}");
        let diff = (as_conv - pooled).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_dtype(DType::F32).unwrap().to_scalar::<f32>().unwrap() < 1e-5, "{dims:?}, k = {k}");
    }
}

// ANCHOR: learning_rate
/// How far the kernel learned from the first 8 training digits, in `steps` steps of SGD with
/// learning rate `lr`, is from Sobel x, the kernel that made the targets: its largest weight difference.
pub fn distance_from_sobel_x(lr: f64, steps: usize, device: &Device) -> Result<f32> {
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
    let bytes = &splits.train.images()[..8 * 784];
    let images = (Tensor::from_slice(bytes, (8, 1, 28, 28), device)?.to_dtype(DType::F32)? / 255.0)?;
    let sobel_x = kernels::sobel_x(device)?;
    let targets = images.conv2d(&sobel_x.reshape((1, 1, 3, 3))?, 0, 1, 1, 1)?;
    let learned = learn_kernel(&images, &targets, 3, steps, lr)?;
    Ok((learned.kernel - sobel_x)?.abs()?.max_all()?.to_scalar::<f32>()?)
}

#[test]
fn larger_steps_learn_faster_until_they_overshoot() {
    let device = lenet_tutor::device::auto();
    let half = distance_from_sobel_x(0.5, 400, &device).unwrap();
    let one = distance_from_sobel_x(1.0, 400, &device).unwrap();
    assert!(half > 0.01 && one < 0.005, "lr 0.5: {half}, lr 1: {one}");
    // With 1.5 every step overshoots by more than the last, until the loss is no longer a number.
    let too_large = distance_from_sobel_x(1.5, 400, &device).unwrap_err();
    assert!(matches!(too_large, Error::InvalidArgument(_)) && too_large.to_string().contains("too large"));
}
// ANCHOR_END: learning_rate
