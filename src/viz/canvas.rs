//! A plain RGB pixel buffer: the surface the map grids and digit pictures are drawn on.
//!
//! Maps are painted pixel by pixel (one map value = one `scale × scale` square), which a chart
//! library would blur or round; only text is handed to `plotters`, drawing into the same buffer.

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{FONT_FAMILY, Figure, ensure_font, figure_error, text_style};
use crate::error::{Error, Result};

/// One pixel's colour, red, green, blue.
pub(crate) type Rgb = [u8; 3];

pub(crate) const WHITE_RGB: Rgb = [255, 255, 255];
pub(crate) const BLACK_RGB: Rgb = [0, 0, 0];
/// Dark gray for text: softer than black on a white page.
pub(crate) const TEXT_RGB: Rgb = [40, 40, 40];
/// Frames that mark "this one" (the predicted class, a highlighted cell).
pub(crate) const HIGHLIGHT_RGB: Rgb = [230, 120, 0];

/// Figures larger than this (per side) are refused: they would take gigabytes and are always a mistake
/// (a scale factor meant for a 5×5 grid applied to a 1000-map tensor).
pub(crate) const MAX_SIDE: u32 = 16_384;

/// Where a text's anchor point sits on the text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    /// The point is the middle of the text's top edge.
    TopCenter,
    /// The point is the middle of the text's left edge.
    CenterLeft,
}

