//! The confusion matrix: which digits the model mixes up with which.
//!
//! Accuracy is one number; the matrix splits it up. Row `t`, column `p` counts the test images of
//! class `t` that the model called `p`: the diagonal is what it got right, and a large off-diagonal
//! cell (a 4 read as 9) shows what it finds hard.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{Figure, figure_error, render_png, render_svg, text_style};
use crate::error::{Error, Result};

/// Counts of (true class, predicted class) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    /// `counts[truth][predicted]`, `classes × classes`.
    counts: Vec<Vec<usize>>,
    class_names: Vec<String>,
}

/// The cell colour for a row share of 1 (white for 0): the blue of the diverging colour map.
const FULL_RGB: (u8, u8, u8) = (33, 102, 172);

impl Confusion {
    /// An empty matrix for `classes` classes, named `0`, `1`, … (see [`Confusion::with_class_names`]).
    pub(crate) fn new(classes: usize) -> Result<Self> {
        if classes == 0 {
            return Err(Error::InvalidArgument("a confusion matrix needs at least one class".into()));
        }
        Ok(Confusion {
            counts: vec![vec![0; classes]; classes],
            class_names: (0..classes).map(|c| c.to_string()).collect(),
        })
    }

    /// Counts the pairs `(truth[i], predicted[i])`; labels are class indices below `classes`
    /// (`u8` labels from the data set, `u32` from `argmax`, …).
    pub fn from_predictions<T: Copy + Into<u64>>(
        truth: &[T],
        predicted: &[T],
        classes: usize,
    ) -> Result<Self> {
        if truth.len() != predicted.len() {
            return Err(Error::Shape(format!(
                "{} true labels but {} predictions; give one prediction per example",
                truth.len(),
                predicted.len()
            )));
        }
        if truth.is_empty() {
            return Err(Error::InvalidArgument("no predictions to count: the label lists are empty".into()));
        }
        let mut confusion = Confusion::new(classes)?;
        for (&t, &p) in truth.iter().zip(predicted) {
            let index = |label: T| usize::try_from(label.into()).unwrap_or(usize::MAX);
            confusion.record(index(t), index(p))?;
        }
        Ok(confusion)
    }

    /// Counts one example of class `truth` predicted as `predicted`.
    pub(crate) fn record(&mut self, truth: usize, predicted: usize) -> Result<()> {
        let classes = self.classes();
        if truth >= classes || predicted >= classes {
            return Err(Error::InvalidArgument(format!(
                "label {} is not a class of this {classes}-class confusion matrix (classes are 0..{classes})",
                truth.max(predicted)
            )));
        }
        self.counts[truth][predicted] += 1;
        Ok(())
    }

    /// Names to show on the axes instead of the class numbers (for example clothing names for
    /// Fashion-MNIST). There must be one per class.
    pub(crate) fn with_class_names<I, S>(mut self, names: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.classes() {
            return Err(Error::InvalidArgument(format!(
                "{} class names for {} classes; give one name per class",
                names.len(),
                self.classes()
            )));
        }
        self.class_names = names;
        Ok(self)
    }

    /// Number of classes.
    pub(crate) fn classes(&self) -> usize {
        self.counts.len()
    }

    /// `counts()[truth][predicted]`: examples of class `truth` predicted as `predicted`.
    pub fn counts(&self) -> &[Vec<usize>] {
        &self.counts
    }

    /// Examples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Examples predicted correctly (the diagonal).
    pub fn correct(&self) -> usize {
        (0..self.classes()).map(|c| self.counts[c][c]).sum()
    }

    /// Accuracy in percent (like [`EpochStats::accuracy`](crate::train::EpochStats::accuracy)); 0 when empty.
    pub fn accuracy(&self) -> f32 {
        percent(self.correct(), self.total()).unwrap_or(0.0)
    }

    /// Recall of `class` in percent: of the examples that *are* `class`, how many were found.
    /// `None` if the class had no examples (or does not exist).
    pub fn recall(&self, class: usize) -> Option<f32> {
        let row = self.counts.get(class)?;
        percent(row[class], row.iter().sum())
    }

    /// Every class's [`recall`](Confusion::recall), in class order.
    pub fn recalls(&self) -> Vec<Option<f32>> {
        (0..self.classes()).map(|c| self.recall(c)).collect()
    }

