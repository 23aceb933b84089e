//! Pictures of what a CNN does: the book's figures and the notebooks' inline images.
//!
//! The chapter "Convolution" steps a kernel over a small grid of numbers ([`conv_step_figure`]);
//! "What LeNet learned" shows the kernels and the feature maps of each layer ([`MapGrid`],
//! [`feature_maps`]); the training chapters plot loss and accuracy per epoch ([`curves_svg`],
//! [`curves_png`]), the confusion matrix ([`Confusion`]) and the digits the model got wrong
//! ([`mistakes_grid_from_bytes`]). [`model_figures`] draws them all for a trained LeNet at once: what
//! `lenet-tutor visualize` writes.
//!
//! Every function returns a [`Figure`]: PNG bytes or SVG text, ready to [`Figure::save`] or, in a
//! Jupyter notebook running the evcxr kernel, to show inline (a cell whose value is a `Figure`
//! displays the image, see [`Figure::evcxr_display`]).
//!
//! Pixel pictures (maps, digits) are drawn pixel by pixel into an RGB buffer so that one map value
//! is exactly one (upscaled) square of colour; text on them is drawn by `plotters` with the
//! DejaVu Sans font embedded in the binary (`src/viz/fonts/`), so no system font is needed.
//! Line charts and diagrams are drawn by `plotters` as SVG (crisp at any zoom) or PNG.

mod canvas;
mod colormap;
mod confusion;
mod conv_step;
mod curves;
mod digit_png;
mod figure;
mod grid;
mod layers;
mod mistakes;
pub mod model_figures;
mod signals;

pub use colormap::{ColorMap, Normalization};
pub use confusion::Confusion;
pub use conv_step::conv_step_figure;
pub use curves::{curves_png, curves_svg};
pub use digit_png::digit_png;
pub use figure::Figure;
pub use grid::MapGrid;
pub use layers::{Activations, feature_maps};
pub use mistakes::mistakes_grid_from_bytes;
pub use signals::{signals_png, signals_svg};

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, Color, DrawingArea, DrawingBackend, IntoDrawingArea, IntoFont, RGBColor, SVGBackend,
    TextStyle, WHITE,
};
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

/// The font family every figure asks `plotters` for.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans, embedded so that text renders the same on every machine (licence: `fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

static REGISTER_FONT: Once = Once::new();

/// Makes the embedded font known to `plotters` under [`FONT_FAMILY`].
///
/// `plotters` is built with its `ab_glyph` feature, which loads no system fonts: until a font is
/// registered, every text it draws fails with "FontUnavailable". Every drawing function calls this
/// first; [`Once`] makes the registration happen exactly once per process.
pub(crate) fn ensure_font() {
    REGISTER_FONT.call_once(|| {
        // The bytes are a font file compiled into the binary; the tests draw text with it, so a
        // broken file would show up there. Ignoring the error here keeps drawing code panic-free:
        // text drawing would then report `Error::Figure` instead.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS);
    });
}

/// Turns a `plotters` drawing error into the crate's [`Error::Figure`].
/// The line colours of the crate's plots, in order (matplotlib's first four): training and
/// validation curves, a signal's panels, the correlation lines.
pub(crate) const LINE_COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];

/// Draws the legend of `chart`'s labelled series at `position`, in the plots' one style.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut plotters::chart::ChartContext<'a, DB, CT>,
    position: plotters::chart::SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT_FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(figure_error)
}

pub(crate) fn figure_error(error: impl std::fmt::Display) -> Error {
    Error::Figure(error.to_string())
}

/// Text of `size` pixels in `color`, anchored at the `(h, v)` point of its box.
pub(crate) fn text_style(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    // A font description looks its font up when it is created, so the font must be registered first.
    ensure_font();
    TextStyle { font: (FONT_FAMILY, size).into_font(), color: color.to_backend_color(), pos: Pos::new(h, v) }
}

/// Runs `draw` on a `width × height` SVG surface and returns the document as a [`Figure::Svg`].
pub(crate) fn render_svg(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<Figure> {
    ensure_font();
    let mut text = String::new();
    {
        let area = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        draw(&area)?;
        area.present().map_err(figure_error)?;
    }
    Ok(Figure::Svg { text, width, height })
}

/// Runs `draw` on a white `width × height` bitmap and returns it PNG-encoded as a [`Figure::Png`].
pub(crate) fn render_png(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Figure> {
    ensure_font();
    let mut canvas = canvas::Canvas::checked(width, height, canvas::WHITE_RGB)?;
    canvas.with_plotters(draw)?;
    canvas.into_png()
}

/// Helpers the tests of several figures share.
#[cfg(test)]
pub(crate) mod test_support {
    /// Checks that `svg` looks like a well-formed SVG document of `width × height` pixels: the root
    /// element carries the size, and every opened tag is closed in order. Returns the contents of
    /// its `<text>` elements, trimmed.
    pub(crate) fn check_svg(svg: &str, width: u32, height: u32) -> Vec<String> {
        assert!(
            svg.starts_with(&format!("<svg width=\"{width}\" height=\"{height}\"")),
            "root: {}",
            &svg[..80.min(svg.len())]
        );
        assert!(svg.trim_end().ends_with("</svg>"));
        let mut stack: Vec<&str> = Vec::new();
        let mut texts = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = start + rest[start..].find('>').expect("unterminated tag");
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().expect("closing tag without an opening one");
                assert_eq!(open, name.trim(), "tags closed out of order");
            } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
                let name = tag.split_whitespace().next().unwrap_or("");
                stack.push(name);
                if name == "text" {
                    let close = end + rest[end..].find("</text>").expect("<text> never closed");
                    texts.push(rest[end + 1..close].trim().to_string());
                }
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed tags: {stack:?}");
        texts
    }
}
