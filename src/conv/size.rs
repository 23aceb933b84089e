//! The conv layer's output size, `OH = (H + 2P − FH) / S + 1`: the book's chapter "The conv layer".

use crate::error::{Error, Result};

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
