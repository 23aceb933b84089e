//! Tests of the hand-written convolution against candle's, and of its errors.

use std::fmt;

use candle_core::Tensor;

use super::size::output_shape_floor;
use super::*;
use crate::error::{Error, Result};
use crate::rng;
use crate::test_util::{max_abs_diff, random_tensor};
use candle_core::Device;
use rand::Rng;

fn shape_message(result: Result<impl fmt::Debug>) -> String {
    match result {
        Err(Error::Shape(message)) => message,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn lenet_sizes_follow_the_formula() {
    // conv1 (5×5) → pool (2×2, stride 2) → conv2 (5×5) → pool: 28 → 24 → 12 → 8 → 4.
    let conv1 = output_size(28, 5, 0, 1).unwrap();
    let pool1 = output_size(conv1, 2, 0, 2).unwrap();
    let conv2 = output_size(pool1, 5, 0, 1).unwrap();
    let pool2 = output_size(conv2, 2, 0, 2).unwrap();
    assert_eq!((conv1, pool1, conv2, pool2), (24, 12, 8, 4));
    // 20 activation maps of 4×4: fc1's 320 inputs.
    assert_eq!(20 * pool2 * pool2, 320);
    assert_eq!(output_shape((28, 28), (5, 5), 0, 1).unwrap(), (24, 24));
}

#[test]
fn padding_and_stride_change_the_size() {
    assert_eq!(output_size(28, 5, 2, 1).unwrap(), 28); // "same" padding
    assert_eq!(output_size(7, 3, 1, 2).unwrap(), 4); // (7 + 2 − 3)/2 + 1
    assert_eq!(output_size(5, 5, 0, 1).unwrap(), 1); // the kernel fits exactly once
    assert_eq!(output_size(3, 5, 1, 1).unwrap(), 1); // it fits once padding is added
}

#[test]
fn stride_zero_is_an_error_with_the_numbers() {
    let message = shape_message(output_size(28, 5, 1, 0));
    assert!(message.contains("stride must be at least 1"), "{message}");
    assert!(message.contains("input 28") && message.contains("kernel 5") && message.contains("padding 1"));
    let message = shape_message(output_size_floor(28, 5, 1, 0));
    assert!(message.contains("stride must be at least 1"), "{message}");
}

#[test]
fn kernel_larger_than_the_padded_input_is_an_error() {
    let message = shape_message(output_size(3, 7, 1, 1));
    assert!(message.contains("kernel size 7 is larger than the padded input 3 + 2·1 = 5"), "{message}");
    assert!(message.contains("stride 1"), "{message}");
    let message = shape_message(output_size_floor(3, 7, 1, 1));
    assert!(message.contains("larger than the padded input"), "{message}");
    let message = shape_message(output_size(3, 0, 0, 1));
    assert!(message.contains("kernel size must be at least 1"), "{message}");
}

#[test]
fn inexact_division_is_an_error_that_says_what_pytorch_does() {
    let message = shape_message(output_size(28, 5, 0, 2));
    assert!(message.contains("(28 + 2·0 − 5)/2 + 1 = 23/2 + 1"), "{message}");
    assert!(message.contains("PyTorch floors this to 12"), "{message}");
    assert!(message.contains("the last 1 row(s)/column(s)"), "{message}");
    // PyTorch's rule gives exactly the number the message announces.
    assert_eq!(output_size_floor(28, 5, 0, 2).unwrap(), 12);
    let message = shape_message(output_size(10, 3, 0, 4));
    assert!(message.contains("PyTorch floors this to 2"), "{message}");
    assert!(message.contains("the last 3 row(s)/column(s)"), "{message}");
    assert_eq!(output_size_floor(10, 3, 0, 4).unwrap(), 2);
}

#[test]
fn output_shape_says_which_dimension_is_wrong() {
    // Height (29 − 5)/2 + 1 = 13 is fine; width (28 − 5)/2 + 1 is not.
    let message = shape_message(output_shape((29, 28), (5, 5), 0, 2));
    assert!(message.starts_with("width: "), "{message}");
    assert!(message.contains("(28 + 2·0 − 5)/2 + 1"), "{message}");
    let message = shape_message(output_shape((2, 28), (5, 5), 0, 1));
    assert!(message.starts_with("height: "), "{message}");
    assert_eq!(output_shape_floor((29, 28), (5, 5), 0, 2).unwrap(), (13, 12));
}

#[test]
fn conv2d_by_hand_on_a_small_example() {
    // 3×3 image, 2×2 kernel, stride 1, no padding → 2×2.
    //   1 2 3        1 0
    //   4 5 6   ⊛    0 -1    top-left: 1·1 + 2·0 + 4·0 + 5·(−1) = −4, and so on.
    //   7 8 9
    let image = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.], [7., 8., 9.]], &Device::Cpu).unwrap();
    let kernel = Tensor::new(&[[1f32, 0.], [0., -1.]], &Device::Cpu).unwrap();
    let map = conv2d_single(&image, &kernel, 0, 1).unwrap();
    assert_eq!(map.to_vec2::<f32>().unwrap(), vec![vec![-4.0, -4.0], vec![-4.0, -4.0]]);

    // With padding 1 the window at (0, 0) has only the pixel 1 under the weight −1.
    let padded = conv2d_single(&image, &kernel, 1, 2).unwrap();
    // Padded input is 5×5, (5 − 2)/2 + 1 floors to 2: windows start at padded rows/columns 0 and 2.
    assert_eq!(padded.to_vec2::<f32>().unwrap(), vec![vec![-1.0, -3.0], vec![-7.0, 5.0 - 9.0]]);

    // Bias is added once per output cell.
    let bias = Tensor::new(&[10f32], &Device::Cpu).unwrap();
    let with_bias =
        conv2d(&image.unsqueeze(0).unwrap(), &kernel.reshape((1, 1, 2, 2)).unwrap(), Some(&bias), 0, 1)
            .unwrap();
    assert_eq!(with_bias.to_vec3::<f32>().unwrap(), vec![vec![vec![6.0, 6.0], vec![6.0, 6.0]]]);
}

