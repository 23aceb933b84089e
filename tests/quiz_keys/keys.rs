//! The answer keys of the "Check yourself" questions of chapters 1–7, computed by the crate.
//!
//! Each key returns exactly what the chapter's quiz shows as right: the text of the option marked
//! `{{#right}}`, or the number of `{{#answer N}}` as Rust's `{}` prints it. Choice questions whose
//! options are words compute every option and return the one that passes the test (an error when
//! none or several do: then the question itself is wrong). Everything runs on the CPU, with no
//! trained model and no data files.

use lenet_tutor::conv::conv1d::conv1d;
use lenet_tutor::conv::{conv2d, conv2d_single, kernels, output_size, window_at};
use lenet_tutor::experiments::receptive_field::{Layer, lenet_receptive_fields, receptive_fields};
use lenet_tutor::experiments::shift::{shift_image, similarity};
use lenet_tutor::experiments::{conv_parameters, fc_parameters, fc_vs_conv, lenet_parameters};
use lenet_tutor::model::{Dropout2d, LeNet};
use lenet_tutor::pool::{avg_pool2d, max_pool2d};
use lenet_tutor::train::{Sgd, SgdConfig};
use lenet_tutor::viz::Confusion;
use lenet_tutor::{D, DType, Device, Error, Module, Optimizer, Result, Tensor, Var, candle_nn, rng};

/// Every question's id with the function that computes its key.
/// Computes one answer key: the right option's text, or the number.
pub type Key = fn() -> Result<String>;

pub const KEYS: &[(&str, Key)] = &[
    ("ch01-dot-product", ch01_dot_product),
    ("ch01-map-size", ch01_map_size),
    ("ch01-flat-area", ch01_flat_area),
    ("ch01-signal-length", ch01_signal_length),
    ("ch02-deep-dot-product", ch02_deep_dot_product),
    ("ch02-kernel-shape", ch02_kernel_shape),
    ("ch02-feature-map-shape", ch02_feature_map_shape),
    ("ch02-next-depth", ch02_next_depth),
    ("ch03-same-padding", ch03_same_padding),
    ("ch03-output-size", ch03_output_size),
    ("ch03-floor-rule", ch03_floor_rule),
    ("ch03-receptive-field", ch03_receptive_field),
    ("ch03-conv-params", ch03_conv_params),
    ("ch04-affine", ch04_affine),
    ("ch04-flatten-index", ch04_flatten_index),
    ("ch04-mlp-params", ch04_mlp_params),
    ("ch04-what-grows", ch04_what_grows),
    ("ch04-gradient-step", ch04_gradient_step),
    ("ch05-max-pool", ch05_max_pool),
    ("ch05-avg-pool", ch05_avg_pool),
    ("ch05-pool-shape", ch05_pool_shape),
    ("ch05-shift-inside-window", ch05_shift_inside_window),
    ("ch05-pool-params", ch05_pool_params),
    ("ch06-flatten-shape", ch06_flatten_shape),
    ("ch06-wider-conv2", ch06_wider_conv2),
    ("ch06-softmax", ch06_softmax),
    ("ch06-momentum", ch06_momentum),
    ("ch06-dropout-scale", ch06_dropout_scale),
    ("ch07-ramp-cosine", ch07_ramp_cosine),
    ("ch07-conv2-kernel-weights", ch07_conv2_kernel_weights),
    ("ch07-pool2-patch", ch07_pool2_patch),
    ("ch07-recall", ch07_recall),
    ("ch07-precision", ch07_precision),
];

// ---------------------------------------------------------------------------------------------
// Helpers

/// The one option that passed its test, out of `(option text, passed)` for every option of the
/// question `id`. An error when no option or more than one passed.
fn the_right_one(id: &str, checked: Vec<(String, bool)>) -> Result<String> {
    let right: Vec<&String> = checked.iter().filter(|(_, passed)| *passed).map(|(text, _)| text).collect();
    match right.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(Error::InvalidArgument(format!(
            "{id}: {} of the {} options pass, exactly one should: {right:?}",
            right.len(),
            checked.len()
        ))),
    }
}

