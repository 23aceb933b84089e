//! Exercises of chapter 1, "Convolution": a convolution with plain loops, and a kernel that moves
//! the image.

use lenet_tutor::Tensor;
use lenet_tutor::conv::conv2d_single;

// ANCHOR: conv_by_hand
/// Stride 1, no padding: output cell `(y, x)` is the dot product of the kernel with the window whose
/// top-left corner is input pixel `(y, x)`.
pub fn conv_by_hand(image: &[Vec<f32>], kernel: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let (height, width) = (image.len(), image[0].len());
    let (kernel_h, kernel_w) = (kernel.len(), kernel[0].len());
    let (out_h, out_w) = (height - kernel_h + 1, width - kernel_w + 1);
    let mut output = vec![vec![0.0; out_w]; out_h];
    for y in 0..out_h {
        for x in 0..out_w {
            let mut dot = 0.0;
            for i in 0..kernel_h {
                for j in 0..kernel_w {
                    dot += image[y + i][x + j] * kernel[i][j];
                }
            }
            output[y][x] = dot;
        }
    }
    output
}
// ANCHOR_END: conv_by_hand

// ANCHOR: shift_right
/// With padding 1, this kernel shifts an image one pixel to the right: the 1 sits in the middle of the
/// left column, because output `(y, x)` reads input `(y − 1 + i, x − 1 + j)` under weight `(i, j)`.
pub const SHIFT_RIGHT: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
// ANCHOR_END: shift_right

/// A `rows × cols` grid whose values are all different, so that a wrong index shows.
fn numbered(rows: usize, cols: usize) -> Vec<Vec<f32>> {
    (0..rows).map(|r| (0..cols).map(|c| ((r * 7 + c * 3) % 11) as f32 - 4.0).collect()).collect()
}

// ANCHOR: conv_by_hand_test
#[test]
fn conv_by_hand_matches_the_crate() {
    let device = lenet_tutor::device::auto();
    let image = numbered(6, 7);
    let kernel = vec![vec![1.0, -2.0, 0.5], vec![0.0, 3.0, -1.0]]; // 2×3: not even square
    let (image_t, kernel_t) =
        (Tensor::new(image.clone(), &device).unwrap(), Tensor::new(kernel.clone(), &device).unwrap());
    let expected = conv2d_single(&image_t, &kernel_t, 0, 1).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(conv_by_hand(&image, &kernel), expected); // a 5×5 map
}
// ANCHOR_END: conv_by_hand_test

#[test]
fn shift_right_moves_every_pixel_one_column() {
    let device = lenet_tutor::device::auto();
    let image = numbered(5, 6);
    let kernel = Tensor::new(&SHIFT_RIGHT, &device).unwrap();
    let shifted = conv2d_single(&Tensor::new(image.clone(), &device).unwrap(), &kernel, 1, 1)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    for (y, row) in shifted.iter().enumerate() {
        assert_eq!(row[0], 0.0, "row {y}: the first column comes from the padding");
        for x in 1..row.len() {
            assert_eq!(row[x], image[y][x - 1], "({y}, {x})");
        }
    }
}
