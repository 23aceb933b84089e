//! Convolution by hand: the book's chapters "Convolution", "Channels" and "The conv layer".
//!
//! Everything here is plain nested loops over `Vec<f32>` stored row-major (the last index moves
//! fastest), so that every line can be followed with pencil and paper. candle's [`Tensor`] only
//! appears at the edges: a function reads its inputs out of tensors and puts its result back into
//! one. The trained model uses candle's fast `conv2d`; the tests check that this slow version
//! computes the same numbers.
//!
//! The words follow the notes:
//! - input size `(H, W)`, kernel (= filter) size `(FH, FW)`, padding `P`, stride `S`;
//! - output size `(OH, OW)`, with `OH = (H + 2P − FH) / S + 1` and the same for `OW` ([`output_size`]);
//! - at each position the kernel covers a *window* of the input; multiplying window and kernel element
//!   by element and adding everything up gives one number, the *dot product* ([`window_at`] shows one);
//! - the set of dot products as the kernel moves over the input is an *activation map* (활성화 맵);
//!   a layer with K kernels makes K activation maps, which together are its *feature map* (특징 맵);
//! - a kernel's depth equals the input's channel count: 1 for a grayscale image, 3 for a colour one.
//!
//! Like PyTorch and candle, the "convolution" here does not flip the kernel (strictly speaking it is
//! cross-correlation): the kernel's top-left weight multiplies the window's top-left pixel.

pub mod kernels;

use std::fmt;

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Output size: OH = (H + 2P − FH) / S + 1
// ---------------------------------------------------------------------------------------------

/// The output size of a convolution along one dimension: `(H + 2P − FH) / S + 1`, the book's formula.
///
/// `input` is `H` (or `W`), `kernel` is `FH` (or `FW`), `padding` is `P` (zeros added on *each* side),
/// `stride` is `S`. `H + 2P − FH` is how far the kernel can travel inside the padded input; it moves
/// `S` at a time, and the `+ 1` counts the starting position.
///
/// This version is strict: it is an [`Error::Shape`] when
/// - the stride or the kernel size is 0,
/// - the kernel is larger than the padded input (it does not fit even once), or
/// - `(H + 2P − FH)` is not a multiple of `S`, so the kernel cannot end exactly at the edge.
///   PyTorch (and candle) accept that case and round down, leaving the last rows or columns unused;
///   [`output_size_floor`] follows their rule.
///
/// ```
/// use lenet_tutor::conv::output_size;
/// assert_eq!(output_size(28, 5, 0, 1).unwrap(), 24); // LeNet's conv1 on a 28×28 digit
/// assert_eq!(output_size(28, 5, 2, 1).unwrap(), 28); // padding 2 keeps the size ("same" padding)
/// assert!(output_size(28, 5, 0, 2).is_err()); // (28 − 5)/2 is 11.5: not a whole number
/// ```
pub fn output_size(input: usize, kernel: usize, padding: usize, stride: usize) -> Result<usize> {
    let travel = kernel_travel(input, kernel, padding, stride)?;
    if travel % stride != 0 {
        let floored = travel / stride + 1;
        // How many rows (or columns) at the far edge of the padded input no window ever reaches.
        let left_over = travel % stride;
        return Err(Error::Shape(format!(
            "output size (H + 2P − FH)/S + 1 = ({input} + 2·{padding} − {kernel})/{stride} + 1 = \
             {travel}/{stride} + 1 is not a whole number: moving {stride} at a time, the kernel cannot end \
             exactly at the edge of the padded input (the last {left_over} row(s)/column(s) would never be \
             covered). PyTorch floors this to {floored}; use output_size_floor for PyTorch's rule, or change \
             the padding or the stride so that {stride} divides {travel}"
        )));
    }
    Ok(travel / stride + 1)
}