/// `value` rounded to `decimals` places, printed as Rust prints an `f32` (no trailing zeros).
fn rounded(value: f32, decimals: i32) -> String {
    let scale = 10f32.powi(decimals);
    format!("{}", (value * scale).round() / scale)
}

// ---------------------------------------------------------------------------------------------
// Chapter 1: Convolution

/// The dot product of the window `1 2 0 / 0 1 3 / 2 0 4` with the right-minus-left kernel.
fn ch01_dot_product() -> Result<String> {
    let device = Device::Cpu;
    let window = Tensor::new(&[[1f32, 2., 0.], [0., 1., 3.], [2., 0., 4.]], &device)?;
    let kernel = Tensor::new(&[[-1f32, 0., 1.], [-1., 0., 1.], [-1., 0., 1.]], &device)?;
    let step = window_at(&window, &kernel, None, 0, (0, 0), 0, 1)?;
    Ok(format!("{}", step.dot_product))
}

/// A 3×3 kernel on an image of 6 rows and 8 columns, no padding, stride 1.
fn ch01_map_size() -> Result<String> {
    let device = Device::Cpu;
    let image = Tensor::zeros((6, 8), DType::F32, &device)?; // [H, W]
    let kernel = Tensor::zeros((3, 3), DType::F32, &device)?;
    let (rows, columns) = conv2d_single(&image, &kernel, 0, 1)?.dims2()?;
    Ok(format!("{rows} rows, {columns} columns"))
}

/// Which of identity, box_blur, sobel_x, sharpen gives 0 everywhere on a flat image of 0.5.
fn ch01_flat_area() -> Result<String> {
    let device = Device::Cpu;
    let flat = Tensor::full(0.5f32, (5, 5), &device)?;
    let classic = kernels::classic(&device)?;
    let mut checked = Vec::new();
    for option in ["identity", "box_blur", "sobel_x", "sharpen"] {
        let (_, kernel) = classic
            .iter()
            .find(|(name, _)| *name == option)
            .ok_or_else(|| Error::InvalidArgument(format!("ch01-flat-area: no classic kernel {option}")))?;
        let map = conv2d_single(&flat, kernel, 0, 1)?; // [3, 3]
        let largest = map.abs()?.max_all()?.to_scalar::<f32>()?;
        checked.push((option.to_string(), largest < 1e-6));
    }
    the_right_one("ch01-flat-area", checked)
}

/// The length of a 60-sample signal after a 5-weight kernel, no padding, stride 5.
fn ch01_signal_length() -> Result<String> {
    let device = Device::Cpu;
    let signal = Tensor::zeros(60, DType::F32, &device)?; // [L]
    let kernel = Tensor::ones(5, DType::F32, &device)?; // [F]
    let output = conv1d(&signal, &kernel, 0, 5)?;
    Ok(format!("{}", output.dims1()?))
}

// ---------------------------------------------------------------------------------------------
// Chapter 2: Channels and feature maps

/// The number of products in one dot product of a 3-deep 5×5 kernel with its window.
fn ch02_deep_dot_product() -> Result<String> {
    let device = Device::Cpu;
    let image = Tensor::zeros((3, 8, 8), DType::F32, &device)?; // [C, H, W]: a colour image
    let kernel = Tensor::zeros((3, 5, 5), DType::F32, &device)?; // one kernel [C, FH, FW]
    let step = window_at(&image, &kernel, None, 0, (0, 0), 0, 1)?;
    Ok(format!("{}", step.products.len()))
}

/// Which kernel shape `conv2d` accepts on a `[3, 32, 32]` image and turns into 8 maps.
fn ch02_kernel_shape() -> Result<String> {
    let device = Device::Cpu;
    let image = Tensor::zeros((3, 32, 32), DType::F32, &device)?;
    let options: [[usize; 4]; 4] = [[3, 8, 5, 5], [8, 3, 5, 5], [8, 1, 5, 5], [1, 3, 5, 5]];
    let mut checked = Vec::new();
    for shape in options {
        let kernels = Tensor::zeros(&shape, DType::F32, &device)?;
        let right = match conv2d(&image, &kernels, None, 0, 1) {
            Ok(maps) => maps.dims()[0] == 8, // accepted: are there 8 activation maps?
            Err(Error::Shape(_)) => false,   // refused: depth ≠ the image's channels
            Err(other) => return Err(other),
        };
        checked.push((format!("`{shape:?}`"), right));
    }
    the_right_one("ch02-kernel-shape", checked)
}

