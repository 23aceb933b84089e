//! Figures of a 1-D convolution, colour channels and neighbouring pixels (chapters 1, 2 and 4), and
//! the correlation of the colour picture's channels that chapter 2 quotes (`generated/ch02.md`).
//!
//! Each one repeats the computation of its chapter's listing (same signal, same picture, same digits)
//! and draws the result with the crate's own plotting: `viz::signals_svg`, `viz::MapGrid` and
//! `experiments::neighbours::correlation_svg`.

use std::path::Path;

use lenet_tutor::conv::conv1d::{conv1d, noisy_pulse};
use lenet_tutor::conv::{conv2d, conv2d_single, kernels};
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::experiments::neighbours::{
    correlation_svg, pixel_correlation, pixel_correlation_by_distance,
};
use lenet_tutor::experiments::{permute_pixels, pixel_permutation};
use lenet_tutor::viz::signals_svg;
use lenet_tutor::viz::{ColorMap, Figure, MapGrid, Normalization};
use lenet_tutor::{Device, Result, Tensor};

use crate::generated::Generated;

pub fn write(out: &Path, device: &Device) -> Result<()> {
    ch01_conv1d(out, device)?;
    ch02_colour(out, device)?;
    ch04_neighbours(out)
}

/// Saves `figure` as `out/name` and says so.
fn save(figure: Figure, out: &Path, name: &str) -> Result<()> {
    figure.save(out.join(name))?;
    println!("wrote {name} ({}×{})", figure.width(), figure.height());
    Ok(())
}

/// Chapter 1, "One dimension: a signal": the noisy pulse, its edges and its smoothed version.
fn ch01_conv1d(out: &Path, device: &Device) -> Result<()> {
    let signal = noisy_pulse(100, 30, 70, 0.2, 1, device)?;
    let difference = Tensor::new(&[-1f32, 0., 1.], device)?;
    let average = Tensor::new(&[0.2f32; 5], device)?;
    let edges = conv1d(&signal, &difference, 1, 1)?;
    let smooth = conv1d(&signal, &average, 2, 1)?;
    let figure = signals_svg(&[
        ("signal", &signal),
        ("kernel [-1, 0, 1]", &edges),
        ("kernel [0.2, 0.2, 0.2, 0.2, 0.2]", &smooth),
    ])?;
    save(figure, out, "ch01-conv1d.svg")
}

/// Chapter 2, "A colour picture, slice by slice": the generated picture's three channels, and the
/// luminance-weighted `sobel_x` kernel's three slice convolutions with their sum.
fn ch02_colour(out: &Path, device: &Device) -> Result<()> {
    let (height, width) = (14, 47);
    let colours = [[1f32, 0., 0.], [0., 1., 0.], [0., 0., 1.], [1., 1., 1.]];
    let mut pixels = vec![0f32; 3 * height * width];
    for (i, rgb) in colours.iter().enumerate() {
        for (c, &value) in rgb.iter().enumerate() {
            for y in 3..11 {
                for x in 3 + 11 * i..11 + 11 * i {
                    pixels[(c * height + y) * width + x] = value;
                }
            }
        }
    }
    channel_correlations(&pixels, height * width, out)?;
    let picture = Tensor::from_vec(pixels, (3, height, width), device)?;
    let sobel_x = kernels::sobel_x(device)?;
    let kernel =
        Tensor::stack(&[(&sobel_x * 0.299)?, (&sobel_x * 0.587)?, (&sobel_x * 0.114)?], 0)?.unsqueeze(0)?;
    let map = conv2d(&picture, &kernel, None, 1, 1)?.squeeze(0)?;
    let mut slices = Vec::new();
    for c in 0..3 {
        slices.push(conv2d_single(&picture.get(c)?, &kernel.get(0)?.get(c)?, 1, 1)?);
    }

    let figure = MapGrid::new(&picture)?
        .normalization(Normalization::Shared)
        .labels(["red channel", "green channel", "blue channel"])
        .scale(4)
        .render()?;
    save(figure, out, "ch02-colour-picture.png")?;

    let figure = MapGrid::new(&Tensor::stack(&[&slices[0], &slices[1], &slices[2], &map], 0)?)?
        .color_map(ColorMap::Diverging)
        .normalization(Normalization::Shared)
        .columns(2)
        .labels([
            "red channel * red slice",
            "green channel * green slice",
            "blue channel * blue slice",
            "sum",
        ])
        .scale(6)
        .render()?;
    save(figure, out, "ch02-colour-channels.png")
}

/// Chapter 2, "Are the channels related?": the notes' claim that "the RGB channels are closely
/// related to each other" (chapter 4 quotes it), measured on the generated picture the way chapter 4
/// measures neighbouring pixels: the Pearson correlation of two channels' values over all pixels.
/// `pixels` is `[3, H, W]` row-major, `plane` is `H·W`. Writes `book/src/generated/ch02.md`.
fn channel_correlations(pixels: &[f32], plane: usize, out: &Path) -> Result<()> {
    let channels: Vec<&[f32]> = pixels.chunks(plane).collect(); // red, green, blue
    let pairs = [(0, 1), (0, 2), (1, 2)];
    let (names, names_ko) = (["red", "green", "blue"], ["빨강", "초록", "파랑"]);
    let mut english = Vec::new();
    let mut korean = Vec::new();
    for (a, b) in pairs {
        let r = pearson(channels[a], channels[b]);
        println!("RESULT channel correlation {}–{}: {r:.4}", names[a], names[b]);
        // What chapter 2 says of every pair: related (above 0), but not one channel a function of the
        // other (below 1), because each colour square lights up its own channel alone.
        let partly_related = r > 0.0 && r < 1.0;
        if !partly_related {
            return Err(lenet_tutor::Error::InvalidArgument(format!(
                "chapter 2 says the {} and {} channels are partly related (0 < r < 1); this run measured {r}",
                names[a], names[b]
            )));
        }
        english.push(format!("{}–{} {r:.2}", names[a], names[b]));
        korean.push(format!("{}–{} {r:.2}", names_ko[a], names_ko[b]));
    }
    let mut ch02 = Generated::new("ch02");
    ch02.set_words("channel_correlations", english.join(", "), korean.join(", "));
    ch02.write(out.parent().unwrap_or(out))
}

/// The Pearson correlation of two equally long lists: 1 when `y` is a rising straight line of `x`
/// (`y = a·x + b`, `a > 0`), 0 when there is no such linear relation. Sums in `f64`.
fn pearson(x: &[f32], y: &[f32]) -> f64 {
    let mean = |v: &[f32]| v.iter().map(|&a| f64::from(a)).sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (f64::from(a) - mx, f64::from(b) - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Chapter 4, "Nearby pixels are alike: measured": correlation against distance on the 8,000 training
/// digits, across, down, and across after the shuffle.
fn ch04_neighbours(out: &Path) -> Result<()> {
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
    let horizontal = pixel_correlation_by_distance(&splits.train, 14)?;
    let shuffled = permute_pixels(&splits.train, &pixel_permutation(784, 1))?;
    // As in the notebook's figure cell.
    let vertical = (1..=14)
        .map(|d| Ok((d, pixel_correlation(&splits.train, d, 0)?)))
        .collect::<lenet_tutor::Result<Vec<(usize, f32)>>>()?;
    let shuffled_by_distance = pixel_correlation_by_distance(&shuffled, 14)?;
    let figure = correlation_svg(&[
        ("horizontal", &horizontal),
        ("vertical", &vertical),
        ("horizontal, shuffled", &shuffled_by_distance),
    ])?;
    save(figure, out, "ch04-neighbours.svg")
}
