//! One step of the convolution, for figures and for reading along: the window a kernel sees at one
//! output cell, the products and their sum.

use std::fmt;

use candle_core::Tensor;

use super::size::output_shape_floor;
use crate::args::{bias_values, check_depth, dims_of_rank, values};
use crate::error::{Error, Result};

/// One step of a convolution: kernel `kernel_index` at output cell `(out_y, out_x)`, with everything that
/// goes into that cell. `window`, `is_padding`, `kernel` and `products` are all `[C, FH, FW]`, row-major.
///
/// `sum` is exactly the number [`conv2d`](super::conv2d) writes at `[kernel_index, out_y, out_x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStep {
    /// Which kernel (which activation map) this step belongs to.
    pub kernel_index: usize,
    /// The output row.
    pub out_y: usize,
    /// The output column.
    pub out_x: usize,
    /// The input row of the window's top-left corner (`out_y · S − P`); negative when it starts in the padding.
    pub top: isize,
    /// The input column of the window's top-left corner (`out_x · S − P`); negative in the padding.
    pub left: isize,
    /// The window's depth: the input's channel count `C`.
    pub channels: usize,
    /// The window's height `FH`.
    pub kernel_h: usize,
    /// The window's width `FW`.
    pub kernel_w: usize,
    /// The input values under the kernel, `[C, FH, FW]`; 0 where the window covers padding.
    pub window: Vec<f32>,
    /// `true` where the window covers padding rather than the input, `[C, FH, FW]`.
    pub is_padding: Vec<bool>,
    /// The kernel's weights, `[C, FH, FW]`.
    pub kernel: Vec<f32>,
    /// `window[i] · kernel[i]`, element by element, `[C, FH, FW]`.
    pub products: Vec<f32>,
    /// The sum of `products`: the dot product of window and kernel.
    pub dot_product: f32,
    /// The kernel's bias (0 without one).
    pub bias: f32,
    /// `dot_product + bias`: the output cell.
    pub sum: f32,
}

impl WindowStep {
    /// The index of `(channel, fy, fx)` in the `[C, FH, FW]` vectors of this step.
    pub(crate) fn index(&self, channel: usize, fy: usize, fx: usize) -> usize {
        (channel * self.kernel_h + fy) * self.kernel_w + fx
    }
}

impl fmt::Display for WindowStep {
    /// Prints the step as the book shows it: per channel, the window, the kernel and their products
    /// side by side, then the dot product, the bias and the output cell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kernel {} at output ({}, {}): window rows {}..={}, columns {}..={} of the input",
            self.kernel_index,
            self.out_y,
            self.out_x,
            self.top,
            self.top + self.kernel_h as isize - 1,
            self.left,
            self.left + self.kernel_w as isize - 1,
        )?;
        for c in 0..self.channels {
            writeln!(f, "channel {c}: window · kernel = products")?;
            for fy in 0..self.kernel_h {
                // `+ 0.0` turns the −0 of `0 · (−1)` into 0, which reads better.
                let row = |numbers: &[f32]| -> String {
                    (0..self.kernel_w)
                        .map(|fx| format!("{:8.3}", numbers[self.index(c, fy, fx)] + 0.0))
                        .collect()
                };
                writeln!(f, "{}   ·{}   ={}", row(&self.window), row(&self.kernel), row(&self.products))?;
            }
        }
        write!(f, "dot product = {:.4}, + bias {:.4} = {:.4}", self.dot_product, self.bias, self.sum)
    }
}