/// The feature map of 6 kernels `[6, 3, 3, 3]` on a `[3, 28, 28]` image, no padding, stride 1.
fn ch02_feature_map_shape() -> Result<String> {
    let device = Device::Cpu;
    let image = Tensor::zeros((3, 28, 28), DType::F32, &device)?;
    let kernels = Tensor::zeros((6, 3, 3, 3), DType::F32, &device)?;
    let feature_map = conv2d(&image, &kernels, None, 0, 1)?;
    Ok(format!("`{:?}`", feature_map.dims()))
}

/// Which kernel depth `conv2d` accepts on a `[6, 26, 26]` feature map.
fn ch02_next_depth() -> Result<String> {
    let device = Device::Cpu;
    let feature_map = Tensor::zeros((6, 26, 26), DType::F32, &device)?;
    let mut checked = Vec::new();
    for depth in [1usize, 3, 26, 6] {
        let kernels = Tensor::zeros((1, depth, 3, 3), DType::F32, &device)?;
        let accepted = match conv2d(&feature_map, &kernels, None, 0, 1) {
            Ok(_) => true,
            Err(Error::Shape(_)) => false,
            Err(other) => return Err(other),
        };
        checked.push((depth.to_string(), accepted));
    }
    the_right_one("ch02-next-depth", checked)
}

// ---------------------------------------------------------------------------------------------
// Chapter 3: The conv layer

/// The padding (of 1, 2, 3, 6) that keeps a 32-pixel side with a 7×7 kernel and stride 1.
fn ch03_same_padding() -> Result<String> {
    let mut checked = Vec::new();
    for padding in [1usize, 2, 3, 6] {
        let keeps = output_size(32, 7, padding, 1)? == 32;
        checked.push((padding.to_string(), keeps));
    }
    the_right_one("ch03-same-padding", checked)
}

/// (64 + 2·2 − 5)/3 + 1.
fn ch03_output_size() -> Result<String> {
    Ok(format!("{}", output_size(64, 5, 2, 3)?))
}

/// candle's conv2d on a 28×28 image, 3×3 kernel, no padding, stride 2 (rounds down).
fn ch03_floor_rule() -> Result<String> {
    let device = Device::Cpu;
    let image = Tensor::zeros((1, 1, 28, 28), DType::F32, &device)?; // [B, C, H, W]
    let kernel = Tensor::zeros((1, 1, 3, 3), DType::F32, &device)?; // [K, C, FH, FW]
    // padding 0, stride 2, dilation 1, groups 1
    let (_, _, height, width) = image.conv2d(&kernel, 0, 2, 1, 1)?.dims4()?;
    Ok(format!("{height}×{width}"))
}

/// The receptive field of the last conv of conv 3×3, conv 3×3, pool 2×2 (stride 2), conv 3×3.
fn ch03_receptive_field() -> Result<String> {
    let layers = [
        Layer { name: "conv_a", kernel: 3, stride: 1, padding: 0 },
        Layer { name: "conv_b", kernel: 3, stride: 1, padding: 0 },
        Layer { name: "pool", kernel: 2, stride: 2, padding: 0 },
        Layer { name: "conv_c", kernel: 3, stride: 1, padding: 0 },
    ];
    let fields = receptive_fields(&layers)?;
    let last = fields.last().ok_or_else(|| Error::InvalidArgument("no layers".into()))?;
    Ok(format!("{}", last.size))
}

/// 16 kernels of 3×3 on 3 channels: weights plus biases.
fn ch03_conv_params() -> Result<String> {
    Ok(format!("{}", conv_parameters(3, 16, 3, 3)))
}

// ---------------------------------------------------------------------------------------------
// Chapter 4: The FC layer

