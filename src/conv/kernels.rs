//! Classic hand-made 3×3 kernels: the book's chapter "Convolution".
//!
//! Long before networks learned their kernels, image processing used kernels designed by hand, each
//! picking out one kind of feature: an edge in one direction, a spot, or nothing at all (a blur). They
//! are a good way to see what a convolution does, and the kernels a trained LeNet learns in its first
//! layer often look like some of them.
//!
//! Each kernel is a constant (`SOBEL_X`, …) that the book can print, and a function that returns it as
//! a `[3, 3]` `F32` tensor on a device, ready for [`conv2d_single`](super::conv2d_single). [`stack`]
//! turns several into the `[K, 1, 3, 3]` kernels of a conv layer on grayscale images.
//!
//! As everywhere in this crate, kernels are not flipped (see [`crate::conv`]): the descriptions of signs
//! below are for the kernels exactly as written.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};

/// Horizontal Sobel: the right column minus the left column, the middle row counting twice.
const SOBEL_X: [[f32; 3]; 3] = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]];
/// Vertical Sobel: the bottom row minus the top row, the middle column counting twice.
const SOBEL_Y: [[f32; 3]; 3] = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]];
/// Laplacian: the four neighbours minus four times the centre.
const LAPLACIAN: [[f32; 3]; 3] = [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]];
/// Box blur: the plain average of the 9 pixels.
const BOX_BLUR: [[f32; 3]; 3] = [[1.0 / 9.0; 3]; 3];
/// Gaussian blur: a weighted average, `[1 2 1]ᵀ·[1 2 1] / 16`.
const GAUSSIAN_BLUR: [[f32; 3]; 3] = [
    [1.0 / 16.0, 2.0 / 16.0, 1.0 / 16.0],
    [2.0 / 16.0, 4.0 / 16.0, 2.0 / 16.0],
    [1.0 / 16.0, 2.0 / 16.0, 1.0 / 16.0],
];
/// Sharpen: five times the centre minus the four neighbours, i.e. identity − Laplacian.
const SHARPEN: [[f32; 3]; 3] = [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]];
/// Identity: 1 in the centre, 0 elsewhere.
const IDENTITY: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]];

/// A `[3, 3]` tensor holding `rows`.
fn from_rows(rows: &[[f32; 3]; 3], device: &Device) -> Result<Tensor> {
    Ok(Tensor::new(rows, device)?)
}

/// Detects **vertical edges**: responds where brightness changes from left to right (positive when the
/// right side is brighter), and gives 0 on flat areas and on horizontal edges. See `SOBEL_X`.
pub fn sobel_x(device: &Device) -> Result<Tensor> {
    from_rows(&SOBEL_X, device)
}

/// Detects **horizontal edges**: responds where brightness changes from top to bottom (positive when the
/// bottom is brighter), and gives 0 on flat areas and on vertical edges. See `SOBEL_Y`.
pub fn sobel_y(device: &Device) -> Result<Tensor> {
    from_rows(&SOBEL_Y, device)
}

/// Detects **edges and spots in every direction**: a pixel that differs from its neighbours. It gives 0
/// on flat areas and on smooth ramps, where each pixel is the average of its neighbours. See `LAPLACIAN`.
pub fn laplacian(device: &Device) -> Result<Tensor> {
    from_rows(&LAPLACIAN, device)
}

/// Detects **nothing**: it averages each pixel with its 8 neighbours, smoothing noise and fine detail
/// away. Its weights add up to 1, so a flat area keeps its brightness. See `BOX_BLUR`.
pub fn box_blur(device: &Device) -> Result<Tensor> {
    from_rows(&BOX_BLUR, device)
}

/// Detects **nothing**: a gentler blur than `box_blur`, weighting the centre most and the corners
/// least. Its weights add up to 1. See `GAUSSIAN_BLUR`.
pub fn gaussian_blur(device: &Device) -> Result<Tensor> {
    from_rows(&GAUSSIAN_BLUR, device)
}

