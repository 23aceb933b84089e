//! Draws one of each figure into a directory, to look at them: `cargo run --example viz_gallery -- DIR`.

use candle_core::{Device, Module, Tensor};
use lenet_tutor::Result;
use lenet_tutor::train::{EpochStats, History, Phase};
use lenet_tutor::viz::{self, Activations, ColorMap, Confusion, MapGrid, Normalization};

/// A digit-like "7": a bar on top and a diagonal stroke, 28×28 bytes.
fn seven() -> Vec<u8> {
    let mut pixels = vec![0u8; 784];
    for c in 6..22 {
        for r in 5..8 {
            pixels[r * 28 + c] = 255;
        }
    }
    for r in 8..24 {
        let c = 21 - (r - 8) / 2;
        for dc in 0..3 {
            pixels[r * 28 + c - dc] = 230;
        }
    }
    pixels
}

struct EdgeNet {
    conv: candle_nn::Conv2d,
}

impl Activations for EdgeNet {
    fn named_activations(&self, image: &Tensor) -> Result<Vec<(String, Tensor)>> {
        let conv = self.conv.forward(image)?;
        let relu = conv.relu()?;
        let pool = relu.max_pool2d(2)?;
        let logits = pool.mean_keepdim(3)?.mean_keepdim(2)?.flatten_from(1)?;
        let fc = pool.flatten_from(1)?.narrow(1, 0, 120)?;
        Ok(vec![
            ("conv1".into(), conv),
            ("relu".into(), relu),
            ("pool".into(), pool),
            ("fc".into(), fc),
            ("logits".into(), logits),
        ])
    }
}

fn main() -> Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "gallery".into()));
    std::fs::create_dir_all(&dir).map_err(|e| lenet_tutor::Error::io(&dir, e))?;
    let dev = &Device::Cpu;

    viz::digit_png(&seven(), 4)?.save(dir.join("digit.png"))?;

    let kernels = Tensor::new(
        &[
            [[[-1f32, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]],
            [[[-1f32, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]],
            [[[0f32, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]],
            [[[0.1f32, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]]],
        ],
        dev,
    )?;
    MapGrid::new(&kernels)?
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .labels(["sobel x", "sobel y", "laplace", "blur"])
        .title("four hand-made kernels")
        .render()?
        .save(dir.join("kernels.png"))?;

    let image = (Tensor::from_vec(seven(), (1, 1, 28, 28), dev)?.to_dtype(candle_core::DType::F32)? / 255.0)?;
    let net = EdgeNet { conv: candle_nn::Conv2d::new(kernels, None, Default::default()) };
    viz::feature_maps(&net, &image)?.save(dir.join("feature_maps.png"))?;

    let mut history = History::default();
    for epoch in 1..=8 {
        let e = epoch as f32;
        history.push(EpochStats {
            epoch,
            phase: Phase::Training,
            loss: 2.0 / e,
            correct: 9000 + 100 * epoch,
            total: 10000,
            seconds: 1.0,
        });
        history.push(EpochStats {
            epoch,
            phase: Phase::Validation,
            loss: 2.1 / e.sqrt(),
            correct: 8900 + 80 * epoch,
            total: 10000,
            seconds: 1.0,
        });
    }
    viz::curves_svg(&history)?.save(dir.join("curves.svg"))?;
    viz::curves_png(&history)?.save(dir.join("curves.png"))?;

    let truth: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
    let predicted: Vec<u8> =
        truth.iter().enumerate().map(|(i, &t)| if i % 7 == 0 { (t + 3) % 10 } else { t }).collect();
    let confusion = Confusion::from_predictions(&truth, &predicted, 10)?;
    confusion.heatmap_svg()?.save(dir.join("confusion.svg"))?;
    confusion.heatmap_png()?.save(dir.join("confusion.png"))?;

    let pixels: Vec<u8> = (0..200).flat_map(|_| seven()).collect();
    viz::mistakes_grid_from_bytes(&pixels, &truth, &predicted, 12)?.save(dir.join("mistakes.png"))?;

    let input: Vec<Vec<f32>> = (0..5).map(|r| (0..5).map(|c| ((r * 5 + c) % 4) as f32).collect()).collect();
    let kernel = vec![vec![1.0, 0.0, -1.0], vec![1.0, 0.0, -1.0], vec![1.0, 0.0, -1.0]];
    viz::conv_step_figure(&input, &kernel, 1, 2, 1, 1)?.save(dir.join("conv_step.svg"))?;
    Ok(())
}
