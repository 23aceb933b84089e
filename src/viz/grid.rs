//! [`MapGrid`]: many small 2-D maps side by side — kernels, feature maps, digits.
//!
//! "What LeNet learned" looks at `conv1`'s six 5×5 kernels and at the six 24×24 maps they make
//! from one digit; both are a stack of `N` maps of `H × W` numbers, drawn here as a grid of
//! little images, one upscaled square per number.

use candle_core::Tensor;

use super::canvas::{Anchor, Canvas, Rgb, TEXT_RGB, WHITE_RGB};
use super::colormap::{ColorMap, Normalization, ValueRange};
use super::figure::Figure;
use crate::args::values;
use crate::error::{Error, Result};

/// Font size of the labels under the maps, in pixels.
pub(crate) const LABEL_SIZE: u32 = 13;
/// Font size of figure titles, in pixels.
pub(crate) const TITLE_SIZE: u32 = 16;
/// The maps are upscaled so that their longer side is about this many pixels, unless a scale is given.
const AUTO_CELL_PIXELS: u32 = 64;
/// Light gray line drawn around each map, so a white (zero) edge of a diverging map stays visible.
const MAP_FRAME_RGB: Rgb = [190, 190, 190];

/// A grid of 2-D maps drawn as small images, built step by step and drawn by [`MapGrid::render`].
///
/// ```no_run
/// # use lenet_tutor::viz::{ColorMap, MapGrid, Normalization};
/// # fn demo(conv1_weight: &candle_core::Tensor) -> lenet_tutor::Result<()> {
/// // conv1's kernels, [6, 1, 5, 5]: signed weights, one scale for all six.
/// let figure = MapGrid::new(conv1_weight)?
///     .color_map(ColorMap::Diverging)
///     .normalization(Normalization::Shared)
///     .labels((0..6).map(|k| format!("kernel {k}")))
///     .title("conv1 kernels")
///     .render()?;
/// figure.save("conv1-kernels.png")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MapGrid {
    /// All maps, one after the other, each `height × width` row-major.  // [N*H*W]
    values: Vec<f32>,
    count: usize,
    height: usize,
    width: usize,
    columns: Option<usize>,
    normalization: Normalization,
    color_map: ColorMap,
    scale: Option<u32>,
    gap: u32,
    margin: u32,
    labels: Option<Vec<String>>,
    title: Option<String>,
}

/// Where one map's pixels landed on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    pub(crate) x: u32,
    pub(crate) y: u32,
    /// The upscale factor: map value `(r, c)` covers `scale × scale` pixels from `(x + c·scale, y + r·scale)`.
    pub(crate) scale: u32,
}

/// `(N, H, W)` of a stack of maps: `[H,W]`, `[N,H,W]`, `[N,1,H,W]` or `[1,N,H,W]`.
fn map_dims(dims: &[usize]) -> Result<(usize, usize, usize)> {
    let (n, h, w) = match *dims {
        [h, w] => (1, h, w),
        [n, h, w] => (n, h, w),
        [n, 1, h, w] | [1, n, h, w] => (n, h, w),
        _ => {
            return Err(Error::Shape(format!(
                "a map grid needs maps shaped [N,H,W] (or [H,W], [N,1,H,W], [1,N,H,W]), got {dims:?}; \
                 pick one image or one channel first, e.g. with `tensor.get(0)?`"
            )));
        }
    };
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::Shape(format!("a map grid needs at least one non-empty map, got shape {dims:?}")));
    }
    Ok((n, h, w))
}

impl MapGrid {
    /// A grid of the maps in `maps`, shaped `[N,H,W]`; `[H,W]` (one map), `[N,1,H,W]` and
    /// `[1,N,H,W]` (a batch of one-channel images, or one image's channels) are accepted too.
    /// Any dtype and device; the values are copied to the CPU as `f32`.
    pub fn new(maps: &Tensor) -> Result<Self> {
        let (count, height, width) = map_dims(maps.dims())?;
        MapGrid::from_values(values(maps)?, count, height, width)
    }

    /// A grid of `count` maps of `height × width` values each, stored one after the other, row-major.
    pub fn from_values(values: Vec<f32>, count: usize, height: usize, width: usize) -> Result<Self> {
        map_dims(&[count, height, width])?;
        if values.len() != count * height * width {
            return Err(Error::Shape(format!(
                "{count} maps of {height}×{width} need {} values, got {}",
                count * height * width,
                values.len()
            )));
        }
        Ok(MapGrid {
            values,
            count,
            height,
            width,
            columns: None,
            normalization: Normalization::PerMap,
            color_map: ColorMap::Gray,
            scale: None,
            gap: 4,
            margin: 8,
            labels: None,
            title: None,
        })
    }