/// **Emphasises edges**: the image plus the negative of its [`laplacian`], so differences between a pixel
/// and its neighbours are made larger while flat areas stay as they are (weights add up to 1).
/// See `SHARPEN`.
pub fn sharpen(device: &Device) -> Result<Tensor> {
    from_rows(&SHARPEN, device)
}

/// Detects **nothing**: with padding 1 it returns the image unchanged. A reminder that a kernel is just
/// weights; this one puts all its weight on the centre pixel. See `IDENTITY`.
pub fn identity(device: &Device) -> Result<Tensor> {
    from_rows(&IDENTITY, device)
}

/// All the classic kernels with their names, in the order the book shows them.
pub fn classic(device: &Device) -> Result<Vec<(&'static str, Tensor)>> {
    Ok(vec![
        ("identity", identity(device)?),
        ("sobel_x", sobel_x(device)?),
        ("sobel_y", sobel_y(device)?),
        ("laplacian", laplacian(device)?),
        ("box_blur", box_blur(device)?),
        ("gaussian_blur", gaussian_blur(device)?),
        ("sharpen", sharpen(device)?),
    ])
}

/// Stacks `K` kernels of shape `[FH, FW]` into the `[K, 1, FH, FW]` kernels of a conv layer on grayscale
/// images (depth 1), so that one [`conv2d`](super::conv2d) call produces one activation map per kernel.
///
/// Errors: no kernels ([`Error::InvalidArgument`]), or kernels that are not `[FH, FW]` or not all the same
/// shape ([`Error::Shape`]).
pub fn stack(kernels: &[Tensor]) -> Result<Tensor> {
    let Some(first) = kernels.first() else {
        return Err(Error::InvalidArgument(
            "stack: no kernels given; pass at least one [FH, FW] kernel".into(),
        ));
    };
    for (i, kernel) in kernels.iter().enumerate() {
        if kernel.rank() != 2 {
            return Err(Error::Shape(format!(
                "stack: kernel {i} must be [FH, FW], got shape {:?}",
                kernel.dims()
            )));
        }
        if kernel.dims() != first.dims() {
            return Err(Error::Shape(format!(
                "stack: all kernels must have the same shape; kernel 0 is {:?} but kernel {i} is {:?}",
                first.dims(),
                kernel.dims()
            )));
        }
    }
    // [K, FH, FW] → [K, 1, FH, FW]: depth 1, for a one-channel (grayscale) input.
    Ok(Tensor::stack(kernels, 0)?.unsqueeze(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{conv2d, conv2d_single};

    fn cpu() -> Device {
        Device::Cpu
    }

    /// A `size × size` image that is 0 on the left half and 1 on the right half: one vertical edge.
    fn vertical_edge(size: usize) -> Tensor {
        let data: Vec<f32> = (0..size * size).map(|i| if i % size >= size / 2 { 1.0 } else { 0.0 }).collect();
        Tensor::from_vec(data, (size, size), &cpu()).unwrap()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn sobel_x_finds_vertical_edges_and_sobel_y_horizontal_ones() {
        let vertical = vertical_edge(6);
        let horizontal = vertical.t().unwrap().contiguous().unwrap();
        let across = values(&conv2d_single(&vertical, &sobel_x(&cpu()).unwrap(), 0, 1).unwrap());
        // 6×6 → 4×4; windows starting at columns 1 and 2 straddle the edge at column 3: 1 + 2 + 1 = 4.
        for row in across.chunks(4) {
            assert_eq!(row, &[0.0, 4.0, 4.0, 0.0]);
        }
        let along = values(&conv2d_single(&horizontal, &sobel_x(&cpu()).unwrap(), 0, 1).unwrap());
        assert!(along.iter().all(|&v| v == 0.0), "{along:?}");
        // The same picture turned a quarter: the same response, turned.
        let across_y = conv2d_single(&horizontal, &sobel_y(&cpu()).unwrap(), 0, 1).unwrap();
        assert_eq!(values(&across_y.t().unwrap()), across);
        let along_y = values(&conv2d_single(&vertical, &sobel_y(&cpu()).unwrap(), 0, 1).unwrap());
        assert!(along_y.iter().all(|&v| v == 0.0), "{along_y:?}");
    }

    #[test]
    fn flat_images_blur_to_themselves_and_have_no_edges() {
        let flat = Tensor::full(0.5f32, (5, 5), &cpu()).unwrap();
        for (name, kernel) in classic(&cpu()).unwrap() {
            let out = values(&conv2d_single(&flat, &kernel, 0, 1).unwrap());
            let expected = match name {
                "sobel_x" | "sobel_y" | "laplacian" => 0.0, // weights add up to 0
                _ => 0.5,                                   // weights add up to 1
            };
            assert!(out.iter().all(|v| (v - expected).abs() < 1e-6), "{name}: {out:?}");
        }
    }

    #[test]
    fn laplacian_ignores_smooth_ramps() {
        // Brightness growing steadily to the right and down: no edges, no spots.
        let ramp: Vec<f32> = (0..36).map(|i| (i % 6) as f32 + 2.0 * (i / 6) as f32).collect();
        let ramp = Tensor::from_vec(ramp, (6, 6), &cpu()).unwrap();
        let out = values(&conv2d_single(&ramp, &laplacian(&cpu()).unwrap(), 0, 1).unwrap());
        assert!(out.iter().all(|&v| v == 0.0), "{out:?}");
        // ... but not a single bright pixel.
        let mut spot = vec![0f32; 25];
        spot[12] = 1.0;
        let spot = Tensor::from_vec(spot, (5, 5), &cpu()).unwrap();
        let out = conv2d_single(&spot, &laplacian(&cpu()).unwrap(), 0, 1).unwrap();
        assert_eq!(out.to_vec2::<f32>().unwrap()[1][1], -4.0);
    }

    #[test]
    fn identity_returns_the_image_and_sharpen_is_identity_minus_laplacian() {
        let image = vertical_edge(5).affine(3.0, -1.0).unwrap();
        let same = conv2d_single(&image, &identity(&cpu()).unwrap(), 1, 1).unwrap();
        assert_eq!(values(&same), values(&image));
        let difference = (identity(&cpu()).unwrap() - laplacian(&cpu()).unwrap()).unwrap();
        assert_eq!(values(&difference), values(&sharpen(&cpu()).unwrap()));
    }

    #[test]
    fn stacked_kernels_give_one_activation_map_each() {
        let kernels: Vec<Tensor> = classic(&cpu()).unwrap().into_iter().map(|(_, k)| k).collect();
        let stacked = stack(&kernels).unwrap();
        assert_eq!(stacked.dims(), &[7, 1, 3, 3]);
        let image = vertical_edge(6);
        let feature_map = conv2d(&image.unsqueeze(0).unwrap(), &stacked, None, 0, 1).unwrap();
        assert_eq!(feature_map.dims(), &[7, 4, 4]);
        for (k, kernel) in kernels.iter().enumerate() {
            let alone = conv2d_single(&image, kernel, 0, 1).unwrap();
            assert_eq!(values(&feature_map.get(k).unwrap()), values(&alone), "kernel {k}");
        }
    }

    #[test]
    fn stack_rejects_empty_and_mismatched_kernels() {
        assert!(matches!(stack(&[]), Err(Error::InvalidArgument(_))));
        let small = Tensor::zeros((2, 2), candle_core::DType::F32, &cpu()).unwrap();
        match stack(&[sobel_x(&cpu()).unwrap(), small]) {
            Err(Error::Shape(message)) => assert!(message.contains("kernel 1 is [2, 2]"), "{message}"),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }
}
