//! The convolution by hand: nested loops over `[C, H, W]`, one dot product per output cell.

use candle_core::Tensor;

use super::size::output_shape_floor;
use crate::args::{bias_values, check_depth, dims_of_rank, values};
use crate::error::Result;

/// A convolution layer's forward pass, by hand: `input` `[C, H, W]`, `kernels` `[K, C, FH, FW]`,
/// optional `bias` `[K]` → output `[K, OH, OW]`, one activation map per kernel.
///
/// Output cell `[k, oy, ox]` is the dot product of kernel `k` with the input window whose top-left corner
/// is at row `oy·S − P`, column `ox·S − P`, plus `bias[k]`: for every channel `c` and kernel position
/// `(fy, fx)`, multiply the pixel under the weight by the weight, and add it all up. Where the window hangs
/// over the edge it sees the padding, which is zeros, so those weights add nothing.
///
/// The output size follows PyTorch's rule ([`output_size_floor`](super::output_size_floor)): when `(H + 2P − FH)` is not a
/// multiple of `S`, the last rows/columns that no whole window reaches are dropped. Use [`output_size`](super::output_size)
/// first if you want that to be an error instead.
///
/// Errors ([`Error::Shape`](crate::Error::Shape)): an input that is not `[C, H, W]`, kernels that are not `[K, C, FH, FW]`,
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