/// The first output of W·x + b, W = [[1, 0, −1], [2, 1, 0]], b = [0.5, −1], x = [3, 1, 2].
fn ch04_affine() -> Result<String> {
    let device = Device::Cpu;
    let w = Tensor::new(&[[1f32, 0., -1.], [2., 1., 0.]], &device)?; // [m, n] = [2, 3]
    let b = Tensor::new(&[0.5f32, -1.], &device)?; // [m]
    let x = Tensor::new(&[3f32, 1., 2.], &device)?; // [n]
    let layer = candle_nn::Linear::new(w, Some(b));
    let y = layer.forward(&x.unsqueeze(0)?)?.squeeze(0)?.to_vec1::<f32>()?; // [2]
    Ok(format!("{}", y[0]))
}

/// Where pixel (4, 5), the one below (3, 5), lands when a 28×28 grid is flattened.
fn ch04_flatten_index() -> Result<String> {
    let mut grid = [[0f32; 28]; 28];
    grid[4][5] = 1.0; // the pixel just below (3, 5)
    let flat = Tensor::new(&grid, &Device::Cpu)?.flatten_all()?; // [784]
    let index = flat.argmax(0)?.to_scalar::<u32>()?;
    Ok(format!("{index}"))
}

/// An MLP 784 → 64 → 10.
fn ch04_mlp_params() -> Result<String> {
    Ok(format!("{}", fc_parameters(784, 64) + fc_parameters(64, 10)))
}

/// Which count changes when the image grows from 32×32 to 64×64 (4 maps, 3×3 kernels).
fn ch04_what_grows() -> Result<String> {
    let (fc_small, conv_small) = fc_vs_conv(32, 32, 1, 4, 3);
    let (fc_large, conv_large) = fc_vs_conv(64, 64, 1, 4, 3);
    let (fc_changes, conv_changes) = (fc_small != fc_large, conv_small != conv_large);
    let checked = vec![
        ("only the conv layer's".to_string(), conv_changes && !fc_changes),
        ("both".to_string(), conv_changes && fc_changes),
        ("only the FC layer's".to_string(), fc_changes && !conv_changes),
        ("neither".to_string(), !fc_changes && !conv_changes),
    ];
    the_right_one("ch04-what-grows", checked)
}

/// One SGD step from w = 1 with gradient 2 (loss = w², whose gradient at 1 is 2), lr 0.25.
fn ch04_gradient_step() -> Result<String> {
    let device = Device::Cpu;
    let w = Var::new(&[1f32], &device)?;
    let mut sgd = Sgd::new(vec![w.clone()], SgdConfig { lr: 0.25, momentum: 0.0 })?;
    let loss = w.as_tensor().sqr()?.sum_all()?; // w², gradient 2w = 2
    sgd.backward_step(&loss)?;
    Ok(rounded(w.as_tensor().to_vec1::<f32>()?[0], 4))
}

// ---------------------------------------------------------------------------------------------
// Chapter 5: Pooling

/// The chapter-5 quiz map `[1, 4, 4]`.
fn ch05_map(device: &Device) -> Result<Tensor> {
    Ok(Tensor::new(&[[[2f32, 0., 1., 5.], [3., 1., 4., 2.], [0., 6., 1., 1.], [2., 2., 0., 3.]]], device)?)
}

/// Max pooling 2×2, stride 2: the top-right value.
fn ch05_max_pool() -> Result<String> {
    let pooled = max_pool2d(&ch05_map(&Device::Cpu)?, 2, 2)?.squeeze(0)?.to_vec2::<f32>()?;
    Ok(format!("{}", pooled[0][1]))
}

/// Average pooling 2×2, stride 2: the bottom-left value.
fn ch05_avg_pool() -> Result<String> {
    let pooled = avg_pool2d(&ch05_map(&Device::Cpu)?, 2, 2)?.squeeze(0)?.to_vec2::<f32>()?;
    Ok(format!("{}", pooled[1][0]))
}

/// Max pooling 4×4, stride 4, on `[6, 20, 20]`.
fn ch05_pool_shape() -> Result<String> {
    let maps = Tensor::zeros((6, 20, 20), DType::F32, &Device::Cpu)?;
    Ok(format!("`{:?}`", max_pool2d(&maps, 4, 4)?.dims()))
}

