//! Exercises of chapter 2, "Channels and feature maps": a 1×1 kernel that mixes channels, a deep
//! kernel as a sum of flat ones, and grayscale kernels made deep enough for a colour image.

use lenet_tutor::conv::{conv2d, conv2d_single};
use lenet_tutor::{Device, Result, Tensor};

// ANCHOR: luminance
/// The kernels `[1, 3, 1, 1]` that turn an RGB image `[3, H, W]` into its luminance `[1, H, W]`:
/// one kernel, three channels deep, one pixel wide.
pub fn luminance_kernel(device: &Device) -> Result<Tensor> {
    Ok(Tensor::new(&[0.299f32, 0.587, 0.114], device)?.reshape((1, 3, 1, 1))?)
}
// ANCHOR_END: luminance

// ANCHOR: channel_by_channel
/// `input` `[C, H, W]` convolved with one kernel `[C, FH, FW]`, one channel at a time: the sum over
/// `c` of channel `c` convolved with slice `c`. Equals `conv2d` with that one kernel.
pub fn conv_channel_by_channel(
    input: &Tensor,
    kernel: &Tensor,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let channels = input.dims()[0];
    let mut sum = conv2d_single(&input.get(0)?, &kernel.get(0)?, padding, stride)?; // [OH, OW]
    for c in 1..channels {
        sum = (sum + conv2d_single(&input.get(c)?, &kernel.get(c)?, padding, stride)?)?;
    }
    Ok(sum)
}
// ANCHOR_END: channel_by_channel

// ANCHOR: deepen
/// Grayscale kernels `[K, 1, FH, FW]` made 3 deep, `[K, 3, FH, FW]`: on a colour image they give the
/// grayscale kernels' maps of the channel average `(R + G + B) / 3`.
pub fn deepen_for_colour(grayscale_kernels: &Tensor) -> Result<Tensor> {
    let third = (grayscale_kernels / 3.0)?;
    Ok(Tensor::cat(&[&third, &third, &third], 1)?)
}
// ANCHOR_END: deepen

/// A `[C, H, W]` tensor of distinct, signed values.
fn numbered(dims: &[usize], device: &Device) -> Tensor {
    let count: usize = dims.iter().product();
    let values: Vec<f32> = (0..count).map(|i| ((i * 7) % 13) as f32 / 4.0 - 1.5).collect();
    Tensor::from_vec(values, dims, device).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn luminance_mixes_the_channels_pixel_by_pixel() {
    let device = lenet_tutor::device::auto();
    let rgb = numbered(&[3, 4, 5], &device);
    let gray = conv2d(&rgb, &luminance_kernel(&device).unwrap(), None, 0, 1).unwrap();
    assert_eq!(gray.dims(), &[1, 4, 5]); // a 1×1 kernel keeps the size
    let channels = rgb.to_vec3::<f32>().unwrap();
    let gray = gray.squeeze(0).unwrap().to_vec2::<f32>().unwrap();
    for y in 0..4 {
        for x in 0..5 {
            let expected = 0.299 * channels[0][y][x] + 0.587 * channels[1][y][x] + 0.114 * channels[2][y][x];
            assert!((gray[y][x] - expected).abs() < 1e-5, "({y}, {x})");
        }
    }
}

#[test]
fn a_deep_kernel_is_a_sum_of_flat_ones() {
    let device = lenet_tutor::device::auto();
    let input = numbered(&[3, 6, 7], &device);
    let kernel = numbered(&[3, 3, 2], &device).affine(0.5, 0.1).unwrap();
    for (padding, stride) in [(0, 1), (1, 2)] {
        let summed = conv_channel_by_channel(&input, &kernel, padding, stride).unwrap();
        let direct =
            conv2d(&input, &kernel.unsqueeze(0).unwrap(), None, padding, stride).unwrap().squeeze(0).unwrap();
        assert!(max_abs_diff(&summed, &direct) < 1e-5, "padding {padding}, stride {stride}");
    }
}

#[test]
fn deepened_kernels_see_the_channel_average() {
    let device = lenet_tutor::device::auto();
    let colour = numbered(&[3, 8, 8], &device);
    let gray_kernels = numbered(&[4, 1, 3, 3], &device);
    let deep = deepen_for_colour(&gray_kernels).unwrap();
    assert_eq!(deep.dims(), &[4, 3, 3, 3]);
    let on_colour = conv2d(&colour, &deep, None, 0, 1).unwrap();
    let average = (colour.sum_keepdim(0).unwrap() / 3.0).unwrap(); // [1, 8, 8]
    let on_average = conv2d(&average, &gray_kernels, None, 0, 1).unwrap();
    assert!(max_abs_diff(&on_colour, &on_average) < 1e-5);
    // And the original kernels still refuse the colour image.
    assert!(conv2d(&colour, &gray_kernels, None, 0, 1).is_err());
}
