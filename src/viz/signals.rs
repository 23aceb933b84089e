//! A 1-D signal and its filtered versions, one panel each: the figure of chapter 1's section "One
//! dimension: a signal" (`conv::conv1d`).

use candle_core::Tensor;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Figure, LINE_COLORS, figure_error, render_png, render_svg};
use crate::args::{dims_of_rank, values};
use crate::error::{Error, Result};

/// Size of the signal figures: this wide, and this tall per panel.
const WIDTH: u32 = 760;
const PANEL_HEIGHT: u32 = 150;

/// Signals `[L]` as an SVG figure: one panel per `(name, signal)`, stacked top to bottom, all on the
/// same sample axis (sample index 0 at the left), each with its own value axis. The signals may have
/// different lengths; with "same" padding they have the signal's length and line up sample for sample.
///
/// Errors: no signals, a signal that is not `[L]` or is empty ([`Error::Shape`]).
pub fn signals_svg(signals: &[(&str, &Tensor)]) -> Result<Figure> {
    let panels = panels(signals)?;
    render_svg(WIDTH, PANEL_HEIGHT * panels.len() as u32, |area| draw(area, &panels))
}

/// The same figure as [`signals_svg`], as a PNG.
pub fn signals_png(signals: &[(&str, &Tensor)]) -> Result<Figure> {
    let panels = panels(signals)?;
    render_png(WIDTH, PANEL_HEIGHT * panels.len() as u32, |area| draw(area, &panels))
}

/// The name and samples of each panel, after checking the shapes.
fn panels(signals: &[(&str, &Tensor)]) -> Result<Vec<(String, Vec<f32>)>> {
    if signals.is_empty() {
        return Err(Error::InvalidArgument("signals_svg: give at least one (name, signal) to plot".into()));
    }
    signals
        .iter()
        .map(|&(name, signal)| {
            let length = dims_of_rank(
                signal,
                1,
                &format!("signals_svg: signal `{name}` must be [L]"),
                "plot one row at a time",
            )?[0];
            if length == 0 {
                return Err(Error::Shape(format!("signals_svg: signal `{name}` has no samples")));
            }
            Ok((name.to_string(), values(signal)?))
        })
        .collect()
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, panels: &[(String, Vec<f32>)]) -> Result<()> {
    root.fill(&WHITE).map_err(figure_error)?;
    let longest = panels.iter().map(|(_, samples)| samples.len()).max().unwrap_or(1);
    let areas = root.split_evenly((panels.len(), 1));
    for (index, (area, (name, samples))) in areas.iter().zip(panels).enumerate() {
        let color = LINE_COLORS[index % LINE_COLORS.len()];
        draw_panel(area, name, samples, longest, color, index + 1 == panels.len())?;
    }
    Ok(())
}

/// One signal: its samples joined by a line, a dot on each, and a thin line at 0.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    samples: &[f32],
    longest: usize,
    color: RGBColor,
    last: bool,
) -> Result<()> {
    // The value axis always shows 0 (where a filter's output is "nothing found"), plus a margin.
    let finite = samples.iter().copied().filter(|v| v.is_finite());
    let (low, high) = finite.fold((0.0f32, 0.0f32), |(l, h), v| (l.min(v), h.max(v)));
    let margin = ((high - low) * 0.1).max(0.05);
    let mut chart = ChartBuilder::on(area)
        .caption(name, (FONT_FAMILY, 15))
        .margin(6)
        .x_label_area_size(if last { 32 } else { 18 })
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f32..longest as f32 - 0.5, low - margin..high + margin)
        .map_err(figure_error)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&|x: &f32| format!("{x:.0}"))
        .y_label_formatter(&|y: &f32| format!("{y:.1}"))
        .y_labels(5)
        .label_style((FONT_FAMILY, 12))
        .axis_desc_style((FONT_FAMILY, 13))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(2);
    if last {
        mesh.x_desc("sample");
    }
    mesh.draw().map_err(figure_error)?;
    chart
        .draw_series(LineSeries::new([(-0.5, 0.0), (longest as f32 - 0.5, 0.0)], RGBColor(160, 160, 160)))
        .map_err(figure_error)?;
    let points = samples.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| (i as f32, v));
    chart.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(2)).map_err(figure_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::conv::conv1d::{conv1d, noisy_pulse};
    use crate::viz::test_support::check_svg;

    #[test]
    fn figures_have_one_panel_per_signal() {
        let device = Device::Cpu;
        let signal = noisy_pulse(40, 10, 30, 0.1, 1, &device).unwrap();
        let edges = conv1d(&signal, &Tensor::new(&[-1f32, 0., 1.], &device).unwrap(), 1, 1).unwrap();
        let figure = signals_svg(&[("signal", &signal), ("edges", &edges)]).unwrap();
        let texts = check_svg(figure.as_svg().unwrap(), WIDTH, 2 * PANEL_HEIGHT);
        for expected in ["signal", "edges", "sample"] {
            assert!(texts.iter().any(|t| t == expected), "`{expected}` missing from {texts:?}");
        }
        let svg = figure.as_svg().unwrap();
        for color in ["#1F77B4", "#FF7F0E"] {
            assert!(svg.lines().any(|l| l.starts_with("<polyline") && l.contains(color)), "{color}");
        }
        let png = signals_png(&[("signal", &signal)]).unwrap();
        assert_eq!((png.width(), png.height()), (WIDTH, PANEL_HEIGHT));
        assert!(matches!(signals_svg(&[]), Err(Error::InvalidArgument(_))));
        let grid = Tensor::zeros((2, 3), candle_core::DType::F32, &device).unwrap();
        assert!(matches!(signals_png(&[("grid", &grid)]), Err(Error::Shape(_))));
    }
}
