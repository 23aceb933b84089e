//! Layer by layer: one digit, and what each layer of a network makes of it.
//!
//! "What LeNet learned" follows one digit through the network: the input, then `conv1`'s channels
//! (edges, strokes), the pooled maps, `conv2`'s more abstract channels, down to the ten logits.
//! Any model that can list its intermediate tensors implements [`Activations`]; [`feature_maps`]
//! draws them.

use candle_core::Tensor;

use super::canvas::{Anchor, Canvas, HIGHLIGHT_RGB, Rgb, TEXT_RGB, WHITE_RGB};
use super::colormap::ColorMap;
use super::figure::Figure;
use super::grid::{LABEL_SIZE, MapGrid, Placement};
use crate::args::values;
use crate::error::{Error, Result};
use crate::model::LeNet;

/// A model that can show its work: the tensors it computes for one image, in order, with names.
///
/// Each entry is `(name, tensor)` with the tensor shaped `[1,C,H,W]` (a stack of feature maps, as
/// after a convolution or pooling) or `[1,N]` / `[N]` (a vector, as after a fully connected layer).
/// Closures `Fn(&Tensor) -> Result<Vec<(String, Tensor)>>` implement it too, so a notebook can
/// list the layers of any model on the spot.
pub trait Activations {
    /// The intermediate tensors for `image`, shaped `[1,1,H,W]`.
    fn named_activations(&self, image: &Tensor) -> Result<Vec<(String, Tensor)>>;
}

impl<F> Activations for F
where
    F: Fn(&Tensor) -> Result<Vec<(String, Tensor)>>,
{
    fn named_activations(&self, image: &Tensor) -> Result<Vec<(String, Tensor)>> {
        self(image)
    }
}

/// LeNet lists its intermediate tensors (conv1, pool1, conv2, pool2, fc1, logits). This lives with
/// the figures, not with the model: figures add to the model, the model knows nothing of them.
impl Activations for LeNet {
    fn named_activations(&self, image: &Tensor) -> Result<Vec<(String, Tensor)>> {
        Ok(LeNet::activations(self, image)?.named())
    }
}

/// Channels per line in a layer's row; more channels wrap onto further lines.
const MAX_COLUMNS: usize = 16;
/// Font size of a row's name.
const NAME_SIZE: u32 = 15;
const MARGIN: u32 = 10;
/// Space between the name column and the maps, and between rows.
const SPACING: u32 = 14;
/// Height of the bar area of a vector row.
const BAR_AREA: u32 = 64;
/// Vectors up to this long get their index written under each bar (ten logits, for instance).
const MAX_INDEXED_BARS: usize = 16;
const BASELINE_RGB: Rgb = [150, 150, 150];

/// Draws `image` (one digit, `[1,1,H,W]`; `[H,W]` and `[1,H,W]` are accepted too) and each of
/// `model`'s activations for it, one row per layer with the layer's name and shape on the left.
///
/// - `[1,C,H,W]` activations: a row of the `C` channels (wrapping after 16), each stretched over
///   its own colour scale ([`Normalization::PerMap`](super::Normalization::PerMap)) so that weak
///   channels stay visible. A layer with negative values (a convolution before its ReLU) is drawn
///   blue–white–red around zero, a non-negative one (after ReLU or pooling) in gray.
/// - `[1,N]` or `[N]` activations (fully connected layers, logits): a strip of `N` bars, red up for
///   positive, blue down for negative, scaled to the largest |value|; the largest value's bar is
///   framed in orange, and up to 16 bars are numbered (for logits, the number is the class).
/// - Any other shape is an [`Error::Shape`] naming the layer.
pub fn feature_maps(model: &impl Activations, image: &Tensor) -> Result<Figure> {
    draw_feature_maps(model, image)?.0.into_png()
}

/// What one row shows, and where its maps went on the final canvas.
#[derive(Debug)]
// Only the tests read it: they check that each channel's pixels landed where its values say.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct RowLayout {
    pub(crate) name: String,
    /// One placement per channel, in canvas coordinates; empty for a vector row.
    pub(crate) maps: Vec<Placement>,
    pub(crate) color_map: Option<ColorMap>,
}

struct Row {
    name: String,
    subtitle: String,
    body: Canvas,
    maps: Vec<Placement>,
    color_map: Option<ColorMap>,
}