    /// Maps per row (default: all of them, up to 8).
    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = Some(columns);
        self
    }

    /// One colour scale per map or one for all (default [`Normalization::PerMap`]).
    pub fn normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Gray (default) or blue–white–red.
    pub fn color_map(mut self, color_map: ColorMap) -> Self {
        self.color_map = color_map;
        self
    }

    /// Each value becomes a `scale × scale` square (nearest neighbour, no smoothing). Default: the
    /// largest whole factor that keeps a map within about 64 pixels (2 for 28×28, 12 for 5×5).
    pub fn scale(mut self, scale: u32) -> Self {
        self.scale = Some(scale);
        self
    }

    /// Pixels between neighbouring maps (default 4). With a gap, each map gets a thin gray frame.
    #[cfg(test)]
    pub(crate) fn gap(mut self, gap: u32) -> Self {
        self.gap = gap;
        self
    }

    /// Pixels of white around the whole grid (default 8).
    pub(crate) fn margin(mut self, margin: u32) -> Self {
        self.margin = margin;
        self
    }

    /// One label per map, written under it.
    pub fn labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    /// A title above the grid.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Number of maps.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Draws the grid as a PNG figure.
    pub fn render(&self) -> Result<Figure> {
        self.draw()?.0.into_png()
    }

    /// The scale factor actually used.
    pub(crate) fn effective_scale(&self) -> u32 {
        self.scale.unwrap_or_else(|| (AUTO_CELL_PIXELS / self.height.max(self.width) as u32).max(1))
    }

    fn map(&self, index: usize) -> &[f32] {
        let size = self.height * self.width;
        &self.values[index * size..(index + 1) * size]
    }

    /// Draws the grid onto a new canvas; also says where each map went (for composing and tests).
    pub(crate) fn draw(&self) -> Result<(Canvas, Vec<Placement>)> {
        let columns = self.columns.unwrap_or(self.count.min(8));
        if columns == 0 {
            return Err(Error::InvalidArgument("a map grid needs at least 1 column".into()));
        }
        let scale = self.effective_scale();
        if scale == 0 {
            return Err(Error::InvalidArgument("the scale factor must be at least 1".into()));
        }
        if let Some(labels) = &self.labels
            && labels.len() != self.count
        {
            return Err(Error::InvalidArgument(format!(
                "{} labels were given for {} maps; give one label per map",
                labels.len(),
                self.count
            )));
        }

        let columns = columns.min(self.count);
        let rows = self.count.div_ceil(columns);
        let too_big =
            || Error::InvalidArgument("the map grid would be too large; use a smaller scale".into());
        let map_w = u32::try_from(self.width).ok().and_then(|w| w.checked_mul(scale)).ok_or_else(too_big)?;
        let map_h = u32::try_from(self.height).ok().and_then(|h| h.checked_mul(scale)).ok_or_else(too_big)?;

        // A cell is a map plus the band for its label; it is widened when a label is wider than the map.
        let mut cell_w = map_w;
        let mut label_band = 0;
        if let Some(labels) = &self.labels {
            for label in labels {
                let (w, h) = Canvas::text_size(label, LABEL_SIZE)?;
                cell_w = cell_w.max(w + 4);
                label_band = label_band.max(h + 6);
            }
        }
        let cell_h = map_h + label_band;
        let (title_w, title_band) = match &self.title {
            Some(title) => {
                let (w, h) = Canvas::text_size(title, TITLE_SIZE)?;
                (w, h + 10)
            }
            None => (0, 0),
        };
        let grid_w = columns as u64 * cell_w as u64 + (columns as u64 - 1) * self.gap as u64;
        let grid_h = rows as u64 * cell_h as u64 + (rows as u64 - 1) * self.gap as u64;
        let width = grid_w.max(title_w as u64) + 2 * self.margin as u64;
        let height = grid_h + title_band as u64 + 2 * self.margin as u64;
        let (width, height) =
            (u32::try_from(width).map_err(|_| too_big())?, u32::try_from(height).map_err(|_| too_big())?);
        let mut canvas = Canvas::checked(width, height, WHITE_RGB)?;

        if let Some(title) = &self.title {
            canvas.draw_text(
                title,
                (width as i32 / 2, self.margin as i32 + 2),
                TITLE_SIZE,
                TEXT_RGB,
                Anchor::TopCenter,
            )?;
        }

        let shared = self.color_map.range_of(&self.values);
        let grid_x = (width - grid_w as u32) / 2;
        let grid_y = self.margin + title_band;
        let mut placements = Vec::with_capacity(self.count);
        for index in 0..self.count {
            let (row, col) = ((index / columns) as u32, (index % columns) as u32);
            let cell_x = grid_x + col * (cell_w + self.gap);
            let cell_y = grid_y + row * (cell_h + self.gap);
            let x = cell_x + (cell_w - map_w) / 2;
            let y = cell_y;
            let range = match self.normalization {
                Normalization::Shared => shared,
                Normalization::PerMap => self.color_map.range_of(self.map(index)),
            };
            self.paint_map(&mut canvas, index, x, y, scale, range);
            if self.gap > 0 {
                canvas.frame_rect(x, y, map_w, map_h, 1, MAP_FRAME_RGB);
            }
            if let Some(labels) = &self.labels {
                let anchor = ((cell_x + cell_w / 2) as i32, (y + map_h + 3) as i32);
                canvas.draw_text(&labels[index], anchor, LABEL_SIZE, TEXT_RGB, Anchor::TopCenter)?;
            }
            placements.push(Placement { x, y, scale });
        }
        Ok((canvas, placements))
    }

    /// Paints map `index` with each value as a `scale × scale` square, top-left corner at `(x, y)`.
    fn paint_map(&self, canvas: &mut Canvas, index: usize, x: u32, y: u32, scale: u32, range: ValueRange) {
        for (i, &value) in self.map(index).iter().enumerate() {
            let (r, c) = ((i / self.width) as u32, (i % self.width) as u32);
            canvas.fill_rect(x + c * scale, y + r * scale, scale, scale, self.color_map.color(value, range));
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;

    fn decode(figure: &Figure) -> image::RgbImage {
        image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8()
    }

    #[test]
    fn one_bright_value_lands_on_its_upscaled_square() {
        let (h, w, s) = (5usize, 7usize, 3u32);
        let (r, c) = (3u32, 5u32);
        let mut values = vec![0f32; h * w];
        values[r as usize * w + c as usize] = 9.0;
        let map = Tensor::from_vec(values, (h, w), &Device::Cpu).unwrap();
        let figure = MapGrid::new(&map).unwrap().scale(s).gap(0).margin(0).render().unwrap();
        let image = decode(&figure);
        assert_eq!(image.dimensions(), (w as u32 * s, h as u32 * s));
        assert_eq!((figure.width(), figure.height()), image.dimensions());
        for (x, y, pixel) in image.enumerate_pixels() {
            let inside = x / s == c && y / s == r;
            let expected = if inside { [255; 3] } else { [0; 3] };
            assert_eq!(pixel.0, expected, "pixel ({x}, {y})");
        }
    }

    #[test]
    fn squeezable_shapes_draw_the_same_picture() {
        let values: Vec<f32> = (0..3 * 4 * 4).map(|v| ((v * 7) % 11) as f32).collect();
        let base = Tensor::from_vec(values, (3, 4, 4), &Device::Cpu).unwrap();
        let expected = MapGrid::new(&base).unwrap().render().unwrap();
        for shape in [(3, 1, 4, 4), (1, 3, 4, 4)] {
            let t = base.reshape(shape).unwrap();
            assert_eq!(MapGrid::new(&t).unwrap().render().unwrap(), expected, "{shape:?}");
        }
        // u8 tensors are fine too.
        let bytes = base.to_dtype(DType::U8).unwrap();
        assert_eq!(MapGrid::new(&bytes).unwrap().render().unwrap(), expected);
    }

    #[test]
    fn shared_normalisation_keeps_weak_maps_dim() {
        // Map 0 peaks at 1, map 1 at 10.
        let mut values = vec![0f32; 2 * 2 * 2];
        values[0] = 1.0;
        values[4] = 10.0;
        let maps = Tensor::from_vec(values, (2, 2, 2), &Device::Cpu).unwrap();
        let grid = MapGrid::new(&maps).unwrap().scale(1).gap(0).margin(0).columns(2);
        let per_map = decode(&grid.clone().render().unwrap());
        assert_eq!(per_map.get_pixel(0, 0).0, [255; 3]);
        assert_eq!(per_map.get_pixel(2, 0).0, [255; 3]);
        let shared = decode(&grid.normalization(Normalization::Shared).render().unwrap());
        assert_eq!(shared.get_pixel(0, 0).0, [26; 3]); // 1/10 of the way to white
        assert_eq!(shared.get_pixel(2, 0).0, [255; 3]);
    }

    #[test]
    fn diverging_paints_negative_blue_positive_red_zero_white() {
        let kernel = Tensor::new(&[[-2f32, 0.0, 1.0]], &Device::Cpu).unwrap();
        let image =
            decode(&MapGrid::new(&kernel).unwrap().color_map(ColorMap::Diverging).scale(4).render().unwrap());
        let at = |c: u32| image.get_pixel(8 + c * 4 + 1, 8 + 1).0;
        let [r, _, b] = at(0);
        assert!(b > r + 100, "negative should be blue, got {:?}", at(0));
        assert_eq!(at(1), [255; 3]);
        let [r, _, b] = at(2);
        assert!(r > b + 50, "positive should be red, got {:?}", at(2));
        // Symmetric scale: +1 is half as saturated as −2 would be on the red side.
        assert!(at(2)[1] > 100, "+1 of ±2 should be light red, got {:?}", at(2));
    }

    #[test]
    fn layout_wraps_into_rows_and_labels_add_a_band() {
        let maps = Tensor::zeros((5, 6, 6), DType::F32, &Device::Cpu).unwrap();
        let plain = MapGrid::new(&maps).unwrap().columns(2).scale(2).gap(3).margin(5);
        let (canvas, placements) = plain.draw().unwrap();
        // 2 columns of 12 px, 3 rows of 12 px, 3 px gaps, 5 px margins.
        assert_eq!((canvas.width(), canvas.height()), (2 * 12 + 3 + 10, 3 * 12 + 2 * 3 + 10));
        assert_eq!(placements[3], Placement { x: 5 + 15, y: 5 + 15, scale: 2 });
        assert_eq!(placements[4], Placement { x: 5, y: 5 + 30, scale: 2 });

        let labelled = plain.clone().labels(["a", "b", "c", "d", "wide label"]).title("T");
        let (canvas2, _) = labelled.draw().unwrap();
        assert!(canvas2.height() > canvas.height() + 3 * 10, "label bands and a title add height");
        assert!(canvas2.width() > canvas.width(), "a wide label widens the cells");
        // Text ink is present under the maps (the maps themselves are black, the page white).
        let (_, placements2) = labelled.draw().unwrap();
        let below = placements2[0].y + 12 + 2;
        let ink = (0..canvas2.width())
            .flat_map(|x| (below..below + 12).map(move |y| (x, y)))
            .filter(|&(x, y)| canvas2.pixel(x, y).unwrap()[0] < 160)
            .count();
        assert!(ink > 5, "no label ink under the first map");
    }

    #[test]
    fn wrong_shapes_and_arguments_are_errors() {
        let dev = &Device::Cpu;
        let bad = Tensor::zeros((2, 3, 4, 5), DType::F32, dev).unwrap();
        let err = MapGrid::new(&bad).unwrap_err();
        assert!(matches!(err, Error::Shape(_)) && err.to_string().contains("[2, 3, 4, 5]"), "{err}");
        assert!(matches!(MapGrid::new(&Tensor::zeros(5, DType::F32, dev).unwrap()), Err(Error::Shape(_))));
        assert!(matches!(
            MapGrid::new(&Tensor::zeros((0, 3, 3), DType::F32, dev).unwrap()),
            Err(Error::Shape(_))
        ));
        assert!(matches!(MapGrid::from_values(vec![0.0; 5], 1, 2, 3), Err(Error::Shape(_))));
        let ok = Tensor::zeros((2, 3, 3), DType::F32, dev).unwrap();
        let grid = MapGrid::new(&ok).unwrap();
        assert!(matches!(grid.clone().labels(["one"]).render(), Err(Error::InvalidArgument(_))));
        assert!(matches!(grid.clone().columns(0).render(), Err(Error::InvalidArgument(_))));
        assert!(matches!(grid.clone().scale(0).render(), Err(Error::InvalidArgument(_))));
        assert!(matches!(grid.scale(100_000).render(), Err(Error::InvalidArgument(_))));
    }
}