#[test]
fn kernel_depth_must_equal_the_channel_count() {
    let mut rng = rng::seeded(1);
    let colour = random_tensor(&mut rng, &[3, 8, 8]);
    let grayscale_kernels = random_tensor(&mut rng, &[4, 1, 3, 3]);
    let message = shape_message(conv2d(&colour, &grayscale_kernels, None, 0, 1));
    assert!(message.contains("depth 1") && message.contains("3 channel(s)"), "{message}");
    assert!(message.contains("grayscale image → 1") && message.contains("colour RGB image → 3"));
    assert!(message.contains("[4, 1, 3, 3]"), "{message}");
    // The same rule in window_at.
    let message = shape_message(window_at(&colour, &grayscale_kernels, None, 0, (0, 0), 0, 1));
    assert!(message.contains("depth 1") && message.contains("3 channel(s)"), "{message}");
}

#[test]
fn wrong_ranks_and_bias_are_errors() {
    let mut rng = rng::seeded(2);
    let batch = random_tensor(&mut rng, &[2, 1, 8, 8]);
    let kernels = random_tensor(&mut rng, &[4, 1, 3, 3]);
    let message = shape_message(conv2d(&batch, &kernels, None, 0, 1));
    assert!(message.contains("[C, H, W]") && message.contains("rank 4"), "{message}");
    let image = random_tensor(&mut rng, &[1, 8, 8]);
    let one_kernel = random_tensor(&mut rng, &[3, 3]);
    let message = shape_message(conv2d(&image, &one_kernel, None, 0, 1));
    assert!(message.contains("[K, C, FH, FW]") && message.contains("rank 2"), "{message}");
    let bias = random_tensor(&mut rng, &[3]);
    let message = shape_message(conv2d(&image, &kernels, Some(&bias), 0, 1));
    assert!(message.contains("[K] = [4]") && message.contains("[3]"), "{message}");
    let message = shape_message(conv2d_single(&image, &one_kernel, 0, 1));
    assert!(message.contains("[H, W]") && message.contains("rank 3"), "{message}");
    let message = shape_message(conv2d(&image, &kernels, None, 0, 0));
    assert!(message.contains("stride must be at least 1"), "{message}");
}

#[test]
fn conv2d_matches_candle_on_random_cases() {
    let mut rng = rng::stream(42, rng::streams::EXPERIMENT);
    let mut checked = 0;
    while checked < 200 {
        let channels = rng.random_range(1..=3);
        let kernel_count = rng.random_range(1..=4);
        let (height, width) = (rng.random_range(1..=12), rng.random_range(1..=12));
        let (kernel_h, kernel_w) = (rng.random_range(1..=5), rng.random_range(1..=5));
        let padding = rng.random_range(0..=2);
        let stride = rng.random_range(1..=3);
        if kernel_h > height + 2 * padding || kernel_w > width + 2 * padding {
            continue; // not a valid convolution; candle would refuse it too
        }
        let input = random_tensor(&mut rng, &[channels, height, width]);
        let kernels = random_tensor(&mut rng, &[kernel_count, channels, kernel_h, kernel_w]);
        let bias = random_tensor(&mut rng, &[kernel_count]);

        let ours = conv2d(&input, &kernels, Some(&bias), padding, stride).unwrap();
        let candle = input
            .unsqueeze(0)
            .unwrap()
            .conv2d(&kernels, padding, stride, 1, 1)
            .unwrap()
            .broadcast_add(&bias.reshape((1, kernel_count, 1, 1)).unwrap())
            .unwrap()
            .squeeze(0)
            .unwrap();
        let case = format!(
            "C={channels} K={kernel_count} H={height} W={width} FH={kernel_h} FW={kernel_w} \
             P={padding} S={stride}"
        );
        assert_eq!(ours.dims(), candle.dims(), "{case}");
        let diff = max_abs_diff(&ours, &candle);
        assert!(diff <= 1e-5, "{case}: max abs diff {diff}");
        checked += 1;
    }
}

