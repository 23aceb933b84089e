//! One step of a convolution, drawn with its numbers: the chapter "Convolution".
//!
//! The kernel lies on a window of the (zero-padded) input; the numbers under it are multiplied
//! element by element with the kernel's, and the products summed give one output cell. Drawing
//! the steps for every `(out_y, out_x)` in turn is the animation the chapter builds on; the
//! output cells computed so far are filled in, the later ones left empty.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use candle_core::{Device, Tensor};

use super::{Figure, figure_error, render_svg, text_style};
use crate::conv;
use crate::error::{Error, Result};

const MARGIN: i32 = 20;
/// Space between two grids, where the `×`, `=` and `→` signs go.
const GAP: i32 = 56;
const TITLE_BAND: i32 = 34;
const GRID_TITLE_BAND: i32 = 26;
const EQUATION_BAND: i32 = 48;
/// Kernels up to this many elements get the whole sum written out under the figure.
const MAX_WRITTEN_TERMS: usize = 9;

const INK: RGBColor = RGBColor(40, 40, 40);
const GRID_LINE: RGBColor = RGBColor(150, 150, 150);
const PADDING_FILL: RGBColor = RGBColor(235, 235, 235);
const PADDING_INK: RGBColor = RGBColor(150, 150, 150);
const WINDOW_FILL: RGBColor = RGBColor(255, 224, 178);
const KERNEL_FILL: RGBColor = RGBColor(209, 229, 240);
const HIGHLIGHT: RGBColor = RGBColor(230, 120, 0);

/// The numbers of one convolution step.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// The input with `padding` zeros on every side.  // [H+2p][W+2p]
    padded: Vec<Vec<f32>>,
    padding: usize,
    kernel: Vec<Vec<f32>>,
    stride: usize,
    out_y: usize,
    out_x: usize,
    /// `kernel[i][j] * padded[out_y·stride + i][out_x·stride + j]`.  // [KH][KW]
    products: Vec<Vec<f32>>,
    /// The whole output (cross-correlation, as `Tensor::conv2d` and PyTorch compute it).  // [OH][OW]
    output: Vec<Vec<f32>>,
}

/// The dimensions of a non-empty rectangular grid, or an error naming `what`.
fn grid_dims(grid: &[Vec<f32>], what: &str) -> Result<(usize, usize)> {
    let width = grid.first().map_or(0, Vec::len);
    if width == 0 {
        return Err(Error::Shape(format!("the {what} is empty; give at least one row of numbers")));
    }
    if let Some((r, row)) = grid.iter().enumerate().find(|(_, row)| row.len() != width) {
        return Err(Error::Shape(format!(
            "the {what}'s rows must all be as long: row 0 has {width} numbers, row {r} has {}",
            row.len()
        )));
    }
    Ok((grid.len(), width))
}

impl Step {
    fn new(
        input: &[Vec<f32>],
        kernel: &[Vec<f32>],
        padding: usize,
        stride: usize,
        out_y: usize,
        out_x: usize,
    ) -> Result<Self> {
        let (h, w) = grid_dims(input, "input")?;
        let (kh, kw) = grid_dims(kernel, "kernel")?;
        let input_t = Tensor::from_vec(input.concat(), (h, w), &Device::Cpu)?;
        let kernel_t = Tensor::from_vec(kernel.concat(), (kh, kw), &Device::Cpu)?;
        // The chapter's own convolution computes the picture's numbers: the whole output …
        let output = conv::conv2d_single(&input_t, &kernel_t, padding, stride)?.to_vec2::<f32>()?;
        // … and the one step drawn, its window and products.
        let step = conv::window_at(&input_t, &kernel_t, None, 0, (out_y, out_x), padding, stride)?;
        let products = step.products.chunks(kw).map(<[f32]>::to_vec).collect();
        let mut padded = vec![vec![0f32; w + 2 * padding]; h + 2 * padding];
        for (r, row) in input.iter().enumerate() {
            padded[r + padding][padding..padding + w].copy_from_slice(row);
        }
        Ok(Step { padded, padding, kernel: kernel.to_vec(), stride, out_y, out_x, products, output })
    }

    fn sum(&self) -> f32 {
        self.output[self.out_y][self.out_x]
    }

