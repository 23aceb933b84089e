//! The figures of the introduction and chapters 1–5: convolution, channels, the conv layer, the FC
//! layer and pooling. Nothing here needs a trained model; the one long step is the permutation
//! experiment of chapter 4, whose four accuracies become the chapter's table
//! (`book/src/generated/ch04.md`).
//!
//! Every figure is named after its chapter (`ch01-…`) and drawn by the crate's `viz` module; the
//! small helpers below only arrange the crate's tensors into the grids the chapters show.

use std::path::Path;

use lenet_tutor::conv::{self, kernels};
use lenet_tutor::data::{self, DataOptions, Dataset, DatasetName};
use lenet_tutor::experiments::{
    Mlp, PermutationConfig, PermutationResult, permutation_experiment, permute_pixels, pixel_permutation,
};
use lenet_tutor::model::LeNet;
use lenet_tutor::viz::{self, ColorMap, MapGrid, Normalization};
use lenet_tutor::{DType, Device, Result, Tensor};

use crate::generated::Generated;

/// The training digit the chapters convolve and pool: the sample's first, a handwritten 3.
const DIGIT: usize = 0;

/// The 5×5 grid of chapter 1, worked by hand: dark on the left, bright on the right.
const EDGE_IMAGE: [[f32; 5]; 5] = [
    [0.0, 0.0, 2.0, 2.0, 2.0],
    [0.0, 0.0, 2.0, 2.0, 2.0],
    [0.0, 1.0, 2.0, 2.0, 2.0],
    [0.0, 1.0, 2.0, 2.0, 2.0],
    [0.0, 0.0, 2.0, 2.0, 2.0],
];

/// Chapter 1's kernel: the right column minus the left column.
const RIGHT_MINUS_LEFT: [[f32; 3]; 3] = [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]];

pub fn write(out: &Path) -> Result<()> {
    let device = lenet_tutor::device::auto();
    println!("basics: device {}", lenet_tutor::device::name(&device));
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
    intro(out, &splits.train)?;
    ch01(out, &splits.train, &device)?;
    ch02(out, &splits.train, &device)?;
    ch03(out)?;
    ch05(out, &splits.train, &device)?;
    // Last, because it trains four networks: the other figures are written even if it is stopped.
    ch04(out, &splits.train, &splits.test, &device)?;
    Ok(())
}

/// Saves `figure` as `out/name` and says so.
fn save(figure: viz::Figure, out: &Path, name: &str) -> Result<()> {
    figure.save(out.join(name))?;
    println!("wrote {name} ({}×{})", figure.width(), figure.height());
    Ok(())
}

/// A digit's bytes as a `[28, 28]` tensor of brightness from 0 (black) to 1 (white).
fn digit_tensor(pixels: &[u8], rows: usize, cols: usize, device: &Device) -> Result<Tensor> {
    let bytes = Tensor::from_slice(pixels, (rows, cols), device)?;
    Ok((bytes.to_dtype(DType::F32)? / 255.0)?)
}

fn rows<const N: usize, const M: usize>(grid: &[[f32; M]; N]) -> Vec<Vec<f32>> {
    grid.iter().map(|row| row.to_vec()).collect()
}

/// The first 16 digits of the bundled sample, with their labels.
fn intro(out: &Path, train: &Dataset) -> Result<()> {
    let count = 16;
    let values: Vec<f32> = train.images()[..count * 784].iter().map(|&b| f32::from(b)).collect();
    let figure = MapGrid::from_values(values, count, 28, 28)?
        .columns(8)
        .scale(3)
        .labels((0..count).map(|i| format!("label {}", train.label(i))))
        .render()?;
    save(figure, out, "intro-sample-digits.png")
}

/// Three steps of the hand-worked convolution, the classic kernels, and a digit seen through each.
fn ch01(out: &Path, train: &Dataset, device: &Device) -> Result<()> {
    let (image, kernel) = (rows(&EDGE_IMAGE), rows(&RIGHT_MINUS_LEFT));
    for (y, x) in [(0, 0), (0, 1), (2, 2)] {
        save(viz::conv_step_figure(&image, &kernel, 0, 1, y, x)?, out, &format!("ch01-step-{y}-{x}.svg"))?;
    }

    let classic = kernels::classic(device)?;
    let names: Vec<&str> = classic.iter().map(|(name, _)| *name).collect();
    let stacked: Vec<Tensor> = classic.iter().map(|(_, k)| k.clone()).collect();
    let figure = MapGrid::new(&Tensor::stack(&stacked, 0)?)? // [7, 3, 3]
        .color_map(ColorMap::Diverging)
        .scale(24)
        .labels(names.iter().copied())
        .render()?;
    save(figure, out, "ch01-classic-kernels.png")?;

    // Padding 1 keeps every map 28×28, so the digit and its maps line up.
    let digit = digit_tensor(train.image(DIGIT), train.rows(), train.cols(), device)?;
    let mut maps = Vec::new();
    for (_, kernel) in &classic {
        maps.push(conv::conv2d_single(&digit, kernel, 1, 1)?); // [28, 28]
    }
    let figure = MapGrid::new(&Tensor::stack(&maps, 0)?)? // [7, 28, 28]
        .color_map(ColorMap::Diverging)
        .scale(3)
        .labels(names.iter().copied())
        .render()?;
    save(figure, out, "ch01-digit-kernels.png")
}