#[test]
fn every_output_cell_is_a_window_dot_product() {
    let mut rng = rng::seeded(3);
    for (channels, kernel_count, height, width, kernel_h, kernel_w, padding, stride) in
        [(1, 2, 6, 6, 3, 3, 0, 1), (3, 2, 7, 5, 3, 2, 1, 2), (2, 3, 5, 8, 4, 3, 2, 3)]
    {
        let input = random_tensor(&mut rng, &[channels, height, width]);
        let kernels = random_tensor(&mut rng, &[kernel_count, channels, kernel_h, kernel_w]);
        let bias = random_tensor(&mut rng, &[kernel_count]);
        let output = conv2d(&input, &kernels, Some(&bias), padding, stride).unwrap();
        let (out_h, out_w) =
            output_shape_floor((height, width), (kernel_h, kernel_w), padding, stride).unwrap();
        assert_eq!(output.dims(), &[kernel_count, out_h, out_w]);
        let mut cells_checked = 0;
        for (k, map) in output.to_vec3::<f32>().unwrap().iter().enumerate() {
            for (oy, row) in map.iter().enumerate() {
                for (ox, &cell) in row.iter().enumerate() {
                    let step =
                        window_at(&input, &kernels, Some(&bias), k, (oy, ox), padding, stride).unwrap();
                    // The same products added in the same order: the same f32, bit for bit.
                    assert_eq!(step.sum, cell, "kernel {k} at ({oy}, {ox})");
                    assert_eq!(step.products.len(), channels * kernel_h * kernel_w);
                    cells_checked += 1;
                }
            }
        }
        assert_eq!(cells_checked, kernel_count * out_h * out_w);
    }
}

#[test]
fn window_at_shows_padding_as_zeros() {
    let image = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.], [7., 8., 9.]], &Device::Cpu).unwrap();
    let kernel = Tensor::new(&[[1f32, 1., 1.], [1., 1., 1.], [1., 1., 1.]], &Device::Cpu).unwrap();
    let step = window_at(&image, &kernel, None, 0, (0, 0), 1, 1).unwrap();
    assert_eq!((step.top, step.left), (-1, -1));
    assert_eq!(step.window, vec![0., 0., 0., 0., 1., 2., 0., 4., 5.]);
    let padding: Vec<bool> = step.is_padding.clone();
    assert_eq!(padding, vec![true, true, true, true, false, false, true, false, false]);
    assert_eq!(step.products, step.window); // all weights are 1
    assert_eq!(step.sum, 12.0);
    assert_eq!(step.window[step.index(0, 2, 2)], 5.0);
    let text = step.to_string();
    assert!(text.contains("window rows -1..=1, columns -1..=1"), "{text}");
    assert!(text.contains("dot product = 12.0000, + bias 0.0000 = 12.0000"), "{text}");
}

#[test]
fn window_at_rejects_positions_outside_the_output() {
    let mut rng = rng::seeded(4);
    let input = random_tensor(&mut rng, &[1, 28, 28]);
    let kernels = random_tensor(&mut rng, &[10, 1, 5, 5]);
    match window_at(&input, &kernels, None, 0, (24, 0), 0, 1) {
        Err(Error::InvalidArgument(message)) => {
            assert!(message.contains("(24, 0)") && message.contains("24×24"), "{message}")
        }
        other => panic!("expected an invalid argument, got {other:?}"),
    }
    match window_at(&input, &kernels, None, 10, (0, 0), 0, 1) {
        Err(Error::InvalidArgument(message)) => {
            assert!(message.contains("kernel 10") && message.contains("10 kernel(s)"), "{message}")
        }
        other => panic!("expected an invalid argument, got {other:?}"),
    }
    assert!(window_at(&input, &kernels, None, 9, (23, 23), 0, 1).is_ok());
}