    /// `1×0 + 2×1 + … = 7` for small kernels, `sum of the 25 products = 7` for larger ones.
    fn equation(&self) -> String {
        let (y, x) = (self.out_y, self.out_x);
        let terms = self.products.iter().flatten().count();
        let sum = number(self.sum());
        if terms > MAX_WRITTEN_TERMS {
            return format!("out[{y}][{x}] = sum of the {terms} products = {sum}");
        }
        let (wy, wx) = (y * self.stride, x * self.stride);
        let written: Vec<String> = self
            .kernel
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                row.iter().enumerate().map(move |(j, &k)| {
                    let v = self.padded[wy + i][wx + j];
                    let v = if v < 0.0 { format!("({})", number(v)) } else { number(v) };
                    let k = if k < 0.0 { format!("({})", number(k)) } else { number(k) };
                    format!("{v}×{k}")
                })
            })
            .collect();
        format!("out[{y}][{x}] = {} = {sum}", written.join(" + "))
    }
}

/// A number as a reader writes it: `3`, `-0.5`, `0.33`.
fn number(v: f32) -> String {
    if v == v.round() && v.abs() < 1e6 {
        format!("{}", v.round() as i64)
    } else {
        let s = if v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.2}") };
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    }
}

/// The figure for one step of a 2-D convolution (cross-correlation, as `conv2d` computes it) of
/// `input` with `kernel`: the zero-padded input with the kernel's window outlined, the kernel,
/// the element-wise products, and the output with cell `(out_y, out_x)` outlined; every cell shows
/// its number, and the sum is written out underneath. `input` and `kernel` are lists of rows.
///
/// Errors: an empty or ragged grid, a zero stride, a kernel larger than the padded input, or an
/// output cell outside the output.
pub fn conv_step_figure(
    input: &[Vec<f32>],
    kernel: &[Vec<f32>],
    padding: usize,
    stride: usize,
    out_y: usize,
    out_x: usize,
) -> Result<Figure> {
    let step = Step::new(input, kernel, padding, stride, out_y, out_x)?;
    let layout = Layout::of(&step)?;
    render_svg(layout.width, layout.height, |area| draw(area, &step, &layout))
}

/// Where the four grids go.
struct Layout {
    cell: i32,
    /// Left edge of the input, kernel, products and output grids.
    xs: [i32; 4],
    grid_top: i32,
    width: u32,
    height: u32,
}

