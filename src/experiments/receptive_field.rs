//! The receptive field: which input pixels one unit of a layer sees (chapter "The conv layer").
//!
//! One value of an activation map (a *unit*) is a dot product of a kernel with a window of the layer's
//! input. That input is itself a map of the layer before, each of whose units saw a window of *its*
//! input, and so on down to the image. The **receptive field** (수용 영역) of a unit is the square of
//! image pixels it depends on, through all the layers in between: pixels outside it cannot change the
//! unit's value, whatever they are.
//!
//! Two numbers per layer describe it (for square kernels and equal strides along both axes):
//!
//! * `r`, the side of the field, in image pixels;
//! * `j`, the *jump*: how many image pixels apart the fields of two neighbouring units start.
//!
//! The image itself has `r = 1` (each pixel sees itself) and `j = 1`. A layer with kernel (or pooling
//! window) `k` and stride `s` sees `k` units of the layer below, side by side, each `j_in` pixels
//! further than the last, each seeing `r_in` pixels:
//!
//! ```text
//! r_out = r_in + (k − 1)·j_in        j_out = j_in·s
//! ```
//!
//! For the notes' LeNet ([`LENET`]) that gives 5, 6, 14 and 16 ([`lenet_receptive_fields`]). ReLU and
//! dropout act on one value at a time, so they leave the field as it is and are not listed.

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// One layer that slides a window: a convolution or a pooling, with square windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// The layer's name in the model (`conv1`, `pool1`, …).
    pub name: &'static str,
    /// The side of the kernel or pooling window.
    pub kernel: usize,
    /// How far the window moves between two outputs.
    pub stride: usize,
    /// Rows and columns of zeros added on each side of the input.
    pub padding: usize,
}

/// The notes' LeNet, as far as the receptive field is concerned: two 5×5 convolutions with stride 1
/// and no padding, each followed by 2×2 max pooling with stride 2.
pub const LENET: [Layer; 4] = [
    Layer { name: "conv1", kernel: 5, stride: 1, padding: 0 },
    Layer { name: "pool1", kernel: 2, stride: 2, padding: 0 },
    Layer { name: "conv2", kernel: 5, stride: 1, padding: 0 },
    Layer { name: "pool2", kernel: 2, stride: 2, padding: 0 },
];

/// The receptive field of the units of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptiveField {
    /// The layer's name.
    pub name: &'static str,
    /// The side `r` of the square of image pixels one unit sees.
    pub size: usize,
    /// The jump `j`: image pixels between the fields of two neighbouring units (the product of the
    /// strides so far).
    pub jump: usize,
    /// The image row (and column) where the field of unit `(0, 0)` starts. 0 without padding;
    /// negative when padding makes the first window hang over the image's edge.
    pub start: i64,
}

/// A square of image pixels: rows `top .. top + size`, columns `left .. left + size`. It may hang
/// over the image's edge (into the padding) when the network pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The first row.
    pub top: i64,
    /// The first column.
    pub left: i64,
    /// The side, in pixels.
    pub size: usize,
}

impl ReceptiveField {
    /// The field of the image itself: each pixel sees one pixel, its own.
    pub fn image() -> Self {
        ReceptiveField { name: "input", size: 1, jump: 1, start: 0 }
    }

    /// The square of image pixels that unit `(row, col)` of this layer's maps sees.
    ///
    /// Errors ([`Error::InvalidArgument`]) only for positions so large that the pixel numbers overflow.
    pub fn region(&self, row: usize, col: usize) -> Result<Region> {
        let at = |unit: usize| -> Option<i64> {
            let offset = i64::try_from(unit).ok()?.checked_mul(i64::try_from(self.jump).ok()?)?;
            self.start.checked_add(offset)
        };
        match (at(row), at(col)) {
            (Some(top), Some(left)) => Ok(Region { top, left, size: self.size }),
            _ => Err(Error::InvalidArgument(format!(
                "unit ({row}, {col}) of {} is too far from the origin to have a receptive field",
                self.name
            ))),
        }
    }

