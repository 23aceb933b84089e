//! Every picture of a trained LeNet at once: what `lenet-tutor visualize` writes and what the
//! book's figures of chapter 7 are made of.

use std::path::{Path, PathBuf};

use candle_core::Tensor;

use super::{
    ColorMap, Confusion, Figure, MapGrid, Normalization, curves_svg, feature_maps, mistakes_grid_from_bytes,
};
use crate::data::{Dataset, images_tensor};
use crate::error::{Error, Result};
use crate::model::LeNet;
use crate::train::{History, Output, evaluate};

/// conv1's ten 5×5 kernels, blue for negative weights, red for positive, one shared scale.
pub fn conv1_kernels(model: &LeNet) -> Result<Figure> {
    MapGrid::new(&model.conv1_weight().squeeze(1)?)?
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .columns(10)
        .scale(12)
        .labels((0..10).map(|k| format!("{k}")))
        .title("conv1 kernels")
        .render()
}

/// conv2's 20×10 kernels of 5×5: row = output channel, column = input channel.
pub fn conv2_kernels(model: &LeNet) -> Result<Figure> {
    MapGrid::new(&model.conv2_weight().reshape((200, 5, 5))?)?
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .columns(10)
        .scale(6)
        .title("conv2 kernels")
        .render()
}

/// The `index`-th image of `dataset` as a normalised `[1,1,28,28]` tensor on the model's device.
pub fn image_tensor(dataset: &Dataset, index: usize, model: &LeNet) -> Result<Tensor> {
    if index >= dataset.len() {
        return Err(Error::InvalidArgument(format!(
            "image {index} does not exist: the data set has {} images",
            dataset.len()
        )));
    }
    images_tensor(
        dataset.image(index),
        dataset.rows(),
        dataset.cols(),
        dataset.name().normalization(),
        model.device(),
    )
}

/// The predictions of `model` on all of `dataset` as a confusion matrix.
pub fn confusion(model: &LeNet, dataset: &Dataset) -> Result<(Confusion, Vec<u32>)> {
    let (_, predictions) = evaluate(model, dataset, 1000, model.device(), Output::Quiet)?;
    let truth: Vec<u32> = dataset.labels().iter().map(|&l| u32::from(l)).collect();
    let confusion = Confusion::from_predictions(&truth, &predictions, 10)?
        .with_class_names(dataset.name().class_names().iter().copied())?;
    Ok((confusion, predictions))
}

/// Writes the whole set of pictures of `model` into `out_dir` and returns the files written:
/// `conv1-kernels.png`, `conv2-kernels.png`, `feature-maps.png` (of the first test image),
/// `confusion.svg`, `mistakes.png` and, when `history` has epochs, `curves.svg`.
pub fn write_model_figures(
    model: &LeNet,
    history: Option<&History>,
    test: &Dataset,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut written = Vec::new();
    let mut save = |name: &str, figure: Figure| -> Result<()> {
        let path = out_dir.join(name);
        figure.save(&path)?;
        written.push(path);
        Ok(())
    };
    save("conv1-kernels.png", conv1_kernels(model)?)?;
    save("conv2-kernels.png", conv2_kernels(model)?)?;
    save("feature-maps.png", feature_maps(model, &image_tensor(test, 0, model)?)?)?;
    let (confusion, predictions) = confusion(model, test)?;
    save("confusion.svg", confusion.heatmap_svg()?)?;
    let truth: Vec<u32> = test.labels().iter().map(|&l| u32::from(l)).collect();
    save("mistakes.png", mistakes_grid_from_bytes(test.images(), &truth, &predictions, 40)?)?;
    if let Some(history) = history.filter(|h| h.epochs() > 0) {
        save("curves.svg", curves_svg(history)?)?;
    }
    Ok(written)
}
