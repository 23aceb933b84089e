//! Neighbouring pixels, measured: the book's chapter "The FC layer and its limit", section "Nearby
//! pixels are alike: measured".
//!
//! The notes (quoting *Deep Learning from Scratch*) say that in an image "pixels close together have
//! similar values, … pixels far apart have little to do with each other", and that an FC layer cannot
//! use this. The first half is a statement about the data, so we measure it: take every pair of
//! pixels that lie a given offset apart, in every image of a data set, and compute the Pearson
//! correlation of the two pixels' values over all those pairs. 1 means the second pixel is a perfect
//! linear copy of the first, 0 means knowing one tells (linearly) nothing about the other.
//!
//! - [`pixel_correlation`]: the correlation for one offset `(dy, dx)`;
//! - [`pixel_correlation_by_distance`]: the correlation for horizontal distances `1..=max`;
//! - [`correlation_svg`], [`correlation_png`]: correlation against distance, one line per direction.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::viz::{FONT_FAMILY, Figure, LINE_COLORS, draw_legend, figure_error, render_png, render_svg};

/// The Pearson correlation of pixel `(r, c)` with pixel `(r + dy, c + dx)`, over every image of
/// `dataset` and every position where both pixels are inside the image.
///
/// The pixels are the data set's bytes (0 … 255); a correlation does not change when the values are
/// scaled or shifted, so normalising them first would give the same number. The sums are kept as
/// integers, so the result does not depend on the order of the additions (or on the machine).
///
/// Errors ([`Error::InvalidArgument`]): an empty data set, `(0, 0)` (a pixel with itself), an offset
/// that leaves no pair inside the image, and pixels that do not vary (a correlation is not defined
/// when one of the two values is always the same, e.g. for images that are all one colour).
///
/// ```
/// use lenet_tutor::data::{self, DataOptions, DatasetName};
/// use lenet_tutor::experiments::neighbours::pixel_correlation;
///
/// # fn main() -> lenet_tutor::Result<()> {
/// let digits = data::load(DatasetName::MnistSample, &DataOptions::default())?.test.take(100);
/// let right = pixel_correlation(&digits, 0, 1)?; // each pixel and its right-hand neighbour
/// let far = pixel_correlation(&digits, 0, 14)?; // each pixel and the one half a digit further right
/// assert!(right > 0.5 && far < right);
/// # Ok(()) }
/// ```
pub fn pixel_correlation(dataset: &Dataset, dy: usize, dx: usize) -> Result<f32> {
    let (rows, cols) = (dataset.rows(), dataset.cols());
    if dataset.is_empty() {
        return Err(Error::InvalidArgument("pixel_correlation: the data set has no images".into()));
    }
    if (dy, dx) == (0, 0) {
        return Err(Error::InvalidArgument(
            "pixel_correlation: the offset (0, 0) pairs each pixel with itself; give dy or dx ≥ 1".into(),
        ));
    }
    if dy >= rows || dx >= cols {
        return Err(Error::InvalidArgument(format!(
            "pixel_correlation: offset (dy {dy}, dx {dx}) leaves no pair of pixels inside a {rows}×{cols} \
             image; use dy < {rows} and dx < {cols}"
        )));
    }

    // Σx, Σy, Σx², Σy², Σxy over all pairs (x the first pixel, y the one at the offset), as integers.
    let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for i in 0..dataset.len() {
        let image = dataset.image(i); // [rows, cols], row-major
        for r in 0..rows - dy {
            let first = &image[r * cols..r * cols + cols - dx];
            let second = &image[(r + dy) * cols + dx..(r + dy) * cols + cols];
            for (&x, &y) in first.iter().zip(second) {
                let (x, y) = (u64::from(x), u64::from(y));
                sx += x;
                sy += y;
                sxx += x * x;
                syy += y * y;
                sxy += x * y;
            }
        }
    }
    let n = (dataset.len() * (rows - dy) * (cols - dx)) as u128;
    let (sx, sy, sxx, syy, sxy) = (sx as u128, sy as u128, sxx as u128, syy as u128, sxy as u128);
    // n·Σx² − (Σx)² is n² times the variance: ≥ 0, and 0 only if every x is the same (exact in integers).
    let var_x = n * sxx - sx * sx;
    let var_y = n * syy - sy * sy;
    if var_x == 0 || var_y == 0 {
        return Err(Error::InvalidArgument(format!(
            "pixel_correlation: at offset (dy {dy}, dx {dx}) one of the two pixels has the same value in \
             every pair, so their correlation is not defined (are the images all one colour?)"
        )));
    }
    let covariance = (n * sxy) as f64 - (sx * sy) as f64;
    Ok((covariance / ((var_x as f64).sqrt() * (var_y as f64).sqrt())) as f32)
}

