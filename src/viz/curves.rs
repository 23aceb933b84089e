//! Learning curves: loss and accuracy per epoch, training next to validation.
//!
//! The notes plot `train_losses` against `val_losses` and `train_accuracy` against `val_accuracy`
//! after the fit loop; the gap between the two lines is how over-fitting looks. One figure holds
//! both panels, loss on the left, accuracy on the right.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Figure, LINE_COLORS, draw_legend, figure_error, render_png, render_svg};
use crate::error::{Error, Result};
use crate::train::{History, Phase};

const WIDTH: u32 = 900;
const HEIGHT: u32 = 360;
/// Training in blue, validation in orange (matplotlib's first two colours, as in the notes' plots).
const TRAINING_COLOR: RGBColor = LINE_COLORS[0];
const VALIDATION_COLOR: RGBColor = LINE_COLORS[1];

/// The learning curves of `history` as an SVG figure (900×360): loss and accuracy (%) per epoch,
/// training and validation. Errors if no epoch was recorded.
pub fn curves_svg(history: &History) -> Result<Figure> {
    check(history)?;
    render_svg(WIDTH, HEIGHT, |area| draw_curves(area, history))
}

/// The learning curves of `history` as a PNG figure (900×360); see [`curves_svg`].
pub fn curves_png(history: &History) -> Result<Figure> {
    check(history)?;
    render_png(WIDTH, HEIGHT, |area| draw_curves(area, history))
}

fn check(history: &History) -> Result<()> {
    if history.epochs() == 0 {
        return Err(Error::InvalidArgument(
            "the history has no epochs to plot; train for at least one epoch first".into(),
        ));
    }
    Ok(())
}

/// Which number of an epoch a panel plots.
#[derive(Clone, Copy)]
enum Measure {
    Loss,
    Accuracy,
}

impl Measure {
    fn of(self, history: &History, phase: Phase) -> Vec<(i32, f32)> {
        history
            .phase(phase)
            .iter()
            .map(|s| (s.epoch as i32, if let Measure::Loss = self { s.loss } else { s.accuracy() }))
            .filter(|(_, v)| v.is_finite())
            .collect()
    }

    /// The y range: loss from 0 to a bit above the largest; accuracy from the tens below the
    /// lowest up to 100 %.
    fn range(self, values: impl Iterator<Item = f32>) -> std::ops::Range<f32> {
        let (low, high) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
        match self {
            Measure::Loss if high > 0.0 => 0.0..high * 1.1,
            Measure::Loss => 0.0..1.0,
            Measure::Accuracy if low.is_finite() => ((low / 10.0).floor() * 10.0).clamp(0.0, 90.0)..100.0,
            Measure::Accuracy => 0.0..100.0,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Measure::Loss => "loss",
            Measure::Accuracy => "accuracy (%)",
        }
    }
}

fn draw_curves<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, history: &History) -> Result<()> {
    root.fill(&WHITE).map_err(figure_error)?;
    let panels = root.split_evenly((1, 2));
    for (panel, measure) in panels.iter().zip([Measure::Loss, Measure::Accuracy]) {
        draw_panel(panel, history, measure)?;
    }
    Ok(())
}

