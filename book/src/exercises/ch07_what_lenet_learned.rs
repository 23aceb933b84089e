//! Exercises of chapter 7, "What LeNet learned": the most confused pair, and an occlusion map.

use lenet_tutor::ModuleT;
use lenet_tutor::model::LeNet;
use lenet_tutor::viz::Confusion;
use lenet_tutor::{Result, Tensor};

// ANCHOR: most_confused
/// The off-diagonal cell with the largest count: `(true class, predicted class, count)`,
/// or `None` when the matrix has no mistakes at all.
pub fn most_confused(confusion: &Confusion) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    for (truth, row) in confusion.counts().iter().enumerate() {
        for (predicted, &count) in row.iter().enumerate() {
            let larger = best.is_none_or(|(_, _, c)| count > c);
            if truth != predicted && count > 0 && larger {
                best = Some((truth, predicted, count));
            }
        }
    }
    best
}
// ANCHOR_END: most_confused

// ANCHOR: occlusion
/// Covers `image` (`[1,1,28,28]`, normalised) with a `patch`×`patch` square of `background` at each
/// position of a grid with step `patch`, and returns how much the probability of `label` drops for
/// each position, row by row (`(28 / patch)²` values; positive: that region mattered).
pub fn occlusion(
    model: &LeNet,
    image: &Tensor,
    label: usize,
    patch: usize,
    background: f32,
) -> Result<Vec<f32>> {
    let pixels = image.flatten_all()?.to_vec1::<f32>()?; // 784 values
    let cells = 28 / patch;
    // One occluded copy per grid cell, all in one batch: [cells², 1, 28, 28].
    let mut batch = Vec::with_capacity(cells * cells * 784);
    for cell_y in 0..cells {
        for cell_x in 0..cells {
            let mut copy = pixels.clone();
            for y in cell_y * patch..(cell_y + 1) * patch {
                for x in cell_x * patch..(cell_x + 1) * patch {
                    copy[y * 28 + x] = background;
                }
            }
            batch.extend(copy);
        }
    }
    let batch = Tensor::from_vec(batch, (cells * cells, 1, 28, 28), image.device())?;
    let probability = |x: &Tensor| -> Result<Vec<f32>> {
        Ok(model.forward_t(x, false)?.exp()?.narrow(1, label, 1)?.flatten_all()?.to_vec1::<f32>()?)
    };
    let original = probability(image)?[0];
    Ok(probability(&batch)?.iter().map(|p| original - p).collect())
}
// ANCHOR_END: occlusion

#[cfg(test)]
mod tests {
    use super::*;
    use lenet_tutor::Device;
    use lenet_tutor::data::{self, DataOptions, DatasetName};
    use lenet_tutor::data::{images_tensor, normalize_pixel};

    #[test]
    fn finds_the_largest_mistake() {
        let truth = [4u32, 4, 4, 9, 9, 7, 7, 7, 1];
        let predicted = [9u32, 9, 4, 4, 9, 1, 7, 2, 1];
        let confusion = Confusion::from_predictions(&truth, &predicted, 10).unwrap();
        assert_eq!(most_confused(&confusion), Some((4, 9, 2)));
        let perfect = Confusion::from_predictions(&[1u32, 2, 3], &[1u32, 2, 3], 10).unwrap();
        assert_eq!(most_confused(&perfect), None);
    }

    #[test]
    fn occluding_background_with_background_changes_nothing() {
        let device = Device::Cpu;
        let test = data::load_test(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        let (mean, std) = test.name().normalization();
        let image = images_tensor(test.image(0), 28, 28, (mean, std), &device).unwrap();
        let model = LeNet::new(1, &device).unwrap();
        let label = usize::from(test.label(0));
        let background = normalize_pixel(0, (mean, std));
        let drops = occlusion(&model, &image, label, 7, background).unwrap();
        assert_eq!(drops.len(), 16);
        // MNIST digits are centred in a 20×20 box: the 7×7 corners are empty, so covering them with
        // the background value gives back the very same image.
        for corner in [0, 3, 12, 15] {
            assert!(drops[corner].abs() < 1e-6, "corner {corner}: {}", drops[corner]);
        }
        // Covering the digit's middle changes what the network sees.
        assert!(drops[5].abs() > 1e-4 || drops[6].abs() > 1e-4, "{drops:?}");
    }
}