/// The correlation of each pixel with the pixel `d` columns to its right, for `d = 1..=max_distance`:
/// `(d, correlation)` pairs, nearest first. See [`pixel_correlation`] (with `dy = 0, dx = d`).
///
/// Errors ([`Error::InvalidArgument`]): `max_distance` 0 or not less than the image width, and
/// everything [`pixel_correlation`] refuses.
pub fn pixel_correlation_by_distance(dataset: &Dataset, max_distance: usize) -> Result<Vec<(usize, f32)>> {
    if max_distance == 0 || max_distance >= dataset.cols() {
        return Err(Error::InvalidArgument(format!(
            "pixel_correlation_by_distance: max_distance must be between 1 and the image width − 1 = {}, \
             got {max_distance}",
            dataset.cols().saturating_sub(1)
        )));
    }
    (1..=max_distance).map(|d| Ok((d, pixel_correlation(dataset, 0, d)?))).collect()
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// Correlation against distance as an SVG figure (640×360): one line per `(name, points)`, the
/// points `(distance, correlation)` as [`pixel_correlation_by_distance`] returns them, with a legend.
///
/// Errors ([`Error::InvalidArgument`]): no lines, or a line without points.
pub fn correlation_svg(lines: &[(&str, &[(usize, f32)])]) -> Result<Figure> {
    check(lines)?;
    render_svg(WIDTH, HEIGHT, |area| draw(area, lines))
}

/// The same figure as [`correlation_svg`], as a PNG.
pub fn correlation_png(lines: &[(&str, &[(usize, f32)])]) -> Result<Figure> {
    check(lines)?;
    render_png(WIDTH, HEIGHT, |area| draw(area, lines))
}

fn check(lines: &[(&str, &[(usize, f32)])]) -> Result<()> {
    if lines.is_empty() {
        return Err(Error::InvalidArgument("correlation_svg: give at least one line to plot".into()));
    }
    if let Some((name, _)) = lines.iter().find(|(_, points)| points.is_empty()) {
        return Err(Error::InvalidArgument(format!("correlation_svg: the line `{name}` has no points")));
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, lines: &[(&str, &[(usize, f32)])]) -> Result<()> {
    root.fill(&WHITE).map_err(figure_error)?;
    let points = || lines.iter().flat_map(|(_, points)| points.iter()).filter(|(_, c)| c.is_finite());
    let max_distance = points().map(|&(d, _)| d).max().unwrap_or(1);
    // From a little below the lowest value (at least −0.2, so 0 is always inside) up to 1, the largest
    // correlation there is.
    let low = points().map(|&(_, c)| c).fold(-0.2f32, f32::min);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(0.5f32..max_distance as f32 + 0.5, (low - 0.05)..1.05f32)
        .map_err(figure_error)?;
    chart
        .configure_mesh()
        .x_desc("distance (pixels)")
        .y_desc("correlation")
        .x_labels(max_distance.min(14))
        .x_label_formatter(&|x: &f32| format!("{x:.0}"))
        .y_label_formatter(&|y: &f32| format!("{y:.1}"))
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(1)
        .draw()
        .map_err(figure_error)?;
    // 0: "the two pixels are unrelated".
    chart
        .draw_series(LineSeries::new(
            [(0.5, 0.0), (max_distance as f32 + 0.5, 0.0)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))
        .map_err(figure_error)?;
    for (index, &(name, points)) in lines.iter().enumerate() {
        let color = LINE_COLORS[index % LINE_COLORS.len()];
        let series = points.iter().filter(|(_, c)| c.is_finite()).map(|&(d, c)| (d as f32, c));
        chart
            .draw_series(LineSeries::new(series, color.filled().stroke_width(2)).point_size(3))
            .map_err(figure_error)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetName;
    use crate::viz::test_support::check_svg;
    use rand::Rng;

    /// A data set of the given `rows × cols` images (all labelled 0).
    fn dataset(images: &[Vec<u8>], rows: usize, cols: usize) -> Dataset {
        let pixels: Vec<u8> = images.concat();
        Dataset::new(DatasetName::MnistSample, pixels, vec![0; images.len()], rows, cols).unwrap()
    }

    fn checkerboard(rows: usize, cols: usize) -> Vec<u8> {
        (0..rows * cols).map(|i| if (i / cols + i % cols).is_multiple_of(2) { 255 } else { 0 }).collect()
    }

    fn invalid(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("expected an invalid-argument error, got {other:?}"),
        }
    }

    #[test]
    fn a_checkerboard_alternates_between_minus_one_and_one() {
        let board = dataset(&[checkerboard(6, 7)], 6, 7);
        for (d, correlation) in pixel_correlation_by_distance(&board, 6).unwrap() {
            let expected = if d % 2 == 1 { -1.0 } else { 1.0 };
            assert!((correlation - expected).abs() < 1e-6, "distance {d}: {correlation}");
        }
        assert!((pixel_correlation(&board, 1, 0).unwrap() + 1.0).abs() < 1e-6); // the square below
        assert!((pixel_correlation(&board, 1, 1).unwrap() - 1.0).abs() < 1e-6); // the diagonal one
    }

    #[test]
    fn vertical_stripes_are_alike_downwards_only() {
        // Columns 0, 85, 170, 255, 0, … : every column is one value, so going down changes nothing.
        let stripes: Vec<u8> = (0..8 * 8).map(|i| ((i % 8) % 4 * 85) as u8).collect();
        let set = dataset(&[stripes], 8, 8);
        assert!((pixel_correlation(&set, 3, 0).unwrap() - 1.0).abs() < 1e-6);
        assert!((pixel_correlation(&set, 0, 4).unwrap() - 1.0).abs() < 1e-6); // one period to the right
        assert!(pixel_correlation(&set, 0, 2).unwrap() < -0.5); // half a period: bright faces dark
    }

    #[test]
    fn matches_a_plain_floating_point_pearson() {
        let mut rng = crate::rng::seeded(3);
        // Smooth random images: each pixel the average of a random value and its left neighbour's.
        let images: Vec<Vec<u8>> = (0..5)
            .map(|_| {
                let raw: Vec<u8> = (0..10 * 12).map(|_| rng.random_range(0..=255u8)).collect();
                (0..10 * 12).map(|i| if i % 12 == 0 { raw[i] } else { raw[i] / 2 + raw[i - 1] / 2 }).collect()
            })
            .collect();
        let set = dataset(&images, 10, 12);
        for (dy, dx) in [(0, 1), (0, 5), (2, 0), (3, 4)] {
            let mut pairs = Vec::new();
            for image in &images {
                for r in 0..10 - dy {
                    for c in 0..12 - dx {
                        pairs.push((f64::from(image[r * 12 + c]), f64::from(image[(r + dy) * 12 + c + dx])));
                    }
                }
            }
            let n = pairs.len() as f64;
            let (mx, my) =
                (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
            let cov: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
            let vx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
            let vy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
            let expected = (cov / (vx * vy).sqrt()) as f32;
            let ours = pixel_correlation(&set, dy, dx).unwrap();
            assert!((ours - expected).abs() < 1e-5, "({dy}, {dx}): {ours} vs {expected}");
        }
        // Averaging with the left neighbour makes distance 1 clearly correlated, distance 5 not.
        assert!(pixel_correlation(&set, 0, 1).unwrap() > 0.3);
        assert!(pixel_correlation(&set, 0, 5).unwrap().abs() < 0.2);
    }

    #[test]
    fn undefined_or_impossible_correlations_are_errors() {
        let constant = dataset(&[vec![128; 5 * 5], vec![128; 5 * 5]], 5, 5);
        assert!(invalid(pixel_correlation(&constant, 0, 1)).contains("not defined"));
        assert!(invalid(pixel_correlation_by_distance(&constant, 2)).contains("not defined"));
        let board = dataset(&[checkerboard(5, 5)], 5, 5);
        assert!(invalid(pixel_correlation(&board, 0, 0)).contains("with itself"));
        assert!(invalid(pixel_correlation(&board, 0, 5)).contains("leaves no pair"));
        assert!(invalid(pixel_correlation(&board, 5, 0)).contains("dy < 5"));
        assert!(invalid(pixel_correlation_by_distance(&board, 0)).contains("between 1 and"));
        assert!(invalid(pixel_correlation_by_distance(&board, 5)).contains("width − 1 = 4"));
        let empty = dataset(&[], 5, 5);
        assert!(invalid(pixel_correlation(&empty, 0, 1)).contains("no images"));
    }

    #[test]
    fn the_figure_has_a_line_and_a_legend_entry_per_direction() {
        let near: &[(usize, f32)] = &[(1, 0.9), (2, 0.6), (3, 0.2), (4, -0.1)];
        let far: &[(usize, f32)] = &[(1, 0.8), (2, 0.5), (3, 0.3), (4, 0.0)];
        let figure = correlation_svg(&[("horizontal", near), ("vertical", far)]).unwrap();
        let texts = check_svg(figure.as_svg().unwrap(), WIDTH, HEIGHT);
        for expected in ["horizontal", "vertical", "distance (pixels)", "correlation", "1", "4"] {
            assert!(texts.iter().any(|t| t == expected), "`{expected}` missing from {texts:?}");
        }
        let svg = figure.as_svg().unwrap();
        for color in ["#1F77B4", "#FF7F0E"] {
            assert!(svg.lines().any(|l| l.starts_with("<polyline") && l.contains(color)), "{color}");
            assert_eq!(svg.lines().filter(|l| l.starts_with("<circle") && l.contains(color)).count(), 4);
        }
        let png = correlation_png(&[("horizontal", near)]).unwrap();
        assert_eq!((png.width(), png.height()), (WIDTH, HEIGHT));
        assert!(invalid(correlation_svg(&[])).contains("at least one line"));
        assert!(invalid(correlation_png(&[("empty", &[])])).contains("`empty` has no points"));
    }
}