/// An RGB image in memory, row-major, 3 bytes per pixel.
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A `width × height` canvas filled with `background`.
    pub(crate) fn new(width: u32, height: u32, background: Rgb) -> Self {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..width as usize * height as usize {
            pixels.extend_from_slice(&background);
        }
        Canvas { width, height, pixels }
    }

    /// Like [`Canvas::new`], but refuses absurd sizes with an error instead of allocating them.
    pub(crate) fn checked(width: u32, height: u32, background: Rgb) -> Result<Self> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::InvalidArgument(format!(
                "a figure of {width}×{height} pixels cannot be drawn (each side must be 1 to {MAX_SIDE}); \
                 use a smaller scale or fewer maps"
            )));
        }
        Ok(Canvas::new(width, height, background))
    }

    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    pub(crate) fn height(&self) -> u32 {
        self.height
    }

    /// Sets one pixel; coordinates outside the canvas are ignored (drawing is clipped).
    pub(crate) fn put_pixel(&mut self, x: u32, y: u32, color: Rgb) {
        if x < self.width && y < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&color);
        }
    }

    /// The colour of one pixel (`None` outside the canvas).
    #[cfg(test)]
    pub(crate) fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        (x < self.width && y < self.height).then(|| {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
        })
    }

    /// Fills the `w × h` rectangle whose top-left corner is `(x, y)`, clipped to the canvas.
    pub(crate) fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb) {
        let x_end = x.saturating_add(w).min(self.width);
        let y_end = y.saturating_add(h).min(self.height);
        for yy in y..y_end {
            for xx in x..x_end {
                self.put_pixel(xx, yy, color);
            }
        }
    }

    /// Draws the outline of a rectangle, `thickness` pixels wide, *outside* the `w × h` area at
    /// `(x, y)`, so that a frame never hides the pixels it marks.
    pub(crate) fn frame_rect(&mut self, x: u32, y: u32, w: u32, h: u32, thickness: u32, color: Rgb) {
        let left = x.saturating_sub(thickness);
        let top = y.saturating_sub(thickness);
        let outer_w = w + (x - left) + thickness;
        let outer_h = h + (y - top) + thickness;
        self.fill_rect(left, top, outer_w, y - top, color); // top band
        self.fill_rect(left, y + h, outer_w, thickness, color); // bottom band
        self.fill_rect(left, top, x - left, outer_h, color); // left band
        self.fill_rect(x + w, top, thickness, outer_h, color); // right band
    }

    /// Copies `other` onto this canvas with its top-left corner at `(x, y)`.
    pub(crate) fn blit(&mut self, other: &Canvas, x: u32, y: u32) {
        for yy in 0..other.height {
            let row = &other.pixels[(yy as usize * other.width as usize * 3)..][..other.width as usize * 3];
            for (xx, color) in row.chunks_exact(3).enumerate() {
                self.put_pixel(x + xx as u32, y + yy, [color[0], color[1], color[2]]);
            }
        }
    }

    /// Draws `text` at `size` pixels with its `anchor` at `(x, y)`.
    pub(crate) fn draw_text(
        &mut self,
        text: &str,
        (x, y): (i32, i32),
        size: u32,
        color: Rgb,
        anchor: Anchor,
    ) -> Result<()> {
        let (h, v) = match anchor {
            Anchor::TopCenter => (HPos::Center, VPos::Top),
            Anchor::CenterLeft => (HPos::Left, VPos::Center),
        };
        let style = text_style(size, RGBColor(color[0], color[1], color[2]), h, v);
        // plotters' ab_glyph text sits about 13 % of the font size higher than its anchor says
        // (measured: capitals of 20-pixel text start 3 pixels above a top anchor); move it back.
        let y = y + (size as i32 * 13 + 50) / 100;
        self.with_plotters(|area| area.draw_text(text, &style, (x, y)).map_err(figure_error))
    }

    /// Lets `plotters` draw on this canvas (text, lines, charts), in pixel coordinates.
    pub(crate) fn with_plotters(
        &mut self,
        draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    ) -> Result<()> {
        ensure_font();
        let (width, height) = (self.width, self.height);
        let area = BitMapBackend::with_buffer(&mut self.pixels, (width, height)).into_drawing_area();
        draw(&area)?;
        area.present().map_err(figure_error)
    }

    /// Width and height in pixels that `text` takes at `size` pixels.
    pub(crate) fn text_size(text: &str, size: u32) -> Result<(u32, u32)> {
        ensure_font();
        (FONT_FAMILY, size).into_font().box_size(text).map_err(figure_error)
    }

    /// Encodes the canvas as a PNG [`Figure`].
    pub(crate) fn into_png(self) -> Result<Figure> {
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(&self.pixels, self.width, self.height, image::ExtendedColorType::Rgb8)
            .map_err(|e| {
                Error::Figure(format!("encoding a {}×{} PNG failed: {e}", self.width, self.height))
            })?;
        Ok(Figure::Png { bytes, width: self.width, height: self.height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_goes_around_the_area_without_covering_it() {
        let mut canvas = Canvas::new(10, 10, WHITE_RGB);
        canvas.fill_rect(3, 3, 4, 4, BLACK_RGB);
        canvas.frame_rect(3, 3, 4, 4, 1, HIGHLIGHT_RGB);
        for i in 3..7 {
            assert_eq!(canvas.pixel(i, 2), Some(HIGHLIGHT_RGB));
            assert_eq!(canvas.pixel(i, 7), Some(HIGHLIGHT_RGB));
            assert_eq!(canvas.pixel(2, i), Some(HIGHLIGHT_RGB));
            assert_eq!(canvas.pixel(7, i), Some(HIGHLIGHT_RGB));
            for j in 3..7 {
                assert_eq!(canvas.pixel(i, j), Some(BLACK_RGB));
            }
        }
        assert_eq!(canvas.pixel(2, 2), Some(HIGHLIGHT_RGB));
        assert_eq!(canvas.pixel(1, 1), Some(WHITE_RGB));
        assert_eq!(canvas.pixel(8, 8), Some(WHITE_RGB));
    }

    #[test]
    fn text_is_drawn_with_the_embedded_font_where_it_is_anchored() {
        let mut canvas = Canvas::new(120, 40, WHITE_RGB);
        canvas.draw_text("7→2", (60, 4), 20, BLACK_RGB, Anchor::TopCenter).unwrap();
        let (w, h) = Canvas::text_size("7→2", 20).unwrap();
        assert!(w > 20 && h > 8, "{w}×{h}");
        // Dark pixels appear, all of them near the anchored box: centred on x = 60, below y = 4.
        let mut dark = Vec::new();
        for y in 0..40 {
            for x in 0..120 {
                if canvas.pixel(x, y).unwrap()[0] < 128 {
                    dark.push((x, y));
                }
            }
        }
        assert!(dark.len() > 30, "only {} dark pixels", dark.len());
        let min_x = dark.iter().map(|p| p.0).min().unwrap();
        let max_x = dark.iter().map(|p| p.0).max().unwrap();
        assert!(min_x >= 60 - w / 2 - 3 && max_x <= 60 + w / 2 + 3, "x {min_x}..{max_x}, w {w}");
        let min_y = dark.iter().map(|p| p.1).min().unwrap();
        let max_y = dark.iter().map(|p| p.1).max().unwrap();
        // Capitals start at the anchor, give or take a pixel; nothing reaches below the box.
        assert!(
            (3..=5).contains(&min_y) && max_y <= 4 + 2 * h,
            "text strays vertically: y {min_y}..{max_y}, h {h}"
        );
    }

    #[test]
    fn absurd_sizes_are_refused() {
        assert!(matches!(Canvas::checked(0, 5, WHITE_RGB), Err(Error::InvalidArgument(_))));
        assert!(matches!(Canvas::checked(5, MAX_SIDE + 1, WHITE_RGB), Err(Error::InvalidArgument(_))));
        assert!(Canvas::checked(5, 5, WHITE_RGB).is_ok());
    }
}