/// The output size along one dimension with PyTorch's (and candle's) rule: `⌊(H + 2P − FH) / S⌋ + 1`.
///
/// When the kernel cannot end exactly at the edge of the padded input, the last positions that do not
/// fit are simply dropped. A stride or kernel size of 0, or a kernel larger than the padded input, are
/// still [`Error::Shape`] errors, as in [`output_size`].
///
/// ```
/// use lenet_tutor::conv::output_size_floor;
/// assert_eq!(output_size_floor(28, 5, 0, 2).unwrap(), 12); // ⌊23 / 2⌋ + 1
/// ```
pub fn output_size_floor(input: usize, kernel: usize, padding: usize, stride: usize) -> Result<usize> {
    let travel = kernel_travel(input, kernel, padding, stride)?;
    Ok(travel / stride + 1)
}

/// The output size `(OH, OW)` of a convolution of an `(H, W)` input with an `(FH, FW)` kernel,
/// using the strict [`output_size`] along each dimension. Errors say which dimension is wrong.
///
/// ```
/// use lenet_tutor::conv::output_shape;
/// assert_eq!(output_shape((28, 28), (5, 5), 0, 1).unwrap(), (24, 24));
/// ```
pub fn output_shape(
    (height, width): (usize, usize),
    (kernel_h, kernel_w): (usize, usize),
    padding: usize,
    stride: usize,
) -> Result<(usize, usize)> {
    let out_h = in_dimension("height", output_size(height, kernel_h, padding, stride))?;
    let out_w = in_dimension("width", output_size(width, kernel_w, padding, stride))?;
    Ok((out_h, out_w))
}

/// Like [`output_shape`], with PyTorch's rounding down ([`output_size_floor`]) along each dimension.
/// This is the size [`conv2d`] produces.
pub fn output_shape_floor(
    (height, width): (usize, usize),
    (kernel_h, kernel_w): (usize, usize),
    padding: usize,
    stride: usize,
) -> Result<(usize, usize)> {
    let out_h = in_dimension("height", output_size_floor(height, kernel_h, padding, stride))?;
    let out_w = in_dimension("width", output_size_floor(width, kernel_w, padding, stride))?;
    Ok((out_h, out_w))
}

/// `H + 2P − FH`: how far the kernel can move inside the padded input, after checking that it can
/// move at all (stride ≥ 1) and that it fits (kernel size between 1 and the padded input's size).
fn kernel_travel(input: usize, kernel: usize, padding: usize, stride: usize) -> Result<usize> {
    if stride == 0 {
        return Err(Error::Shape(format!(
            "stride must be at least 1, got 0 (input {input}, kernel {kernel}, padding {padding}): \
             a kernel that moves 0 steps at a time never gets past its first position"
        )));
    }
    if kernel == 0 {
        return Err(Error::Shape(format!(
            "kernel size must be at least 1, got 0 (input {input}, padding {padding}, stride {stride})"
        )));
    }
    let padded = input + 2 * padding;
    if kernel > padded {
        return Err(Error::Shape(format!(
            "kernel size {kernel} is larger than the padded input {input} + 2·{padding} = {padded} \
             (stride {stride}): the kernel does not fit even once; use a smaller kernel or more padding"
        )));
    }
    Ok(padded - kernel)
}