/// A single 1 at (0, 2) of an 8×8 map moves to (0, 3): what happens to the 2×2 max-pooled map?
fn ch05_shift_inside_window() -> Result<String> {
    let mut grid = [[0f32; 8]; 8];
    grid[0][2] = 1.0;
    let before = Tensor::new(&grid, &Device::Cpu)?.unsqueeze(0)?; // [1, 8, 8]
    let after = shift_image(&before, 1, 0)?; // one pixel to the right
    let (pooled_before, pooled_after) = (max_pool2d(&before, 2, 2)?, max_pool2d(&after, 2, 2)?); // [1, 4, 4]
    let unchanged = pooled_before.to_vec3::<f32>()? == pooled_after.to_vec3::<f32>()?;
    let total_after = pooled_after.sum_all()?.to_scalar::<f32>()?;
    // Where the 1 is in each pooled map (flat index in the 4×4 map; same row here, so the difference
    // is the number of cells it moved to the right).
    let position = |pooled: &Tensor| -> Result<i64> {
        Ok(i64::from(pooled.flatten_all()?.argmax(0)?.to_scalar::<u32>()?))
    };
    let moved = position(&pooled_after)? - position(&pooled_before)?;
    let checked = vec![
        ("it does not change".to_string(), unchanged),
        ("its 1 moves one cell to the right".to_string(), !unchanged && total_after > 0.0 && moved == 1),
        ("its 1 moves two cells to the right".to_string(), !unchanged && total_after > 0.0 && moved == 2),
        ("it becomes all zeros".to_string(), total_after == 0.0),
    ];
    the_right_one("ch05-shift-inside-window", checked)
}

/// LeNet's parameters minus those of its conv and FC layers: what is left for the poolings.
fn ch05_pool_params() -> Result<String> {
    let model = LeNet::new(1, &Device::Cpu)?; // the count does not depend on the seed
    let conv_and_fc: usize = lenet_parameters().iter().map(|layer| layer.params).sum();
    Ok(format!("{}", model.num_parameters() - conv_and_fc))
}

// ---------------------------------------------------------------------------------------------
// Chapter 6: LeNet on MNIST

/// pool2's output for a batch of 32, flattened from dimension 1 (`x.view(-1, 320)`).
fn ch06_flatten_shape() -> Result<String> {
    let device = Device::Cpu;
    let model = LeNet::new(1, &device)?;
    let batch = Tensor::zeros((32, 1, 28, 28), DType::F32, &device)?;
    let pool2 = model.activations(&batch)?.pool2; // [32, 20, 4, 4]
    Ok(format!("`{:?}`", pool2.flatten_from(1)?.dims()))
}

/// fc1's parameters if conv2 had 40 kernels: the sizes from the output-size formula.
fn ch06_wider_conv2() -> Result<String> {
    let conv1 = output_size(28, 5, 0, 1)?;
    let pool1 = output_size(conv1, 2, 0, 2)?;
    let conv2 = output_size(pool1, 5, 0, 1)?;
    let pool2 = output_size(conv2, 2, 0, 2)?;
    Ok(format!("{}", fc_parameters(40 * pool2 * pool2, 50)))
}

/// softmax([ln 9, 0, …, 0])₀, via log_softmax and exp as the chapter does.
fn ch06_softmax() -> Result<String> {
    let mut scores = [0f32; 10];
    scores[0] = 9f32.ln();
    let scores = Tensor::new(&scores, &Device::Cpu)?;
    let probabilities = candle_nn::ops::log_softmax(&scores, D::Minus1)?.exp()?.to_vec1::<f32>()?;
    Ok(rounded(probabilities[0], 4))
}

/// Two steps of SGD (lr 0.1, momentum 0.9) on loss = w²/2 from w = 1.
fn ch06_momentum() -> Result<String> {
    let device = Device::Cpu;
    let w = Var::new(&[1f32], &device)?;
    let mut sgd = Sgd::new(vec![w.clone()], SgdConfig { lr: 0.1, momentum: 0.9 })?;
    for _ in 0..2 {
        let loss = (w.as_tensor().sqr()? * 0.5)?.sum_all()?; // w²/2, gradient w
        sgd.backward_step(&loss)?;
    }
    Ok(rounded(w.as_tensor().to_vec1::<f32>()?[0], 4))
}