/// The image as `[1,1,H,W]`, or an error saying why it is not one image.
fn single_image(image: &Tensor) -> Result<Tensor> {
    let (h, w) = match *image.dims() {
        [h, w] | [1, h, w] | [1, 1, h, w] => (h, w),
        ref dims => {
            return Err(Error::Shape(format!(
                "feature_maps draws one one-channel image, shaped [1,1,H,W] (or [H,W]), got {dims:?}; \
                 pick one with `images.narrow(0, i, 1)?`"
            )));
        }
    };
    if h == 0 || w == 0 {
        return Err(Error::Shape(format!("the image is empty: {:?}", image.dims())));
    }
    Ok(image.reshape((1, 1, h, w))?)
}

pub(crate) fn draw_feature_maps(
    model: &impl Activations,
    image: &Tensor,
) -> Result<(Canvas, Vec<RowLayout>)> {
    let image = single_image(image)?;
    let (_, _, h, w) = image.dims4()?;
    let mut rows = vec![map_row("input".into(), &image, format!("{h}×{w}"), ColorMap::Gray)?];
    for (name, activation) in model.named_activations(&image)? {
        rows.push(layer_row(name, &activation)?);
    }

    let mut name_w = 0;
    for row in &rows {
        name_w = name_w.max(Canvas::text_size(&row.name, NAME_SIZE)?.0);
        name_w = name_w.max(Canvas::text_size(&row.subtitle, LABEL_SIZE)?.0);
    }
    let body_x = MARGIN + name_w + SPACING;
    let width = body_x + rows.iter().map(|r| r.body.width()).max().unwrap_or(0) + MARGIN;
    let height =
        2 * MARGIN + rows.iter().map(|r| r.body.height()).sum::<u32>() + SPACING * (rows.len() as u32 - 1);
    let mut canvas = Canvas::checked(width, height, WHITE_RGB)?;

    let mut layouts = Vec::with_capacity(rows.len());
    let mut y = MARGIN;
    for row in rows {
        let middle = (y + row.body.height() / 2) as i32;
        canvas.draw_text(&row.name, (MARGIN as i32, middle - 9), NAME_SIZE, TEXT_RGB, Anchor::CenterLeft)?;
        canvas.draw_text(
            &row.subtitle,
            (MARGIN as i32, middle + 9),
            LABEL_SIZE,
            TEXT_RGB,
            Anchor::CenterLeft,
        )?;
        canvas.blit(&row.body, body_x, y);
        let maps =
            row.maps.iter().map(|p| Placement { x: p.x + body_x, y: p.y + y, scale: p.scale }).collect();
        layouts.push(RowLayout { name: row.name, maps, color_map: row.color_map });
        y += row.body.height() + SPACING;
    }
    Ok((canvas, layouts))
}

/// The row for one named activation, chosen by its shape.
fn layer_row(name: String, activation: &Tensor) -> Result<Row> {
    match *activation.dims() {
        [1, c, h, w] if c > 0 && h > 0 && w > 0 => {
            let values = values(activation)?;
            let signed = values.iter().any(|&v| v < 0.0);
            let color_map = if signed { ColorMap::Diverging } else { ColorMap::Gray };
            map_row(name, activation, format!("{c}×{h}×{w}"), color_map)
        }
        [1, n] | [n] if n > 0 => {
            let values = values(activation)?;
            Ok(Row {
                name,
                subtitle: format!("{n}"),
                body: bar_strip(&values)?,
                maps: Vec::new(),
                color_map: None,
            })
        }
        ref dims => Err(Error::Shape(format!(
            "activation `{name}` has shape {dims:?}; feature_maps draws feature maps [1,C,H,W] and vectors [1,N] \
             (one image at a time, non-empty)"
        ))),
    }
}

fn map_row(name: String, maps: &Tensor, subtitle: String, color_map: ColorMap) -> Result<Row> {
    let grid = MapGrid::new(maps)?;
    let columns = grid.len().min(MAX_COLUMNS);
    let (body, maps) = grid.columns(columns).color_map(color_map).margin(0).draw()?;
    Ok(Row { name, subtitle, body, maps, color_map: Some(color_map) })
}