    /// The field of `layer`'s units, from the field of the units of its input (`self`): the
    /// recurrence of the module documentation. `None` when a number overflows. The caller checks
    /// that `kernel` and `stride` are at least 1.
    fn next(&self, layer: &Layer) -> Option<ReceptiveField> {
        let size = self.size.checked_add((layer.kernel - 1).checked_mul(self.jump)?)?;
        let jump = self.jump.checked_mul(layer.stride)?;
        // The first window starts `padding` units of the layer below before that layer's first unit.
        let back = i64::try_from(layer.padding).ok()?.checked_mul(i64::try_from(self.jump).ok()?)?;
        let start = self.start.checked_sub(back)?;
        Some(ReceptiveField { name: layer.name, size, jump, start })
    }
}

impl Region {
    /// Whether pixel `(y, x)` is inside the square.
    pub fn contains(&self, y: usize, x: usize) -> bool {
        let inside = |p: usize, first: i64| {
            let p = p as i64;
            p >= first && p < first + self.size as i64
        };
        inside(y, self.top) && inside(x, self.left)
    }

    /// A `[height, width]` `F32` mask: 1 on the pixels of the square, 0 elsewhere (the part of the
    /// square outside the image is dropped).
    pub fn mask(&self, height: usize, width: usize, device: &Device) -> Result<Tensor> {
        let values: Vec<f32> = (0..height * width)
            .map(|i| if self.contains(i / width, i % width) { 1.0 } else { 0.0 })
            .collect();
        Ok(Tensor::from_vec(values, (height, width), device)?)
    }
}

/// The receptive field of every layer in `layers`, in order, starting from the image.
///
/// Errors ([`Error::InvalidArgument`]) on a kernel or a stride of 0, or on sizes that overflow.
pub fn receptive_fields(layers: &[Layer]) -> Result<Vec<ReceptiveField>> {
    let mut fields = Vec::with_capacity(layers.len());
    let mut field = ReceptiveField::image();
    for layer in layers {
        if layer.kernel == 0 || layer.stride == 0 {
            return Err(Error::InvalidArgument(format!(
                "{}: kernel {} and stride {} must both be at least 1",
                layer.name, layer.kernel, layer.stride
            )));
        }
        field = field.next(layer).ok_or_else(|| {
            Error::InvalidArgument(format!("{}: the receptive field grows too large to count", layer.name))
        })?;
        fields.push(field);
    }
    Ok(fields)
}

/// The receptive fields of the notes' LeNet, layer by layer: `conv1` 5×5, `pool1` 6×6, `conv2`
/// 14×14, `pool2` 16×16, with jumps 1, 2, 2, 4.
pub fn lenet_receptive_fields() -> Vec<ReceptiveField> {
    // LENET's kernels and strides are small and at least 1, so no step overflows and all four come out.
    LENET
        .iter()
        .scan(ReceptiveField::image(), |field, layer| {
            *field = field.next(layer)?;
            Some(*field)
        })
        .collect()
}

