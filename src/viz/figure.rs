//! [`Figure`]: a finished picture, PNG or SVG, that can be saved or shown in a notebook.

use std::path::Path;

use base64::Engine;

use crate::error::{Error, Result};

/// A finished figure: the encoded bytes of a PNG or the text of an SVG, with its size in pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A raster image, already PNG-encoded.
    Png { bytes: Vec<u8>, width: u32, height: u32 },
    /// A vector image: the SVG document as text.
    Svg { text: String, width: u32, height: u32 },
}

impl Figure {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        match self {
            Figure::Png { width, .. } | Figure::Svg { width, .. } => *width,
        }
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        match self {
            Figure::Png { height, .. } | Figure::Svg { height, .. } => *height,
        }
    }

    /// The MIME type of the content: `image/png` or `image/svg+xml`.
    pub(crate) fn mime_type(&self) -> &'static str {
        match self {
            Figure::Png { .. } => "image/png",
            Figure::Svg { .. } => "image/svg+xml",
        }
    }

    /// The file extension the content needs: `png` or `svg`.
    pub(crate) fn extension(&self) -> &'static str {
        match self {
            Figure::Png { .. } => "png",
            Figure::Svg { .. } => "svg",
        }
    }

    /// The PNG bytes, or `None` for an SVG figure (there is no SVG rasteriser in this crate).
    #[cfg(test)]
    pub(crate) fn as_png(&self) -> Option<&[u8]> {
        match self {
            Figure::Png { bytes, .. } => Some(bytes),
            Figure::Svg { .. } => None,
        }
    }

    /// The SVG text, or `None` for a PNG figure.
    #[cfg(test)]
    pub(crate) fn as_svg(&self) -> Option<&str> {
        match self {
            Figure::Svg { text, .. } => Some(text),
            Figure::Png { .. } => None,
        }
    }

    /// Writes the figure to `path`, whose extension must be the figure's own (`.png` or `.svg`,
    /// any case): a PNG written to `maps.svg` would open nowhere, so it is refused instead.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if extension.as_deref() != Some(self.extension()) {
            let found = match &extension {
                Some(e) => format!("the extension `.{e}`"),
                None => "no extension".to_string(),
            };
            return Err(Error::Image {
                path: path.to_path_buf(),
                what: format!(
                    "this figure is {}, but the path has {found}; save it as `.{}`",
                    self.mime_type(),
                    self.extension()
                ),
            });
        }
        let bytes: &[u8] = match self {
            Figure::Png { bytes, .. } => bytes,
            Figure::Svg { text, .. } => text.as_bytes(),
        };
        std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
    }

    /// The block the evcxr Jupyter kernel reads from standard output to show rich content:
    /// `EVCXR_BEGIN_CONTENT <mime>`, the content (base64 for PNG, the text for SVG),
    /// `EVCXR_END_CONTENT`, each on its own line.
    pub(crate) fn evcxr_block(&self) -> String {
        let content = match self {
            Figure::Png { bytes, .. } => base64::engine::general_purpose::STANDARD.encode(bytes),
            Figure::Svg { text, .. } => text.clone(),
        };
        format!("EVCXR_BEGIN_CONTENT {}\n{}\nEVCXR_END_CONTENT\n", self.mime_type(), content)
    }

    /// Shows the figure in a Jupyter notebook running evcxr: the kernel calls `evcxr_display` on a
    /// cell's value when it has this method, and turns the printed `Figure::evcxr_block` into an image.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_block());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png() -> Figure {
        let mut canvas = super::super::canvas::Canvas::new(3, 2, [10, 20, 30]);
        canvas.put_pixel(2, 1, [200, 100, 0]);
        canvas.into_png().unwrap()
    }

    fn tiny_svg() -> Figure {
        Figure::Svg {
            text:
                "<svg width=\"4\" height=\"5\" xmlns=\"http://www.w3.org/2000/svg\"><text>hi</text></svg>\n"
                    .into(),
            width: 4,
            height: 5,
        }
    }

    #[test]
    fn evcxr_block_of_png_decodes_to_the_same_image() {
        let figure = tiny_png();
        let block = figure.evcxr_block();
        let mut lines = block.lines();
        assert_eq!(lines.next(), Some("EVCXR_BEGIN_CONTENT image/png"));
        let payload = lines.next().unwrap();
        assert_eq!(lines.next(), Some("EVCXR_END_CONTENT"));
        assert_eq!(lines.next(), None);
        assert!(block.ends_with('\n'));
        let bytes = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
        let image = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (3, 2));
        assert_eq!(image.get_pixel(2, 1).0, [200, 100, 0]);
        assert_eq!(image.get_pixel(0, 0).0, [10, 20, 30]);
    }

    #[test]
    fn evcxr_block_of_svg_carries_the_text() {
        let figure = tiny_svg();
        let block = figure.evcxr_block();
        assert!(block.starts_with("EVCXR_BEGIN_CONTENT image/svg+xml\n<svg width=\"4\""));
        assert!(block.ends_with("</svg>\n\nEVCXR_END_CONTENT\n"));
    }

    #[test]
    fn evcxr_block_of_a_drawn_svg_is_the_whole_document() {
        let kernel = vec![vec![1.0, -1.0]];
        let figure = crate::viz::conv_step_figure(&[vec![1.0, 2.0, 3.0]], &kernel, 0, 1, 0, 1).unwrap();
        let block = figure.evcxr_block();
        let body = block
            .strip_prefix("EVCXR_BEGIN_CONTENT image/svg+xml\n")
            .and_then(|rest| rest.strip_suffix("\nEVCXR_END_CONTENT\n"))
            .unwrap();
        assert_eq!(body, figure.as_svg().unwrap());
        let texts = crate::viz::test_support::check_svg(body, figure.width(), figure.height());
        assert!(texts.iter().any(|t| t == "out[0][1] = 2×1 + 3×(-1) = -1"), "{texts:?}");
    }

    #[test]
    fn save_checks_the_extension_and_writes_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let png = tiny_png();
        let svg = tiny_svg();

        let png_path = dir.path().join("a.PNG");
        png.save(&png_path).unwrap();
        assert_eq!(std::fs::read(&png_path).unwrap(), png.as_png().unwrap());
        let svg_path = dir.path().join("b.svg");
        svg.save(&svg_path).unwrap();
        assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), svg.as_svg().unwrap());

        for (figure, name) in [(&png, "a.svg"), (&svg, "b.png"), (&png, "a"), (&svg, "b.jpeg")] {
            let error = figure.save(dir.path().join(name)).unwrap_err();
            assert!(matches!(error, Error::Image { .. }), "{error}");
            let message = error.to_string();
            assert!(message.contains(&format!("save it as `.{}`", figure.extension())), "{message}");
            assert!(!dir.path().join(name).exists());
        }
    }

    #[test]
    fn save_reports_an_unwritable_path() {
        let dir = tempfile::tempdir().unwrap();
        let error = tiny_png().save(dir.path().join("missing-dir").join("a.png")).unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error}");
    }
}