/// `values` as bars around a baseline: the middle when some are negative, the bottom otherwise.
fn bar_strip(values: &[f32]) -> Result<Canvas> {
    let n = values.len();
    let bar_w: u32 = if n <= MAX_INDEXED_BARS { 22 } else { (480 / n as u32).clamp(2, 8) };
    let indexed = n <= MAX_INDEXED_BARS;
    let index_band = if indexed { Canvas::text_size("0", LABEL_SIZE)?.1 + 6 } else { 0 };
    let width = bar_w.saturating_mul(n as u32).saturating_add(2);
    let mut canvas = Canvas::checked(width, BAR_AREA + index_band + 2, WHITE_RGB)?;

    let range = ColorMap::Diverging.range_of(values);
    let signed = values.iter().any(|&v| v < 0.0);
    let baseline = if signed { 1 + BAR_AREA / 2 } else { 1 + BAR_AREA };
    let room = if signed { BAR_AREA / 2 } else { BAR_AREA } as f32;
    let largest = values.iter().enumerate().filter(|(_, v)| v.is_finite()).max_by(|a, b| a.1.total_cmp(b.1));
    for (i, &value) in values.iter().enumerate() {
        let x = 1 + i as u32 * bar_w;
        let t =
            if range.high > 0.0 && value.is_finite() { (value / range.high).clamp(-1.0, 1.0) } else { 0.0 };
        let length = (t.abs() * room).round() as u32;
        let color = ColorMap::Diverging.color(range.high * t.signum(), range);
        let inner = bar_w.saturating_sub(if bar_w > 3 { 2 } else { 0 });
        if t >= 0.0 {
            canvas.fill_rect(x, baseline - length, inner, length, color);
        } else {
            canvas.fill_rect(x, baseline, inner, length, color);
        }
        if indexed {
            let anchor = ((x + bar_w / 2) as i32, (BAR_AREA + 5) as i32);
            canvas.draw_text(&i.to_string(), anchor, LABEL_SIZE, TEXT_RGB, Anchor::TopCenter)?;
        }
    }
    canvas.fill_rect(1, baseline, width - 2, 1, BASELINE_RGB);
    if let Some((i, _)) = largest {
        canvas.frame_rect(
            1 + i as u32 * bar_w,
            1,
            bar_w.saturating_sub(1).max(1),
            BAR_AREA,
            1,
            HIGHLIGHT_RGB,
        );
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Module};

    use super::*;

    /// One convolution with two hand-made 3×3 kernels: a vertical-edge detector (dark → bright,
    /// left to right) and its negation, then ReLU, 2×2 max pooling and the flattened vector.
    struct EdgeNet {
        conv: candle_nn::Conv2d,
    }

    impl EdgeNet {
        fn new() -> Self {
            let edge = [[-1f32, 0.0, 1.0]; 3];
            let negated = [[1f32, 0.0, -1.0]; 3];
            let weight = Tensor::new(&[[edge], [negated]], &Device::Cpu).unwrap(); // [2,1,3,3]
            EdgeNet { conv: candle_nn::Conv2d::new(weight, None, Default::default()) }
        }
    }

    impl Activations for EdgeNet {
        fn named_activations(&self, image: &Tensor) -> Result<Vec<(String, Tensor)>> {
            let conv = self.conv.forward(image)?; // [1,2,6,6]
            let relu = conv.relu()?; // [1,2,6,6]
            let pool = relu.max_pool2d(2)?; // [1,2,3,3]
            let flat = pool.flatten_from(1)?; // [1,18]
            Ok(vec![("conv".into(), conv), ("relu".into(), relu), ("pool".into(), pool), ("fc".into(), flat)])
        }
    }

    /// An 8×8 image, black with a white vertical bar in column 5.
    fn bar_image() -> Tensor {
        let mut pixels = vec![0f32; 64];
        for r in 0..8 {
            pixels[r * 8 + 5] = 1.0;
        }
        Tensor::from_vec(pixels, (1, 1, 8, 8), &Device::Cpu).unwrap()
    }

    /// The colour at the middle of value `(r, c)` of a placed map.
    fn value_color(canvas: &Canvas, map: Placement, r: u32, c: u32) -> Rgb {
        canvas.pixel(map.x + c * map.scale + map.scale / 2, map.y + r * map.scale + map.scale / 2).unwrap()
    }

    #[test]
    fn each_layer_gets_a_row_and_channels_show_their_own_response() {
        let (canvas, rows) = draw_feature_maps(&EdgeNet::new(), &bar_image()).unwrap();
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["input", "conv", "relu", "pool", "fc"]);
        assert_eq!(rows.iter().map(|r| r.maps.len()).collect::<Vec<_>>(), [1, 2, 2, 2, 0]);
        // Rows go down the page.
        assert!(rows[0].maps[0].y < rows[1].maps[0].y && rows[1].maps[0].y < rows[2].maps[0].y);

        // The input: the bar is white in column 5.
        let input = rows[0].maps[0];
        assert_eq!(value_color(&canvas, input, 2, 5), [255; 3]);
        assert_eq!(value_color(&canvas, input, 2, 4), [0; 3]);

        // conv has negative values, so it is blue–white–red. Output column x sees input columns
        // x..x+2: kernel 0 answers +3 at x = 3 (bar on its right) and −3 at x = 5 (bar on its left).
        assert_eq!(rows[1].color_map, Some(ColorMap::Diverging));
        let (k0, k1) = (rows[1].maps[0], rows[1].maps[1]);
        let [r, _, b] = value_color(&canvas, k0, 1, 3);
        assert!(r > b + 100, "edge kernel at x=3 should be red");
        let [r, _, b] = value_color(&canvas, k0, 1, 5);
        assert!(b > r + 100, "edge kernel at x=5 should be blue");
        let [r, _, b] = value_color(&canvas, k1, 1, 5);
        assert!(r > b + 100, "negated kernel at x=5 should be red");
        assert_eq!(value_color(&canvas, k0, 1, 0), [255; 3], "no edge, zero, white");

        // After ReLU: gray, each channel white only where its own edge is.
        assert_eq!(rows[2].color_map, Some(ColorMap::Gray));
        let (k0, k1) = (rows[2].maps[0], rows[2].maps[1]);
        assert_eq!(value_color(&canvas, k0, 4, 3), [255; 3]);
        assert_eq!(value_color(&canvas, k0, 4, 5), [0; 3]);
        assert_eq!(value_color(&canvas, k1, 4, 5), [255; 3]);
        assert_eq!(value_color(&canvas, k1, 4, 3), [0; 3]);

        // Pooling 2×2: columns 2–3 → 1 and 4–5 → 2.
        let (k0, k1) = (rows[3].maps[0], rows[3].maps[1]);
        assert_eq!(value_color(&canvas, k0, 0, 1), [255; 3]);
        assert_eq!(value_color(&canvas, k1, 0, 2), [255; 3]);
        assert_eq!(value_color(&canvas, k1, 0, 1), [0; 3]);

        let figure = feature_maps(&EdgeNet::new(), &bar_image()).unwrap();
        let decoded = image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (canvas.width(), canvas.height()));
    }

    #[test]
    fn closures_are_models_too() {
        let net = EdgeNet::new();
        let closure = |image: &Tensor| net.named_activations(image);
        let from_struct = feature_maps(&net, &bar_image()).unwrap();
        // [H,W] input is accepted as one image as well.
        let from_closure =
            feature_maps(&closure, &bar_image().squeeze(0).unwrap().squeeze(0).unwrap()).unwrap();
        assert_eq!(from_struct, from_closure);
    }

    #[test]
    fn logits_are_bars_with_the_largest_framed() {
        let logits = |_: &Tensor| -> Result<Vec<(String, Tensor)>> {
            Ok(vec![("logits".into(), Tensor::new(&[[0.5f32, -1.0, 2.0, 0.0]], &Device::Cpu)?)])
        };
        let strip = bar_strip(&[0.5, -1.0, 2.0, 0.0]).unwrap();
        // Signed values: baseline in the middle; bar 2 (2.0) reaches the top and is framed.
        let mid = 1 + BAR_AREA / 2;
        let [r, _, b] = strip.pixel(2 * 22 + 10, 3).unwrap();
        assert!(r > b + 100, "the 2.0 bar is red and full height");
        let [r, _, b] = strip.pixel(22 + 10, mid + 10).unwrap();
        assert!(b > r + 100, "the -1.0 bar goes down in blue");
        assert_eq!(strip.pixel(22 + 10, mid - 10).unwrap(), WHITE_RGB, "nothing above a negative bar");
        assert_eq!(strip.pixel(2 * 22, 0).unwrap(), HIGHLIGHT_RGB);
        assert!(feature_maps(&logits, &bar_image()).is_ok());
    }

    #[test]
    fn bad_shapes_are_errors_that_name_the_layer() {
        let rank3 = |_: &Tensor| -> Result<Vec<(String, Tensor)>> {
            Ok(vec![("odd".into(), Tensor::zeros((2, 3, 3), candle_core::DType::F32, &Device::Cpu)?)])
        };
        let err = feature_maps(&rank3, &bar_image()).unwrap_err();
        assert!(matches!(err, Error::Shape(_)) && err.to_string().contains("`odd`"), "{err}");

        let batch = Tensor::zeros((2, 1, 8, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = feature_maps(&EdgeNet::new(), &batch).unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");

        let empty = |_: &Tensor| -> Result<Vec<(String, Tensor)>> {
            Ok(vec![("void".into(), Tensor::zeros((1, 0), candle_core::DType::F32, &Device::Cpu)?)])
        };
        assert!(matches!(feature_maps(&empty, &bar_image()), Err(Error::Shape(_))));

        let failing =
            |_: &Tensor| -> Result<Vec<(String, Tensor)>> { Err(Error::InvalidArgument("boom".into())) };
        assert!(
            matches!(feature_maps(&failing, &bar_image()), Err(Error::InvalidArgument(m)) if m == "boom")
        );
    }
}