/// A `[H, W]` image with `region` marked for a figure: pixels inside keep their value, pixels outside
/// are pulled towards the middle of `[0, 1]` (`0.25 + 0.5·pixel`), so the region stands out as the one
/// square with full contrast. For images with values in `[0, 1]`, such as MNIST digits divided by 255.
pub fn highlight(image: &Tensor, region: Region) -> Result<Tensor> {
    let (height, width) = match *image.dims() {
        [h, w] => (h, w),
        ref dims => {
            return Err(Error::Shape(format!(
                "highlight: the image must be [H, W] (one grayscale image), got shape {dims:?}"
            )));
        }
    };
    let image = image.to_dtype(DType::F32)?;
    let inside = region.mask(height, width, image.device())?;
    let outside = (1.0 - &inside)?;
    let dimmed = ((&image * 0.5)? + 0.25)?;
    Ok(((image * inside)? + (dimmed * outside)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{self, DataOptions, DatasetName};
    use crate::model::LeNet;

    #[test]
    fn lenet_fields_follow_the_recurrence() {
        let fields = lenet_receptive_fields();
        let sizes: Vec<(&str, usize, usize)> = fields.iter().map(|f| (f.name, f.size, f.jump)).collect();
        assert_eq!(sizes, [("conv1", 5, 1), ("pool1", 6, 2), ("conv2", 14, 2), ("pool2", 16, 4)]);
        assert!(fields.iter().all(|f| f.start == 0));
        assert_eq!(receptive_fields(&LENET).unwrap(), fields);
    }

    #[test]
    fn padding_moves_the_start_and_strides_multiply() {
        let layers = [
            Layer { name: "a", kernel: 3, stride: 2, padding: 1 },
            Layer { name: "b", kernel: 3, stride: 2, padding: 1 },
        ];
        let fields = receptive_fields(&layers).unwrap();
        assert_eq!((fields[0].size, fields[0].jump, fields[0].start), (3, 2, -1));
        // b sees 3 units of a, 2 pixels apart: 3 + 2·2 = 7; its first window starts one unit of a
        // (2 pixels) before a's first field.
        assert_eq!((fields[1].size, fields[1].jump, fields[1].start), (7, 4, -3));
        assert_eq!(fields[1].region(2, 1).unwrap(), Region { top: 5, left: 1, size: 7 });
    }

    #[test]
    fn bad_layers_are_errors_not_panics() {
        let zero = [Layer { name: "z", kernel: 0, stride: 1, padding: 0 }];
        assert!(matches!(receptive_fields(&zero), Err(Error::InvalidArgument(_))));
        let huge = [Layer { name: "h", kernel: usize::MAX, stride: usize::MAX, padding: 0 }; 3];
        assert!(matches!(receptive_fields(&huge), Err(Error::InvalidArgument(_))));
        let field = lenet_receptive_fields()[3];
        assert!(matches!(field.region(usize::MAX, 0), Err(Error::InvalidArgument(_))));
        let image = Tensor::zeros((1, 28, 28), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(highlight(&image, field.region(0, 0).unwrap()), Err(Error::Shape(_))));
    }

    #[test]
    fn mask_and_highlight_mark_the_square() {
        let region = Region { top: 1, left: 2, size: 2 };
        let mask = region.mask(4, 4, &Device::Cpu).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(mask[1], [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(mask.iter().flatten().sum::<f32>(), 4.0);
        // Hanging over the edge: only the part inside the image is marked.
        let corner = Region { top: -1, left: -1, size: 2 }.mask(3, 3, &Device::Cpu).unwrap();
        assert_eq!(corner.sum_all().unwrap().to_scalar::<f32>().unwrap(), 1.0);
        let image = Tensor::ones((4, 4), DType::F32, &Device::Cpu).unwrap();
        let marked = highlight(&image, region).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!((marked[1][2], marked[0][0]), (1.0, 0.75));
    }

    /// The definition, checked on a network: painting every pixel outside a unit's field leaves the
    /// unit's value alone; painting the field itself changes it.
    #[test]
    fn pixels_outside_the_field_do_not_change_the_unit() {
        let device = Device::Cpu;
        let splits = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        let digit = (Tensor::from_slice(splits.train.image(0), (28, 28), &device)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap()
            / 255.0)
            .unwrap();
        let model = LeNet::new(1, &device).unwrap();
        let fields = lenet_receptive_fields();
        let unit_values = |image: &Tensor, layer: usize, (row, col): (usize, usize)| -> Vec<f32> {
            let maps = model.activations(&image.reshape((1, 1, 28, 28)).unwrap()).unwrap().named();
            let map = maps[layer].1.get(0).unwrap(); // [C, H, W]
            map.narrow(1, row, 1)
                .unwrap()
                .narrow(2, col, 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        for (layer, unit) in [(0, (11, 11)), (1, (5, 5)), (2, (3, 3)), (3, (1, 1))] {
            let region = fields[layer].region(unit.0, unit.1).unwrap();
            let inside = region.mask(28, 28, &device).unwrap();
            let outside = (1.0 - &inside).unwrap();
            let before = unit_values(&digit, layer, unit);
            let painted_outside = ((&digit * &inside).unwrap() + &outside).unwrap();
            assert_eq!(unit_values(&painted_outside, layer, unit), before, "{}", fields[layer].name);
            let painted_inside = ((&digit * &outside).unwrap() + &inside).unwrap();
            assert_ne!(unit_values(&painted_inside, layer, unit), before, "{}", fields[layer].name);
        }
    }
}