/// A feature map: four kernels, four activation maps, one stack; and the sizes of LeNet's maps.
fn ch02(out: &Path, train: &Dataset, device: &Device) -> Result<()> {
    let chosen = [
        ("sobel_x", kernels::sobel_x(device)?),
        ("sobel_y", kernels::sobel_y(device)?),
        ("laplacian", kernels::laplacian(device)?),
        ("gaussian_blur", kernels::gaussian_blur(device)?),
    ];
    let names: Vec<&str> = chosen.iter().map(|(name, _)| *name).collect();
    let bank: Vec<Tensor> = chosen.iter().map(|(_, k)| k.clone()).collect();
    let bank = kernels::stack(&bank)?; // [4, 1, 3, 3]
    let figure = MapGrid::new(&bank)?
        .color_map(ColorMap::Diverging)
        .scale(24)
        .labels(names.iter().map(|n| format!("kernel: {n}")))
        .render()?;
    save(figure, out, "ch02-kernel-bank.png")?;

    let digit = digit_tensor(train.image(DIGIT), train.rows(), train.cols(), device)?.unsqueeze(0)?; // [1, 28, 28]
    let feature_map = conv::conv2d(&digit, &bank, None, 0, 1)?; // [4, 26, 26]
    let figure = MapGrid::new(&feature_map)?
        .color_map(ColorMap::Diverging)
        .scale(3)
        .labels(names.iter().map(|n| format!("map of {n}")))
        .render()?;
    save(figure, out, "ch02-feature-map.png")?;

    // An untrained LeNet: what its maps hold means nothing yet, but their sizes already shrink.
    let model = LeNet::new(1, device)?;
    let image = viz::model_figures::image_tensor(train, DIGIT, &model)?;
    save(viz::feature_maps(&model, &image)?, out, "ch02-untrained-lenet-sizes.png")
}

/// Padding and stride, drawn on chapter 1's grid.
fn ch03(out: &Path) -> Result<()> {
    let (image, kernel) = (rows(&EDGE_IMAGE), rows(&RIGHT_MINUS_LEFT));
    save(viz::conv_step_figure(&image, &kernel, 1, 1, 1, 4)?, out, "ch03-padding.svg")?;
    save(viz::conv_step_figure(&image, &kernel, 0, 2, 0, 1)?, out, "ch03-stride.svg")?;
    save(viz::conv_step_figure(&image, &kernel, 1, 2, 1, 1)?, out, "ch03-padding-stride.svg")
}

/// Digits and their permuted versions; then the experiment itself.
fn ch04(out: &Path, train: &Dataset, test: &Dataset, device: &Device) -> Result<()> {
    let config = PermutationConfig::default();
    let perm = pixel_permutation(train.pixels_per_image(), config.training.seed);
    let shown = 6;
    let originals = train.take(shown);
    let permuted = permute_pixels(&originals, &perm)?;
    let values: Vec<f32> =
        originals.images().iter().chain(permuted.images()).map(|&b| f32::from(b)).collect();
    let labels = (0..shown)
        .map(|i| format!("label {}", train.label(i)))
        .chain((0..shown).map(|i| format!("{} permuted", train.label(i))));
    let figure =
        MapGrid::from_values(values, 2 * shown, 28, 28)?.columns(shown).scale(3).labels(labels).render()?;
    save(figure, out, "ch04-permuted-digits.png")?;

    println!("permutation experiment, {config:?}");
    let started = std::time::Instant::now();
    let result = permutation_experiment(train, test, &config, device)?;
    println!(
        "validation accuracy (%): MLP original {:.2}, MLP permuted {:.2}, LeNet original {:.2}, LeNet permuted {:.2}",
        result.mlp_original, result.mlp_permuted, result.lenet_original, result.lenet_permuted
    );
    println!(
        "drops: MLP {:.2} points, LeNet {:.2} points ({:.0} s)",
        result.mlp_drop(),
        result.lenet_drop(),
        started.elapsed().as_secs_f64()
    );
    permutation_claims(&result)?;

    // The chapter's table, as this run measured it (a whole table: a token standing for rows
    // would not survive the Korean edition's Markdown rewriting).
    let mlp_parameters = Mlp::new(&config.mlp_hidden, config.training.seed, device)?.num_parameters();
    let lenet_parameters = LeNet::new(config.training.seed, device)?.num_parameters();
    let cells = |original: f32, permuted: f32| {
        let change = format!("{:+.2}", permuted - original).replace('-', "−");
        (format!("{original:.2} % | {permuted:.2} %"), change)
    };
    let (mlp, mlp_change) = cells(result.mlp_original, result.mlp_permuted);
    let (lenet, lenet_change) = cells(result.lenet_original, result.lenet_permuted);
    let n = thousands(test.len());
    let (mlp_n, lenet_n) = (thousands(mlp_parameters), thousands(lenet_parameters));
    let mut ch04 = Generated::new("ch04");
    ch04.set_words(
        "permutation_table",
        format!(
            "| accuracy on the {n} test digits | original pixels | shuffled pixels | change |\n\
             |---|---:|---:|---:|\n\
             | MLP (FC only, {mlp_n} parameters) | {mlp} | {mlp_change} points |\n\
             | LeNet (conv, {lenet_n} parameters) | {lenet} | {lenet_change} points |"
        ),
        format!(
            "| 테스트 숫자 이미지 {n}개에 대한 정확도 | 원래 픽셀 | 뒤섞은 픽셀 | 변화 |\n\
             |---|---:|---:|---:|\n\
             | MLP (완전연결층만, 매개변수 {mlp_n}개) | {mlp} | {mlp_change} %p |\n\
             | LeNet (합성곱, 매개변수 {lenet_n}개) | {lenet} | {lenet_change} %p |"
        ),
    );
    ch04.set("lenet_drop", format!("{:.2}", result.lenet_drop()));
    ch04.write(out.parent().unwrap_or(out))
}