/// What Dropout2d(0.5) does, in training, to the maps it keeps: compare a kept map of ones with
/// each option's factor.
fn ch06_dropout_scale() -> Result<String> {
    let dropout = Dropout2d::new(0.5, rng::seeded(1))?;
    let ones = Tensor::ones((1, 20, 2, 2), DType::F32, &Device::Cpu)?; // 20 maps of ones
    let values = dropout.forward_t(&ones, true)?.flatten_all()?.to_vec1::<f32>()?;
    let kept: Vec<f32> = values.into_iter().filter(|&v| v != 0.0).collect();
    if kept.is_empty() {
        return Err(Error::InvalidArgument("ch06-dropout-scale: every map was dropped".into()));
    }
    let checked = [("it leaves it as it is", 1.0f32), ("it doubles it", 2.0), ("it halves it", 0.5)]
        .into_iter()
        .map(|(option, factor)| (option.to_string(), kept.iter().all(|&v| (v - factor).abs() < 1e-6)))
        .collect();
    the_right_one("ch06-dropout-scale", checked)
}

// ---------------------------------------------------------------------------------------------
// Chapter 7: What LeNet learned

/// Which kernel has a cosine of at least 0.5 in size with the 5×5 ramp (columns −2 … 2).
fn ch07_ramp_cosine() -> Result<String> {
    let device = Device::Cpu;
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Result<Tensor> {
        let values: Vec<f32> = (0..25).map(|i| f(i / 5, i % 5)).collect();
        Ok(Tensor::from_vec(values, (5, 5), &device)?)
    };
    let ramp = grid(&|_row, col| col as f32 - 2.0)?;
    let options: Vec<(&str, Tensor)> = vec![
        ("the ramp turned a quarter (rows −2 to 2)", grid(&|row, _col| row as f32 - 2.0)?),
        ("the ramp reversed (columns 2 to −2)", grid(&|_row, col| 2.0 - col as f32)?),
        ("all 25 weights 1", grid(&|_row, _col| 1.0)?),
        ("a single 1 in the centre", grid(&|row, col| if (row, col) == (2, 2) { 1.0 } else { 0.0 })?),
    ];
    let mut checked = Vec::new();
    for (option, kernel) in options {
        let cosine = similarity(&kernel, &ramp)?.cosine;
        checked.push((option.to_string(), cosine.abs() >= 0.5));
    }
    the_right_one("ch07-ramp-cosine", checked)
}

/// The weights of one conv2 kernel: its depth times its height times its width.
fn ch07_conv2_kernel_weights() -> Result<String> {
    let model = LeNet::new(1, &Device::Cpu)?;
    let (_kernels, depth, height, width) = model.conv2_weight().dims4()?; // [20, 10, 5, 5]
    Ok(format!("{}", depth * height * width))
}

/// The receptive field of a pool2 unit of the notes' LeNet.
fn ch07_pool2_patch() -> Result<String> {
    let fields = lenet_receptive_fields();
    let pool2 = fields
        .iter()
        .find(|field| field.name == "pool2")
        .ok_or_else(|| Error::InvalidArgument("ch07-pool2-patch: LeNet has no pool2".into()))?;
    Ok(format!("{0}×{0}", pool2.size))
}

/// The confusion matrix of the chapter-7 quiz's eight digits.
fn ch07_confusion() -> Result<Confusion> {
    let truth = [4u32, 4, 4, 4, 9, 9, 9, 9];
    let predicted = [4u32, 4, 4, 9, 9, 9, 4, 4];
    Confusion::from_predictions(&truth, &predicted, 10)
}

/// Recall of 9, in percent.
fn ch07_recall() -> Result<String> {
    let recall =
        ch07_confusion()?.recall(9).ok_or_else(|| Error::InvalidArgument("ch07-recall: no 9s".into()))?;
    Ok(format!("{recall}"))
}

/// Precision of 4, in percent.
fn ch07_precision() -> Result<String> {
    let precision = ch07_confusion()?
        .precision(4)
        .ok_or_else(|| Error::InvalidArgument("ch07-precision: nothing predicted as 4".into()))?;
    Ok(format!("{precision}"))
}