    /// Precision of `class` in percent: of the examples *predicted* as `class`, how many are.
    /// `None` if nothing was predicted as `class` (or it does not exist).
    pub fn precision(&self, class: usize) -> Option<f32> {
        let column_total = self.counts.iter().map(|row| row.get(class).copied()).sum::<Option<usize>>()?;
        percent(self.counts[class][class], column_total)
    }

    /// The matrix as an SVG heatmap: rows are true classes, columns predicted classes, each cell
    /// holds its count and is shaded by its share of its row (so every class's row reads the same
    /// way whatever its size).
    pub fn heatmap_svg(&self) -> Result<Figure> {
        let layout = Layout::of(self.classes());
        render_svg(layout.width, layout.height, |area| self.draw(area, &layout))
    }

    /// The heatmap of [`Confusion::heatmap_svg`] as a PNG.
    pub fn heatmap_png(&self) -> Result<Figure> {
        let layout = Layout::of(self.classes());
        render_png(layout.width, layout.height, |area| self.draw(area, &layout))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, layout: &Layout) -> Result<()> {
        area.fill(&WHITE).map_err(figure_error)?;
        let n = self.classes();
        let text = |size: u32, h: HPos, v: VPos| text_style(size, RGBColor(40, 40, 40), h, v);
        let title = format!("accuracy {:.2}% of {}", self.accuracy(), self.total());
        area.draw_text(&title, &text(16, HPos::Center, VPos::Top), ((layout.width / 2) as i32, 8))
            .map_err(figure_error)?;

        let cell = layout.cell as i32;
        let (left, top) = (layout.left as i32, layout.top as i32);
        let count_size = (layout.cell / 3).clamp(9, 14);
        for (t, row) in self.counts.iter().enumerate() {
            let row_total: usize = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let share = if row_total > 0 { count as f32 / row_total as f32 } else { 0.0 };
                let mix = |full: u8| (255.0 + (full as f32 - 255.0) * share).round() as u8;
                let fill = RGBColor(mix(FULL_RGB.0), mix(FULL_RGB.1), mix(FULL_RGB.2));
                let (x, y) = (left + p as i32 * cell, top + t as i32 * cell);
                area.draw(&Rectangle::new([(x, y), (x + cell - 1, y + cell - 1)], fill.filled()))
                    .map_err(figure_error)?;
                let ink = if share > 0.5 {
                    WHITE
                } else if count == 0 {
                    RGBColor(185, 185, 185)
                } else {
                    RGBColor(40, 40, 40)
                };
                let style = text_style(count_size, ink, HPos::Center, VPos::Center);
                area.draw_text(&count.to_string(), &style, (x + cell / 2, y + cell / 2))
                    .map_err(figure_error)?;
            }
        }
        // The diagonal framed: the correct answers.
        for c in 0..n as i32 {
            let (x, y) = (left + c * cell, top + c * cell);
            area.draw(&Rectangle::new(
                [(x, y), (x + cell - 1, y + cell - 1)],
                RGBColor(40, 40, 40).stroke_width(1),
            ))
            .map_err(figure_error)?;
        }

        let names = text(13, HPos::Right, VPos::Center);
        let column_names = text(13, HPos::Center, VPos::Top);
        for (c, name) in self.class_names.iter().enumerate() {
            let middle = c as i32 * cell + cell / 2;
            area.draw_text(name, &names, (left - 6, top + middle)).map_err(figure_error)?;
            area.draw_text(name, &column_names, (left + middle, top + n as i32 * cell + 6))
                .map_err(figure_error)?;
        }
        let grid = n as i32 * cell;
        area.draw_text("predicted", &text(14, HPos::Center, VPos::Top), (left + grid / 2, top + grid + 28))
            .map_err(figure_error)?;
        area.draw_text("true", &text(14, HPos::Right, VPos::Bottom), (left - 6, top - 6))
            .map_err(figure_error)?;
        Ok(())
    }
}

fn percent(part: usize, whole: usize) -> Option<f32> {
    (whole > 0).then(|| 100.0 * part as f32 / whole as f32)
}

/// Where the heatmap's cells go: `cell × cell` squares from `(left, top)`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    cell: u32,
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

impl Layout {
    fn of(classes: usize) -> Self {
        let cell = (480 / classes.max(1) as u32).clamp(18, 48);
        let (left, top) = (110, 60);
        let grid = cell * classes as u32;
        Layout { cell, left, top, width: left + grid + 30, height: top + grid + 60 }
    }

