//! Figures of the receptive field, a shifted digit and a learned kernel (chapters 3 and 5).
//!
//! Each figure is drawn from the crate's experiments (`lenet_tutor::experiments::{receptive_field,
//! shift, learn_kernel}`). The body of each function below is, line for line, the figure cell of the
//! chapter's notebook (`notebooks/03-conv-layer.ipynb`, `05-pooling.ipynb`), so a reader who runs
//! the notebook draws the same picture; only the notebook's title is left out, since the book's
//! figures carry no sentences (their captions in the chapter say it, and get translated).

use std::path::Path;

use lenet_tutor::conv::{conv2d_single, kernels};
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::experiments::learn_kernel::learn_kernel;
use lenet_tutor::experiments::receptive_field::{highlight, lenet_receptive_fields};
use lenet_tutor::experiments::shift::shift_image;
use lenet_tutor::pool::max_pool2d;
use lenet_tutor::viz::{ColorMap, Figure, MapGrid, Normalization};
use lenet_tutor::{DType, Device, Result, Tensor};

pub fn write(out: &Path, device: &Device) -> Result<()> {
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
    // The training digit chapters 1–5 use: the sample's first, a handwritten 3. [28, 28], 0 to 1.
    let digit = (Tensor::from_slice(splits.train.image(0), (28, 28), device)?.to_dtype(DType::F32)? / 255.0)?;
    save(receptive_field(&digit)?, out, "ch03-receptive-field.png")?;
    save(shifted(&digit, device)?, out, "ch05-shift.png")?;
    let first_eight = Tensor::from_slice(&splits.train.images()[..8 * 784], (8, 1, 28, 28), device)?;
    let images = (first_eight.to_dtype(DType::F32)? / 255.0)?; // [8, 1, 28, 28]
    save(learned_kernel(&images, device)?, out, "ch05-learned-kernel.png")?;
    first_step_has_the_signs(&images, device)
}

/// Chapter 5 says of the figure: "After one step the kernel already has the right signs, negative on
/// the left and positive on the right". Checked here, outside the notebook's figure cell.
fn first_step_has_the_signs(images: &Tensor, device: &Device) -> Result<()> {
    let sobel_x = kernels::sobel_x(device)?;
    let targets = images.conv2d(&sobel_x.reshape((1, 1, 3, 3))?, 0, 1, 1, 1)?; // [8, 1, 26, 26]
    let rows = learn_kernel(images, &targets, 3, 1, 1.0)?.kernel.to_vec2::<f32>()?; // after 1 step
    if rows.iter().all(|row| row[0] < 0.0 && row[2] > 0.0) {
        Ok(())
    } else {
        Err(lenet_tutor::Error::InvalidArgument(format!(
            "chapter 5 says the kernel has Sobel x's signs after one step; it is {rows:?}"
        )))
    }
}

fn save(figure: Figure, out: &Path, name: &str) -> Result<()> {
    figure.save(out.join(name))?;
    println!("wrote {name} ({}×{})", figure.width(), figure.height());
    Ok(())
}

/// The digit, then the field of one unit of each LeNet layer marked on it. The units are chosen so
/// that each field holds the one before: conv1 (11, 11) is one of the units pool1 (5, 5) takes the
/// maximum of, and so on.
fn receptive_field(digit: &Tensor) -> Result<Figure> {
    let units = [(11usize, 11usize), (5, 5), (3, 3), (1, 1)]; // one unit of conv1, pool1, conv2, pool2
    let mut panels = vec![digit.clone()];
    let mut labels = vec!["the digit, 28×28".to_string()];
    for (field, (row, col)) in lenet_receptive_fields().iter().zip(units) {
        panels.push(highlight(digit, field.region(row, col)?)?);
        labels.push(format!("{} ({row}, {col}): {}×{}", field.name, field.size, field.size));
    }
    MapGrid::new(&Tensor::stack(&panels, 0)?)? // [5, 28, 28]
        .normalization(Normalization::Shared)
        .scale(5)
        .labels(labels)
        .render()
}

/// The sobel_x map of `image` `[28, 28]`, max-pooled 2×2 and drawn back at 28×28 (each pooled value a
/// 2×2 block).
fn pooled_sobel_x(image: &Tensor, sobel_x: &Tensor) -> Result<Tensor> {
    let map = conv2d_single(image, sobel_x, 1, 1)?.unsqueeze(0)?; // [1, 28, 28]
    Ok(max_pool2d(&map, 2, 2)?.unsqueeze(0)?.upsample_nearest2d(28, 28)?.squeeze(0)?.squeeze(0)?)
}

/// The digit shifted right by 0, 1 and 2 pixels; its sobel_x map; that map max-pooled; and how the
/// pooled map differs from the unshifted digit's.
fn shifted(digit: &Tensor, device: &Device) -> Result<Figure> {
    let sobel_x = kernels::sobel_x(device)?;
    let pooled_original = pooled_sobel_x(digit, &sobel_x)?;
    let mut panels: Vec<Tensor> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for dx in [0, 1, 2] {
        let image = shift_image(digit, dx, 0)?;
        let pooled = pooled_sobel_x(&image, &sobel_x)?;
        let map = conv2d_single(&image, &sobel_x, 1, 1)?;
        panels.extend([image, map, pooled.clone(), (pooled - &pooled_original)?]);
        labels.extend([format!("digit, {dx} px right"), "sobel_x map".into(), "max-pooled".into()]);
        labels.push("pooled − unshifted pooled".into());
    }
    MapGrid::new(&Tensor::stack(&panels, 0)?)? // [12, 28, 28]
        .columns(4)
        .color_map(ColorMap::Diverging)
        .scale(4)
        .labels(labels)
        .render()
}

/// The kernel `learn_kernel` holds after 0, 1, 10, 50 and 400 steps, next to Sobel x, the kernel that
/// made its targets; all on one colour scale.
fn learned_kernel(images: &Tensor, device: &Device) -> Result<Figure> {
    let sobel_x = kernels::sobel_x(device)?;
    let targets = images.conv2d(&sobel_x.reshape((1, 1, 3, 3))?, 0, 1, 1, 1)?; // [8, 1, 26, 26]
    let mut panels: Vec<Tensor> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for steps in [0, 1, 10, 50, 400] {
        // Every run starts from zeros on the same pairs: n steps end where a longer run was after n.
        panels.push(learn_kernel(images, &targets, 3, steps, 1.0)?.kernel); // [3, 3]
        labels.push(format!("step {steps}"));
    }
    panels.push(sobel_x);
    labels.push("Sobel x (true)".into());
    MapGrid::new(&Tensor::stack(&panels, 0)?)? // [6, 3, 3]
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .scale(24)
        .labels(labels)
        .render()
}