/// Shows one step of [`conv2d`](super::conv2d): the window that kernel `kernel_index` sees when it produces output cell
/// `(out_y, out_x)`, the element-wise products and their sum: the notes' "dot product".
///
/// The arguments are those of [`conv2d`](super::conv2d), with two conveniences for the first chapter: `input` may be
/// `[C, H, W]` or a grayscale `[H, W]` (one channel), and `kernels` may be `[K, C, FH, FW]`, one kernel
/// `[C, FH, FW]` or one grayscale kernel `[FH, FW]` (then `kernel_index` is 0 and `bias`, if any, is `[1]`).
///
/// Errors: the shape errors of [`conv2d`](super::conv2d), and [`Error::InvalidArgument`] when `kernel_index` or the
/// output position is outside the output.
pub fn window_at(
    input: &Tensor,
    kernels: &Tensor,
    bias: Option<&Tensor>,
    kernel_index: usize,
    (out_y, out_x): (usize, usize),
    padding: usize,
    stride: usize,
) -> Result<WindowStep> {
    // Bring the input to [C, H, W] and the kernels to [K, C, FH, FW].
    let input = match input.rank() {
        2 => input.unsqueeze(0)?,
        _ => input.clone(),
    };
    let kernels = match kernels.rank() {
        2 => kernels.unsqueeze(0)?.unsqueeze(0)?,
        3 => kernels.unsqueeze(0)?,
        _ => kernels.clone(),
    };
    let input_dims = dims_of_rank(
        &input,
        3,
        "window_at: the input must be [C, H, W] or [H, W]",
        "for one image of a batch take `input.get(i)?`",
    )?;
    let kernel_dims = dims_of_rank(
        &kernels,
        4,
        "window_at: the kernels must be [K, C, FH, FW], [C, FH, FW] or [FH, FW]",
        "pass the kernels as conv2d gets them",
    )?;
    check_depth("window_at", input_dims[0], &kernel_dims)?;
    let (channels, height, width) = (input_dims[0], input_dims[1], input_dims[2]);
    let (kernel_count, kernel_h, kernel_w) = (kernel_dims[0], kernel_dims[2], kernel_dims[3]);
    let (out_h, out_w) = output_shape_floor((height, width), (kernel_h, kernel_w), padding, stride)?;
    let bias = bias_values("window_at", bias, kernel_count)?;

    if kernel_index >= kernel_count {
        return Err(Error::InvalidArgument(format!(
            "window_at: kernel {kernel_index} does not exist; there are {kernel_count} kernel(s), \
             numbered from 0"
        )));
    }
    if out_y >= out_h || out_x >= out_w {
        return Err(Error::InvalidArgument(format!(
            "window_at: output position ({out_y}, {out_x}) is outside the {out_h}×{out_w} activation map \
             (input {height}×{width}, kernel {kernel_h}×{kernel_w}, padding {padding}, stride {stride}); \
             rows go from 0 to {}, columns from 0 to {}",
            out_h - 1,
            out_w - 1
        )));
    }

    let image = values(&input)?; // [C, H, W]
    let weights = values(&kernels)?; // [K, C, FH, FW]
    let mut window = Vec::with_capacity(channels * kernel_h * kernel_w); // [C, FH, FW]
    let mut is_padding = Vec::with_capacity(channels * kernel_h * kernel_w);
    let mut kernel = Vec::with_capacity(channels * kernel_h * kernel_w);
    let mut products = Vec::with_capacity(channels * kernel_h * kernel_w);
    for c in 0..channels {
        for fy in 0..kernel_h {
            for fx in 0..kernel_w {
                // Position in the padded input, then in the input itself (if it is inside).
                let padded_y = out_y * stride + fy;
                let padded_x = out_x * stride + fx;
                let inside = padded_y >= padding
                    && padded_x >= padding
                    && padded_y - padding < height
                    && padded_x - padding < width;
                let pixel = if inside {
                    image[(c * height + padded_y - padding) * width + padded_x - padding]
                } else {
                    0.0
                };
                let weight = weights[((kernel_index * channels + c) * kernel_h + fy) * kernel_w + fx];
                window.push(pixel);
                is_padding.push(!inside);
                kernel.push(weight);
                products.push(pixel * weight);
            }
        }
    }
    let mut dot_product = 0.0f32;
    for product in &products {
        dot_product += product;
    }
    let bias = bias[kernel_index];
    Ok(WindowStep {
        kernel_index,
        out_y,
        out_x,
        top: (out_y * stride) as isize - padding as isize,
        left: (out_x * stride) as isize - padding as isize,
        channels,
        kernel_h,
        kernel_w,
        window,
        is_padding,
        kernel,
        products,
        dot_product,
        bias,
        sum: dot_product + bias,
    })
}