/// Puts "height: " or "width: " in front of a shape error, so that the reader knows which one is off.
fn in_dimension(dimension: &str, size: Result<usize>) -> Result<usize> {
    size.map_err(|error| match error {
        Error::Shape(message) => Error::Shape(format!("{dimension}: {message}")),
        other => other,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading shapes and values out of tensors (the API boundary)
// ---------------------------------------------------------------------------------------------

/// The values of `tensor` as one flat row-major `Vec<f32>`, whatever its dtype and device.
pub(crate) fn values(tensor: &Tensor) -> Result<Vec<f32>> {
    Ok(tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// The dimensions of `tensor`, after checking that it has `rank` of them. `what` names the tensor
/// and its expected layout (`"conv2d: the input must be [C, H, W]"`), `hint` says what to do instead.
pub(crate) fn dims_of_rank(tensor: &Tensor, rank: usize, what: &str, hint: &str) -> Result<Vec<usize>> {
    let dims = tensor.dims().to_vec();
    if dims.len() != rank {
        return Err(Error::Shape(format!("{what}, got shape {dims:?} (rank {}); {hint}", dims.len())));
    }
    Ok(dims)
}

/// Checks the notes' rule that a kernel's depth equals the input's channel count.
fn check_depth(function: &str, channels: usize, kernel_dims: &[usize]) -> Result<()> {
    let depth = kernel_dims[1];
    if depth != channels {
        return Err(Error::Shape(format!(
            "{function}: the kernels have depth {depth} but the input has {channels} channel(s); a kernel's \
             depth must equal the input's channel count (grayscale image → 1, colour RGB image → 3), because \
             each kernel covers all channels of its window at once (kernels {kernel_dims:?} are \
             [K, C, FH, FW])"
        )));
    }
    Ok(())
}

/// The bias values, one per kernel; zeros when there is no bias.
fn bias_values(function: &str, bias: Option<&Tensor>, kernel_count: usize) -> Result<Vec<f32>> {
    let Some(bias) = bias else {
        return Ok(vec![0.0; kernel_count]);
    };
    if bias.dims() != [kernel_count] {
        return Err(Error::Shape(format!(
            "{function}: the bias must be [K] = [{kernel_count}], one number per kernel, got shape {:?}",
            bias.dims()
        )));
    }
    values(bias)
}

// ---------------------------------------------------------------------------------------------
// The convolution itself
// ---------------------------------------------------------------------------------------------

/// A convolution layer's forward pass, by hand: `input` `[C, H, W]`, `kernels` `[K, C, FH, FW]`,
/// optional `bias` `[K]` → output `[K, OH, OW]`, one activation map per kernel.
///
/// Output cell `[k, oy, ox]` is the dot product of kernel `k` with the input window whose top-left corner
/// is at row `oy·S − P`, column `ox·S − P`, plus `bias[k]`: for every channel `c` and kernel position
/// `(fy, fx)`, multiply the pixel under the weight by the weight, and add it all up. Where the window hangs
/// over the edge it sees the padding, which is zeros, so those weights add nothing.
///
/// The output size follows PyTorch's rule ([`output_size_floor`]): when `(H + 2P − FH)` is not a
/// multiple of `S`, the last rows/columns that no whole window reaches are dropped. Use [`output_size`]
/// first if you want that to be an error instead.
///
/// Errors ([`Error::Shape`]): an input that is not `[C, H, W]`, kernels that are not `[K, C, FH, FW]`,
/// kernels whose depth `C` is not the input's channel count, a bias that is not `[K]`, and the
/// output-size errors (stride 0, kernel larger than the padded input).
///
/// The result is `F32` on the input's device; the arithmetic is done in `f32` on the CPU.
pub fn conv2d(
    input: &Tensor,
    kernels: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    let input_dims = dims_of_rank(
        input,
        3,
        "conv2d: the input must be [C, H, W] (channels, height, width)",
        "for one image of a batch [B, C, H, W] take `input.get(i)?`; for a plain [H, W] image use \
         conv2d_single or `input.unsqueeze(0)?`",
    )?;
    let kernel_dims = dims_of_rank(
        kernels,
        4,
        "conv2d: the kernels must be [K, C, FH, FW] (count, depth, height, width)",
        "for a single [FH, FW] kernel on a grayscale image use conv2d_single, or reshape it to [1, 1, FH, FW]",
    )?;
    check_depth("conv2d", input_dims[0], &kernel_dims)?;
    let (channels, height, width) = (input_dims[0], input_dims[1], input_dims[2]);
    let (kernel_count, kernel_h, kernel_w) = (kernel_dims[0], kernel_dims[2], kernel_dims[3]);
    let (out_h, out_w) = output_shape_floor((height, width), (kernel_h, kernel_w), padding, stride)?;
    let bias = bias_values("conv2d", bias, kernel_count)?;

    let image = values(input)?; // [C, H, W]
    let weights = values(kernels)?; // [K, C, FH, FW]
    let mut output = vec![0.0f32; kernel_count * out_h * out_w]; // [K, OH, OW]

    for k in 0..kernel_count {
        // One activation map per kernel ...
        for oy in 0..out_h {
            for ox in 0..out_w {
                // ... and one dot product per output cell.
                let mut dot = 0.0f32;
                for c in 0..channels {
                    for fy in 0..kernel_h {
                        for fx in 0..kernel_w {
                            // Where weight (fy, fx) lands, counted in the *padded* input.
                            let padded_y = oy * stride + fy;
                            let padded_x = ox * stride + fx;
                            // The padding ring is zeros: a weight over it adds 0 · weight = 0, so skip it.
                            if padded_y < padding || padded_x < padding {
                                continue;
                            }
                            let (y, x) = (padded_y - padding, padded_x - padding);
                            if y >= height || x >= width {
                                continue;
                            }
                            let pixel = image[(c * height + y) * width + x];
                            let weight = weights[((k * channels + c) * kernel_h + fy) * kernel_w + fx];
                            dot += pixel * weight;
                        }
                    }
                }
                output[(k * out_h + oy) * out_w + ox] = dot + bias[k];
            }
        }
    }
    Ok(Tensor::from_vec(output, (kernel_count, out_h, out_w), input.device())?)
}

/// The simplest convolution: one grayscale `image` `[H, W]`, one `kernel` `[FH, FW]`, no bias →
/// one activation map `[OH, OW]`. The same as [`conv2d`] with `C = 1` and `K = 1`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use lenet_tutor::conv::{conv2d_single, kernels};
///
/// let image = Tensor::zeros((28, 28), candle_core::DType::F32, &Device::Cpu).unwrap();
/// let edges = conv2d_single(&image, &kernels::sobel_x(&Device::Cpu).unwrap(), 0, 1).unwrap();
/// assert_eq!(edges.dims(), &[26, 26]);
/// ```
pub fn conv2d_single(image: &Tensor, kernel: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    dims_of_rank(
        image,
        2,
        "conv2d_single: the image must be [H, W] (one grayscale image)",
        "for an image with channels [C, H, W] use conv2d",
    )?;
    dims_of_rank(
        kernel,
        2,
        "conv2d_single: the kernel must be [FH, FW] (one kernel)",
        "for several kernels or kernels with depth use conv2d",
    )?;
    let image = image.unsqueeze(0)?; // [1, H, W]: one channel
    let kernel = kernel.unsqueeze(0)?.unsqueeze(0)?; // [1, 1, FH, FW]: one kernel of depth 1
    let activation_map = conv2d(&image, &kernel, None, padding, stride)?; // [1, OH, OW]
    Ok(activation_map.squeeze(0)?)
}

// ---------------------------------------------------------------------------------------------
// One step of the convolution, for figures and for reading along
// ---------------------------------------------------------------------------------------------

/// One step of a convolution: kernel `kernel_index` at output cell `(out_y, out_x)`, with everything that
/// goes into that cell. `window`, `is_padding`, `kernel` and `products` are all `[C, FH, FW]`, row-major.
///
/// `sum` is exactly the number [`conv2d`] writes at `[kernel_index, out_y, out_x]`.
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
    pub fn index(&self, channel: usize, fy: usize, fx: usize) -> usize {
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

/// Shows one step of [`conv2d`]: the window that kernel `kernel_index` sees when it produces output cell
/// `(out_y, out_x)`, the element-wise products and their sum: the notes' "dot product".
///
/// The arguments are those of [`conv2d`], with two conveniences for the first chapter: `input` may be
/// `[C, H, W]` or a grayscale `[H, W]` (one channel), and `kernels` may be `[K, C, FH, FW]`, one kernel
/// `[C, FH, FW]` or one grayscale kernel `[FH, FW]` (then `kernel_index` is 0 and `bias`, if any, is `[1]`).
///
/// Errors: the shape errors of [`conv2d`], and [`Error::InvalidArgument`] when `kernel_index` or the
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use candle_core::Device;
    use rand::Rng;

    /// A tensor of the given shape filled with values uniform in [-1, 1).
    pub(crate) fn random_tensor(rng: &mut rng::TutorRng, dims: &[usize]) -> Tensor {
        let count: usize = dims.iter().product();
        let data: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Tensor::from_vec(data, dims, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

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
        assert!(
            message.contains("input 28") && message.contains("kernel 5") && message.contains("padding 1")
        );
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
}