/// What chapter 4 says of the full run, in words that hold for any run as long as these hold: the
/// MLP "does not notice the shuffle" (it moves by less than one point, about the noise of a 2,000-digit
/// test set), LeNet "drops by several points" and "falls below the MLP", but "does not drop to
/// chance"; on the original digits LeNet "does about as well as the MLP, or better".
fn permutation_claims(result: &PermutationResult) -> Result<()> {
    let mlp_minus_1 = result.mlp_original - 1.0;
    let claims = [
        ("the MLP's accuracy moves by less than 1 point with the shuffle", result.mlp_drop().abs() < 1.0),
        ("LeNet loses more than 2 points with the shuffle", result.lenet_drop() > 2.0),
        ("on the shuffled digits LeNet is below the MLP", result.lenet_permuted < result.mlp_permuted),
        ("on the shuffled digits LeNet is far above chance (10 %)", result.lenet_permuted > 50.0),
        ("on the original digits LeNet is not 1 point below the MLP", result.lenet_original > mlp_minus_1),
    ];
    for (claim, holds) in claims {
        if !holds {
            return Err(lenet_tutor::Error::InvalidArgument(format!(
                "chapter 4 says {claim}, and this run disagrees ({result:?}): rewrite the chapter's text"
            )));
        }
    }
    Ok(())
}

/// `79510` → `"79,510"`: how the chapters write counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A feature map before and after max, average and min pooling (2×2, stride 2).
fn ch05(out: &Path, train: &Dataset, device: &Device) -> Result<()> {
    let bank =
        kernels::stack(&[kernels::sobel_x(device)?, kernels::sobel_y(device)?, kernels::laplacian(device)?])?;
    let names = ["sobel_x", "sobel_y", "laplacian"];
    let digit = digit_tensor(train.image(DIGIT), train.rows(), train.cols(), device)?.unsqueeze(0)?;
    let feature_map = conv::conv2d(&digit, &bank, None, 1, 1)?; // [3, 28, 28]
    let pooled = [
        ("max", lenet_tutor::pool::max_pool2d(&feature_map, 2, 2)?), // [3, 14, 14]
        ("avg", lenet_tutor::pool::avg_pool2d(&feature_map, 2, 2)?),
        ("min", lenet_tutor::pool::min_pool2d(&feature_map, 2, 2)?),
    ];
    // Each pooled cell drawn as a 2×2 block, so that before and after have the same size on the page.
    let mut rows = vec![feature_map.clone()];
    let mut labels: Vec<String> = names.iter().map(|n| format!("{n}: 28×28")).collect();
    for (kind, maps) in &pooled {
        rows.push(maps.unsqueeze(0)?.upsample_nearest2d(28, 28)?.squeeze(0)?);
        labels.extend(names.iter().map(|n| format!("{n}: {kind} pool 14×14")));
    }
    let figure = MapGrid::new(&Tensor::cat(&rows, 0)?)? // [12, 28, 28]
        .columns(3)
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .scale(4)
        .labels(labels)
        .render()?;
    save(figure, out, "ch05-pooling.png")
}
