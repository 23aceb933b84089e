//! Counting parameters: the book's chapter "The conv layer", on why images get conv layers rather than
//! fully connected ones.
//!
//! A fully connected (FC, affine) layer `y = W·x + b` connects every input to every output: `in · out`
//! weights plus `out` biases. It needs its input as one flat vector, so it ignores the image's shape:
//! that neighbouring pixels are related, that the channels of one pixel belong together (the notes:
//! 데이터의 형상 무시). A conv layer instead slides the same small kernel over the whole image: its
//! parameters are the kernels' weights, `out_channels · in_channels · FH · FW`, plus one bias per kernel,
//! however large the image is.
//!
//! [`lenet_parameters`] counts the notes' LeNet layer by layer (21,840 in all; most of them in `fc1`),
//! and [`fc_vs_conv`] compares the two kinds of layer doing the same job on one image.

use std::fmt::Write as _;

/// The parameters of a fully connected layer with `inputs` inputs and `outputs` outputs:
/// an `[outputs, inputs]` weight matrix plus one bias per output, `inputs · outputs + outputs`.
pub fn fc_parameters(inputs: usize, outputs: usize) -> usize {
    inputs * outputs + outputs
}

/// The parameters of a conv layer with `out_channels` kernels of depth `in_channels` and size
/// `kernel_h × kernel_w`: the `[out, in, FH, FW]` weights plus one bias per kernel,
/// `out · in · FH · FW + out`. The image size does not appear: the same kernels are used everywhere.
pub fn conv_parameters(in_channels: usize, out_channels: usize, kernel_h: usize, kernel_w: usize) -> usize {
    out_channels * in_channels * kernel_h * kernel_w + out_channels
}

/// One row of a parameter count: a layer, what it is, the shapes of its parameter tensors and how many
/// numbers they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerParams {
    /// The layer's name in the model (`conv1`, `fc1`, …).
    pub name: &'static str,
    /// The kind of layer and its sizes, as PyTorch would print it (`Conv2d(1, 10, 5×5)`, `Linear(320, 50)`).
    pub kind: String,
    /// The shapes of its parameters (`weight [10, 1, 5, 5] + bias [10]`).
    pub shape: String,
    /// How many parameters (weights and biases) it has.
    pub params: usize,
}

/// A conv layer's row: `in_channels → out_channels` with square `kernel × kernel` kernels.
fn conv_row(name: &'static str, in_channels: usize, out_channels: usize, kernel: usize) -> LayerParams {
    LayerParams {
        name,
        kind: format!("Conv2d({in_channels}, {out_channels}, {kernel}×{kernel})"),
        shape: format!("weight [{out_channels}, {in_channels}, {kernel}, {kernel}] + bias [{out_channels}]"),
        params: conv_parameters(in_channels, out_channels, kernel, kernel),
    }
}

/// A fully connected layer's row.
fn fc_row(name: &'static str, inputs: usize, outputs: usize) -> LayerParams {
    LayerParams {
        name,
        kind: format!("Linear({inputs}, {outputs})"),
        shape: format!("weight [{outputs}, {inputs}] + bias [{outputs}]"),
        params: fc_parameters(inputs, outputs),
    }
}

/// The notes' LeNet, layer by layer: `conv1` 260, `conv2` 5,020, `fc1` 16,050, `fc2` 510.
///
/// Only layers with parameters are listed: max pooling, ReLU and dropout learn nothing. `fc1`'s 320
/// inputs are worked out from the image size as in the book: 28 → conv 5×5 → 24 → pool 2 → 12 →
/// conv 5×5 → 8 → pool 2 → 4, and 20 maps of 4×4 are 320 numbers.
pub fn lenet_parameters() -> Vec<LayerParams> {
    const IMAGE: usize = 28; // MNIST digits are 28×28, one channel
    const KERNEL: usize = 5;
    const POOL: usize = 2; // 2×2 windows, stride 2
    let after_conv1 = IMAGE - KERNEL + 1; // (28 + 2·0 − 5)/1 + 1 = 24
    let after_pool1 = after_conv1 / POOL; // 12
    let after_conv2 = after_pool1 - KERNEL + 1; // 8
    let after_pool2 = after_conv2 / POOL; // 4
    let flattened = 20 * after_pool2 * after_pool2; // x.view(-1, 320)
    vec![
        conv_row("conv1", 1, 10, KERNEL),
        conv_row("conv2", 10, 20, KERNEL),
        fc_row("fc1", flattened, 50),
        fc_row("fc2", 50, 10),
    ]
}

/// The sum of the rows' parameters.
pub(crate) fn total_parameters(layers: &[LayerParams]) -> usize {
    let mut total = 0;
    for layer in layers {
        total += layer.params;
    }
    total
}