    /// A pixel of cell `(truth, predicted)` that its count's text does not cover.
    #[cfg(test)]
    fn fill_sample(&self, truth: usize, predicted: usize) -> (u32, u32) {
        (
            self.left + predicted as u32 * self.cell + self.cell / 4,
            self.top + truth as u32 * self.cell + self.cell / 4,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::test_support::check_svg;

    fn example() -> Confusion {
        // Class 0: 3 right, 1 called 2. Class 1: 2 right. Class 2: 1 right, 1 called 1.
        let truth: [u8; 8] = [0, 0, 0, 0, 1, 1, 2, 2];
        let predicted: [u8; 8] = [0, 0, 0, 2, 1, 1, 2, 1];
        Confusion::from_predictions(&truth, &predicted, 3).unwrap()
    }

    #[test]
    fn counts_accuracy_recall_precision() {
        let c = example();
        assert_eq!(c.counts(), &[vec![3, 0, 1], vec![0, 2, 0], vec![0, 1, 1]]);
        assert_eq!((c.total(), c.correct()), (8, 6));
        assert_eq!(c.accuracy(), 75.0);
        assert_eq!(c.recalls(), vec![Some(75.0), Some(100.0), Some(50.0)]);
        assert_eq!(c.precision(1), Some(100.0 * 2.0 / 3.0));
        assert_eq!(c.precision(0), Some(100.0));
        assert_eq!(c.recall(3), None);
        assert_eq!(c.precision(3), None);
        let empty = Confusion::new(2).unwrap();
        assert_eq!((empty.accuracy(), empty.recall(0), empty.precision(1)), (0.0, None, None));
        // u32 labels, as argmax gives them, work the same.
        let from_u32 =
            Confusion::from_predictions(&[0u32, 0, 0, 0, 1, 1, 2, 2], &[0u32, 0, 0, 2, 1, 1, 2, 1], 3)
                .unwrap();
        assert_eq!(from_u32, c);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(Confusion::from_predictions::<u8>(&[], &[], 10), Err(Error::InvalidArgument(_))));
        assert!(matches!(Confusion::from_predictions(&[1u8, 2], &[1u8], 10), Err(Error::Shape(_))));
        let err = Confusion::from_predictions(&[1u8, 12], &[1u8, 2], 10).unwrap_err();
        assert!(err.to_string().contains("label 12"), "{err}");
        assert!(matches!(Confusion::new(0), Err(Error::InvalidArgument(_))));
        assert!(matches!(example().with_class_names(["a", "b"]), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn svg_heatmap_shows_counts_names_and_accuracy() {
        let c = example().with_class_names(["zero", "one", "two"]).unwrap();
        let figure = c.heatmap_svg().unwrap();
        let layout = Layout::of(3);
        let texts = check_svg(figure.as_svg().unwrap(), layout.width, layout.height);
        for expected in
            ["zero", "one", "two", "predicted", "true", "accuracy 75.00% of 8", "3", "2", "1", "0"]
        {
            assert!(texts.iter().any(|t| t == expected), "`{expected}` missing from {texts:?}");
        }
        // 9 counts + 3 × 2 names + 3 axis and title texts.
        assert_eq!(texts.len(), 9 + 6 + 3);
        assert_eq!(texts.iter().filter(|t| *t == "1").count(), 3, "cells (0,2), (2,1), (2,2)");
        assert_eq!(texts.iter().filter(|t| *t == "0").count(), 4);
    }

    #[test]
    fn png_heatmap_shades_by_row_share() {
        let c = example();
        let figure = c.heatmap_png().unwrap();
        let layout = Layout::of(3);
        let image = image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (layout.width, layout.height));
        let at = |t, p| {
            let (x, y) = layout.fill_sample(t, p);
            image.get_pixel(x, y).0
        };
        assert_eq!(at(1, 1), [FULL_RGB.0, FULL_RGB.1, FULL_RGB.2], "all of class 1 on the diagonal");
        assert_eq!(at(1, 0), [255, 255, 255], "nothing off it");
        // Row 0: 3/4 on the diagonal is darker than 1/4 off it.
        let darkness = |c: [u8; 3]| 765 - c.iter().map(|&v| v as i32).sum::<i32>();
        assert!(darkness(at(0, 0)) > darkness(at(0, 2)) && darkness(at(0, 2)) > 0);
    }
}