/// One phase's line in one panel: `(epoch, value)` points.
struct Curve {
    phase: Phase,
    color: RGBColor,
    points: Vec<(i32, f32)>,
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    history: &History,
    measure: Measure,
) -> Result<()> {
    let epochs = history.epochs() as i32;
    let curves: Vec<Curve> = [(Phase::Training, TRAINING_COLOR), (Phase::Validation, VALIDATION_COLOR)]
        .into_iter()
        .map(|(phase, color)| Curve { phase, color, points: measure.of(history, phase) })
        .collect();
    let y_range = measure.range(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)));

    // Epochs are counted from 1; the x axis runs from 0 to epochs + 1 so no point sits on the frame.
    let mut chart = ChartBuilder::on(area)
        .caption(measure.title(), (FONT_FAMILY, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(0..epochs + 1, y_range)
        .map_err(figure_error)?;
    let label_epoch = |x: &i32| {
        if (1..=epochs).contains(x) { x.to_string() } else { String::new() }
    };
    let label_value = |y: &f32| match measure {
        Measure::Loss => format!("{y:.2}"),
        Measure::Accuracy => format!("{y:.0}"),
    };
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels((epochs as usize + 2).min(12))
        .x_label_formatter(&label_epoch)
        .y_label_formatter(&label_value)
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(4)
        .draw()
        .map_err(figure_error)?;

    for Curve { phase, color, points } in curves {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, color.filled().stroke_width(2)).point_size(3))
            .map_err(figure_error)?
            .label(phase.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    let position = match measure {
        Measure::Loss => SeriesLabelPosition::UpperRight,
        Measure::Accuracy => SeriesLabelPosition::LowerRight,
    };
    draw_legend(&mut chart, position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochStats;
    use crate::viz::test_support::check_svg;

    fn history(losses: &[(f32, f32)]) -> History {
        let mut history = History::default();
        for (i, &(train, val)) in losses.iter().enumerate() {
            let epoch = i + 1;
            let correct = 80 + 5 * i;
            history.push(EpochStats {
                epoch,
                phase: Phase::Training,
                loss: train,
                correct,
                total: 100,
                seconds: 1.0,
            });
            history.push(EpochStats {
                epoch,
                phase: Phase::Validation,
                loss: val,
                correct: correct - 3,
                total: 100,
                seconds: 0.5,
            });
        }
        history
    }

    #[test]
    fn svg_has_both_panels_both_phases_and_the_epochs() {
        let figure = curves_svg(&history(&[(0.9, 1.0), (0.5, 0.6), (0.3, 0.45)])).unwrap();
        let texts = check_svg(figure.as_svg().unwrap(), WIDTH, HEIGHT);
        for expected in ["loss", "accuracy (%)", "training", "validation", "epoch", "1", "2", "3"] {
            assert!(texts.iter().any(|t| t == expected), "`{expected}` missing from {texts:?}");
        }
        // Only epochs 1..=3 are labelled on the x axes, not 0 or 4.
        assert!(!texts.iter().any(|t| t == "4"), "{texts:?}");
        // Per colour: a line in each panel, a legend mark in each panel, a dot per epoch and panel.
        let svg = figure.as_svg().unwrap();
        for color in ["#1F77B4", "#FF7F0E"] {
            let lines: Vec<&str> =
                svg.lines().filter(|l| l.starts_with("<polyline") && l.contains(color)).collect();
            assert_eq!(lines.len(), 4, "{color}: {lines:?}");
            assert_eq!(svg.lines().filter(|l| l.starts_with("<circle") && l.contains(color)).count(), 2 * 3);
            // The loss panel's line (the first) goes down the page as the loss falls: y grows.
            let points = lines[0].split("points=\"").nth(1).unwrap().split('"').next().unwrap();
            let ys: Vec<i32> =
                points.split_whitespace().map(|p| p.split(',').nth(1).unwrap().parse().unwrap()).collect();
            assert_eq!(ys.len(), 3);
            assert!(ys[0] < ys[1] && ys[1] < ys[2], "{color}: {ys:?}");
        }
    }

    #[test]
    fn png_draws_the_two_colours() {
        let figure = curves_png(&history(&[(0.9, 1.0), (0.5, 0.6)])).unwrap();
        let image = image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (WIDTH, HEIGHT));
        let count = |c: RGBColor| image.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        assert!(count(TRAINING_COLOR) > 100, "training line missing");
        assert!(count(VALIDATION_COLOR) > 100, "validation line missing");
        // Left half holds the loss panel, right half the accuracy panel: both have lines.
        let left =
            image.enumerate_pixels().filter(|(x, _, p)| *x < WIDTH / 2 && p.0 == [31, 119, 180]).count();
        let right =
            image.enumerate_pixels().filter(|(x, _, p)| *x >= WIDTH / 2 && p.0 == [31, 119, 180]).count();
        assert!(left > 30 && right > 30, "{left} / {right}");
    }

    #[test]
    fn one_epoch_and_one_phase_still_draw_but_no_epoch_is_an_error() {
        let mut only_training = History::default();
        only_training.push(EpochStats {
            epoch: 1,
            phase: Phase::Training,
            loss: 2.3,
            correct: 10,
            total: 100,
            seconds: 1.0,
        });
        let texts = check_svg(curves_svg(&only_training).unwrap().as_svg().unwrap(), WIDTH, HEIGHT);
        assert!(texts.iter().any(|t| t == "training") && !texts.iter().any(|t| t == "validation"));
        assert!(curves_png(&only_training).is_ok());
        assert!(matches!(curves_svg(&History::default()), Err(Error::InvalidArgument(_))));
        assert!(matches!(curves_png(&History::default()), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn ranges_fit_the_values() {
        assert_eq!(Measure::Loss.range([0.5, 2.0].into_iter()), 0.0..2.2);
        assert_eq!(Measure::Accuracy.range([87.0, 99.0].into_iter()), 80.0..100.0);
        assert_eq!(Measure::Accuracy.range([100.0].into_iter()), 90.0..100.0);
        assert_eq!(Measure::Loss.range(std::iter::empty()), 0.0..1.0);
    }
}