/// The rows as a plain-text table with a total line, for the terminal and the book.
pub fn format_table(layers: &[LayerParams]) -> String {
    let mut table = String::new();
    // Writing to a String cannot fail, so the fmt::Results are ignored.
    let _ = writeln!(table, "{:<8} {:<22} {:<36} {:>10}", "layer", "kind", "parameters", "count");
    for layer in layers {
        let _ =
            writeln!(table, "{:<8} {:<22} {:<36} {:>10}", layer.name, layer.kind, layer.shape, layer.params);
    }
    let _ = writeln!(table, "{:<8} {:<22} {:<36} {:>10}", "total", "", "", total_parameters(layers));
    table
}

/// Parameters of a fully connected layer and of a conv layer that do the same job on one
/// `height × width` image with `channels` channels: `(fc_params, conv_params)`.
///
/// The conv layer has `out_channels` kernels of size `kernel × kernel` (with "same" padding its output is
/// `out_channels` maps of `height × width`). The FC layer maps the `height · width · channels` input
/// values to the same number of outputs, `height · width · out_channels`, with one weight for every
/// input–output pair. For an MNIST digit and LeNet's conv1 (`fc_vs_conv(28, 28, 1, 10, 5)`) that is
/// 6,154,400 parameters against 260, and the FC layer still does not know which pixels are neighbours.
pub fn fc_vs_conv(
    height: usize,
    width: usize,
    channels: usize,
    out_channels: usize,
    kernel: usize,
) -> (usize, usize) {
    let inputs = height * width * channels;
    let outputs = height * width * out_channels;
    (fc_parameters(inputs, outputs), conv_parameters(channels, out_channels, kernel, kernel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::output_size;
    use candle_core::{DType, Device};
    use candle_nn::VarBuilder;

    #[test]
    fn lenet_counts_match_the_known_numbers() {
        let layers = lenet_parameters();
        let counts: Vec<(&str, usize)> = layers.iter().map(|l| (l.name, l.params)).collect();
        assert_eq!(counts, vec![("conv1", 260), ("conv2", 5020), ("fc1", 16050), ("fc2", 510)]);
        assert_eq!(total_parameters(&layers), 21840);
        assert_eq!(layers[0].shape, "weight [10, 1, 5, 5] + bias [10]");
        assert_eq!(layers[2].kind, "Linear(320, 50)");
        let table = format_table(&layers);
        assert!(table.lines().last().unwrap().ends_with("21840"), "{table}");
        assert_eq!(table.lines().count(), 6);
    }

    #[test]
    fn fc1_input_follows_the_output_size_formula() {
        let mut size = 28;
        for (kernel, stride) in [(5, 1), (2, 2), (5, 1), (2, 2)] {
            size = output_size(size, kernel, 0, stride).unwrap();
        }
        let fc1 = &lenet_parameters()[2];
        assert_eq!(fc1.kind, format!("Linear({}, 50)", 20 * size * size));
    }

    #[test]
    fn formulas_match_candle_nn_layers() {
        // candle-nn creates the actual weight and bias tensors; count their elements.
        let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
        for (in_channels, out_channels, kernel) in [(1, 10, 5), (10, 20, 5), (3, 64, 3), (2, 7, 1)] {
            let conv =
                candle_nn::conv2d(in_channels, out_channels, kernel, Default::default(), vb.clone()).unwrap();
            let counted = conv.weight().elem_count() + conv.bias().unwrap().elem_count();
            assert_eq!(conv_parameters(in_channels, out_channels, kernel, kernel), counted);
        }
        for (inputs, outputs) in [(320, 50), (50, 10), (784, 7840), (1, 1)] {
            let fc = candle_nn::linear(inputs, outputs, vb.clone()).unwrap();
            let counted = fc.weight().elem_count() + fc.bias().unwrap().elem_count();
            assert_eq!(fc_parameters(inputs, outputs), counted);
        }
    }

    #[test]
    fn fc_layers_need_far_more_weights_than_conv_layers() {
        // An MNIST digit through LeNet's conv1 vs an FC layer with as many outputs (28·28·10 = 7840).
        assert_eq!(fc_vs_conv(28, 28, 1, 10, 5), (784 * 7840 + 7840, 260));
        assert_eq!(fc_vs_conv(28, 28, 1, 10, 5), (6_154_400, 260));
        // A colour image: the conv layer's count does not depend on the image size, the FC layer's does.
        let (fc_small, conv_small) = fc_vs_conv(32, 32, 3, 16, 3);
        let (fc_large, conv_large) = fc_vs_conv(64, 64, 3, 16, 3);
        assert_eq!(conv_small, conv_large);
        assert_eq!(conv_small, 16 * 3 * 9 + 16);
        assert_eq!(fc_large - 16 * 64 * 64, 16 * (fc_small - 16 * 32 * 32)); // weights grow as (H·W)²
    }
}