impl Layout {
    fn of(step: &Step) -> Result<Self> {
        let columns =
            [step.padded[0].len(), step.kernel[0].len(), step.products[0].len(), step.output[0].len()];
        let rows = [step.padded.len(), step.kernel.len(), step.products.len(), step.output.len()];
        let cell: i32 = if columns[0] > 12 { 26 } else { 36 };
        if columns.iter().chain(&rows).any(|&n| n > 200) {
            return Err(Error::InvalidArgument(
                "conv_step_figure draws small examples (up to 200 rows and columns); use a smaller input"
                    .into(),
            ));
        }
        let mut xs = [0; 4];
        let mut x = MARGIN;
        for (slot, &n) in xs.iter_mut().zip(&columns) {
            *slot = x;
            x += n as i32 * cell + GAP;
        }
        let grids_width = x - GAP + MARGIN;
        let text_width = super::canvas::Canvas::text_size(&step.equation(), 15)?.0 as i32 + 2 * MARGIN;
        let grid_top = MARGIN + TITLE_BAND + GRID_TITLE_BAND;
        let height = grid_top + *rows.iter().max().unwrap_or(&1) as i32 * cell + EQUATION_BAND;
        Ok(Layout { cell, xs, grid_top, width: grids_width.max(text_width) as u32, height: height as u32 })
    }
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, step: &Step, layout: &Layout) -> Result<()> {
    area.fill(&WHITE).map_err(figure_error)?;
    let text = text_style;
    let cell = layout.cell;
    let top = layout.grid_top;
    let (wy, wx) = (step.out_y * step.stride, step.out_x * step.stride);
    let (kh, kw) = (step.kernel.len(), step.kernel[0].len());
    let number_size = if cell > 30 { 14 } else { 11 };

    let title = format!(
        "stride {}, padding {}: output cell ({}, {})",
        step.stride, step.padding, step.out_y, step.out_x
    );
    area.draw_text(&title, &text(17, INK, HPos::Left, VPos::Top), (MARGIN, MARGIN)).map_err(figure_error)?;

    // One grid: every cell filled by `fill`, its text from `label` (None leaves it empty).
    let grid = |x0: i32,
                rows: usize,
                columns: usize,
                heading: String,
                fill: &dyn Fn(usize, usize) -> RGBColor,
                label: &dyn Fn(usize, usize) -> Option<(String, RGBColor)>|
     -> Result<()> {
        let heading_style = text(14, INK, HPos::Left, VPos::Bottom);
        area.draw_text(&heading, &heading_style, (x0, top - 8)).map_err(figure_error)?;
        for r in 0..rows {
            for c in 0..columns {
                let (x, y) = (x0 + c as i32 * cell, top + r as i32 * cell);
                let corners = [(x, y), (x + cell, y + cell)];
                area.draw(&Rectangle::new(corners, fill(r, c).filled())).map_err(figure_error)?;
                area.draw(&Rectangle::new(corners, GRID_LINE)).map_err(figure_error)?;
                if let Some((s, color)) = label(r, c) {
                    let style = text(number_size, color, HPos::Center, VPos::Center);
                    area.draw_text(&s, &style, (x + cell / 2, y + cell / 2)).map_err(figure_error)?;
                }
            }
        }
        Ok(())
    };
    // A frame 3 pixels thick (SVG rectangles have no stroke width in plotters: three nested ones).
    let frame = |x: i32, y: i32, rows: usize, columns: usize| -> Result<()> {
        for d in 0..3 {
            let corners = [(x - d, y - d), (x + columns as i32 * cell + d, y + rows as i32 * cell + d)];
            area.draw(&Rectangle::new(corners, HIGHLIGHT)).map_err(figure_error)?;
        }
        Ok(())
    };

    let (ph, pw) = (step.padded.len(), step.padded[0].len());
    let p = step.padding;
    let is_padding = |r: usize, c: usize| r < p || c < p || r >= ph - p || c >= pw - p;
    let in_window = |r: usize, c: usize| (wy..wy + kh).contains(&r) && (wx..wx + kw).contains(&c);
    let heading = if p > 0 {
        format!("input {}×{} (padding {p})", ph - 2 * p, pw - 2 * p)
    } else {
        format!("input {ph}×{pw}")
    };
    grid(
        layout.xs[0],
        ph,
        pw,
        heading,
        &|r, c| {
            if in_window(r, c) {
                WINDOW_FILL
            } else if is_padding(r, c) {
                PADDING_FILL
            } else {
                WHITE
            }
        },
        &|r, c| Some((number(step.padded[r][c]), if is_padding(r, c) { PADDING_INK } else { INK })),
    )?;
    frame(layout.xs[0] + wx as i32 * cell, top + wy as i32 * cell, kh, kw)?;

    grid(layout.xs[1], kh, kw, format!("kernel {kh}×{kw}"), &|_, _| KERNEL_FILL, &|r, c| {
        Some((number(step.kernel[r][c]), INK))
    })?;
    grid(layout.xs[2], kh, kw, "products".into(), &|_, _| WINDOW_FILL, &|r, c| {
        Some((number(step.products[r][c]), INK))
    })?;

    let (oh, ow) = (step.output.len(), step.output[0].len());
    let current = step.out_y * ow + step.out_x;
    grid(
        layout.xs[3],
        oh,
        ow,
        format!("output {oh}×{ow}"),
        &|r, c| {
            if r * ow + c == current { WINDOW_FILL } else { WHITE }
        },
        &|r, c| (r * ow + c <= current).then(|| (number(step.output[r][c]), INK)),
    )?;
    frame(layout.xs[3] + step.out_x as i32 * cell, top + step.out_y as i32 * cell, 1, 1)?;

    // The signs between the grids, level with the middle of the kernel.
    let sign_y = top + (kh as i32 * cell) / 2;
    for (sign, right_of) in [("×", 0), ("=", 1), ("→ Σ", 2)] {
        let columns = [pw, kw, kw][right_of] as i32;
        let x = layout.xs[right_of] + columns * cell + GAP / 2;
        area.draw_text(sign, &text(20, INK, HPos::Center, VPos::Center), (x, sign_y))
            .map_err(figure_error)?;
    }

    let equation_y = layout.height as i32 - EQUATION_BAND / 2;
    area.draw_text(&step.equation(), &text(15, INK, HPos::Left, VPos::Center), (MARGIN, equation_y))
        .map_err(figure_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::test_support::check_svg;

    fn grid(rows: usize, columns: usize, f: impl Fn(usize, usize) -> f32) -> Vec<Vec<f32>> {
        (0..rows).map(|r| (0..columns).map(|c| f(r, c)).collect()).collect()
    }

    #[test]
    fn products_and_output_match_a_hand_computation() {
        // 4×4 input 1..16, kernel [[1,0],[0,-1]]: out[y][x] = in[y][x] − in[y+1][x+1] = −5 everywhere.
        let input = grid(4, 4, |r, c| (r * 4 + c + 1) as f32);
        let kernel = vec![vec![1.0, 0.0], vec![0.0, -1.0]];
        let step = Step::new(&input, &kernel, 0, 1, 1, 2).unwrap();
        assert_eq!(step.products, vec![vec![7.0, 0.0], vec![0.0, -12.0]]);
        assert_eq!(step.output, vec![vec![-5.0; 3]; 3]);
        assert_eq!(step.equation(), "out[1][2] = 7×1 + 8×0 + 11×0 + 12×(-1) = -5");

        // Stride 2 on 5×5 with a 3×3 box filter: windows start at 0 and 2.
        let input = grid(5, 5, |r, c| (r * 5 + c) as f32);
        let ones = grid(3, 3, |_, _| 1.0);
        let step = Step::new(&input, &ones, 0, 2, 1, 1).unwrap();
        let expected: f32 = (2..5).flat_map(|r| (2..5).map(move |c| (r * 5 + c) as f32)).sum();
        assert_eq!(step.output.len(), 2);
        assert_eq!(step.sum(), expected);

        // Padding 1: the corner window holds five zeros.
        let step = Step::new(&grid(3, 3, |_, _| 1.0), &ones, 1, 1, 0, 0).unwrap();
        assert_eq!(step.padded.len(), 5);
        assert_eq!(step.sum(), 4.0);
        assert_eq!(step.output[1][1], 9.0);
    }

    #[test]
    fn svg_shows_every_number_the_frames_and_the_sum() {
        let input = grid(4, 4, |r, c| (r * 4 + c + 1) as f32);
        let kernel = vec![vec![1.0, 0.0], vec![0.0, -1.0]];
        let figure = conv_step_figure(&input, &kernel, 0, 1, 1, 2).unwrap();
        let svg = figure.as_svg().unwrap();
        let texts = check_svg(svg, figure.width(), figure.height());
        for v in 1..=16 {
            assert!(texts.contains(&v.to_string()), "input {v} missing");
        }
        for expected in ["-12", "input 4×4", "kernel 2×2", "products", "output 3×3", "×", "=", "→ Σ"] {
            assert!(texts.iter().any(|t| t == expected), "`{expected}` missing from {texts:?}");
        }
        assert!(texts.iter().any(|t| t.ends_with("= -5") && t.starts_with("out[1][2]")));
        // Output cells up to (1, 2) in reading order are filled: 6 of the 9 show −5.
        assert_eq!(texts.iter().filter(|t| *t == "-5").count(), 6);
        // The window frame sits at input cell (1, 2), 36-pixel cells from x = 20, y = 20 + 34 + 26.
        let (x, y) = (20 + 2 * 36, 80 + 36);
        let frame = format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"72\" height=\"72\" opacity=\"1\" fill=\"none\" stroke=\"#E67800\"/>"
        );
        assert!(svg.contains(&frame), "window frame not found:\n{svg}");
    }

    #[test]
    fn padding_cells_are_drawn_as_zeros() {
        let figure = conv_step_figure(&grid(3, 3, |_, _| 2.0), &grid(3, 3, |_, _| 1.0), 1, 1, 0, 0).unwrap();
        let texts = check_svg(figure.as_svg().unwrap(), figure.width(), figure.height());
        // 16 padding zeros in the input, 5 zero products.
        assert_eq!(texts.iter().filter(|t| *t == "0").count(), 16 + 5);
        assert!(texts.iter().any(|t| t == "input 3×3 (padding 1)"));
        assert!(
            texts.iter().any(|t| t == "out[0][0] = 0×1 + 0×1 + 0×1 + 0×1 + 2×1 + 2×1 + 0×1 + 2×1 + 2×1 = 8")
        );
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(1.0 / 3.0), "0.33");
        assert_eq!(number(1234.56), "1235");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let input = grid(4, 4, |_, _| 1.0);
        let kernel = grid(3, 3, |_, _| 1.0);
        assert!(matches!(conv_step_figure(&[], &kernel, 0, 1, 0, 0), Err(Error::Shape(_))));
        assert!(matches!(conv_step_figure(&input, &[vec![]], 0, 1, 0, 0), Err(Error::Shape(_))));
        let ragged = vec![vec![1.0, 2.0], vec![3.0]];
        assert!(matches!(conv_step_figure(&ragged, &kernel, 1, 1, 0, 0), Err(Error::Shape(_))));
        assert!(matches!(
            conv_step_figure(&input, &grid(5, 5, |_, _| 1.0), 0, 1, 0, 0),
            Err(Error::Shape(_))
        ));
        assert!(conv_step_figure(&input, &grid(5, 5, |_, _| 1.0), 1, 1, 1, 1).is_ok());
        assert!(matches!(conv_step_figure(&input, &kernel, 0, 0, 0, 0), Err(Error::Shape(_))));
        let err = conv_step_figure(&input, &kernel, 0, 1, 2, 0).unwrap_err();
        assert!(err.to_string().contains("outside the 2×2 activation map"), "{err}");
    }
}
