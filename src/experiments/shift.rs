//! Shifting a digit by a few pixels: what the conv maps, the pooled maps and an FC layer's input do
//! (chapter "Pooling").
//!
//! A convolution applies the same kernel at every position, so shifting its input shifts its output
//! by the same amount and changes nothing else (*equivariance*, 등변성): [`shift_experiment`] checks
//! this to the last bit. An FC layer (chapter "The FC layer") instead compares its flattened input
//! position by position: for it a digit moved by two pixels is a largely different vector. Max
//! pooling sits between the two: a maximum that moves *inside* its window gives the same pooled value,
//! so some pooled values survive a small shift; how many is what [`Similarity::changed`] measures.

use candle_core::{DType, Tensor};

use crate::conv;
use crate::error::{Error, Result};
use crate::pool;

/// `image` moved `dx` pixels to the right and `dy` pixels down (negative: left, up), along its last
/// two dimensions (`[H, W]`, `[C, H, W]` or `[B, C, H, W]`). The rows and columns that move in are
/// zeros, black like MNIST's background; pixels moved past the edge are lost.
///
/// Errors: [`Error::Shape`] for a tensor of rank below 2, [`Error::InvalidArgument`] for a shift as
/// large as the image (nothing would be left of it).
pub fn shift_image(image: &Tensor, dx: i64, dy: i64) -> Result<Tensor> {
    let rank = image.rank();
    if rank < 2 {
        return Err(Error::Shape(format!(
            "shift_image: the image must have at least 2 dimensions [.., H, W], got shape {:?}",
            image.dims()
        )));
    }
    let shifted = shift_along(image, rank - 1, dx)?;
    shift_along(&shifted, rank - 2, dy)
}

/// Moves `tensor` by `by` places along `dim`: zeros in at one end, values out at the other.
fn shift_along(tensor: &Tensor, dim: usize, by: i64) -> Result<Tensor> {
    let len = tensor.dim(dim)?;
    let amount = usize::try_from(by.unsigned_abs()).unwrap_or(usize::MAX);
    if amount == 0 {
        return Ok(tensor.clone());
    }
    if amount >= len {
        let axis = if dim + 1 == tensor.rank() { "columns" } else { "rows" };
        return Err(Error::InvalidArgument(format!(
            "a shift of {by} moves all {len} {axis} out of the image; shift by less than {len}"
        )));
    }
    Ok(if by > 0 {
        tensor.pad_with_zeros(dim, amount, 0)?.narrow(dim, 0, len)?
    } else {
        tensor.pad_with_zeros(dim, 0, amount)?.narrow(dim, amount, len)?
    })
}

/// How alike two tensors of the same shape are, read as flat vectors (as an FC layer reads them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// The cosine of the angle between the two vectors: 1 for the same direction, 0 for vectors with
    /// nothing in common (for the non-negative pixels of two digits: no lit pixel in common).
    pub cosine: f32,
    /// Of the positions where either tensor is non-zero, the fraction whose value differs (by more
    /// than a millionth of the largest value). The zero background is left out: it would make any
    /// two digits look alike.
    pub changed: f32,
}

/// [`Similarity`] of `a` and `b`. Errors ([`Error::Shape`]) when the shapes differ,
/// ([`Error::InvalidArgument`]) when either tensor is all zeros (a cosine needs a direction).
pub fn similarity(a: &Tensor, b: &Tensor) -> Result<Similarity> {
    if a.dims() != b.dims() {
        return Err(Error::Shape(format!(
            "similarity: the tensors must have the same shape, got {:?} and {:?}",
            a.dims(),
            b.dims()
        )));
    }
    let a = a.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let b = b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (norm_a, norm_b) = (norm(&a), norm(&b));
    if norm_a == 0.0 || norm_b == 0.0 {
        return Err(Error::InvalidArgument(
            "similarity: a tensor of zeros has no direction to compare".into(),
        ));
    }
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let largest = a.iter().chain(&b).fold(0f32, |m, v| m.max(v.abs()));
    let tolerance = largest * 1e-6;
    let (mut lit, mut changed) = (0usize, 0usize);
    for (x, y) in a.iter().zip(&b) {
        if *x != 0.0 || *y != 0.0 {
            lit += 1;
            if (x - y).abs() > tolerance {
                changed += 1;
            }
        }
    }
    Ok(Similarity { cosine: (dot / (norm_a * norm_b)) as f32, changed: changed as f32 / lit as f32 })
}

/// What one shift does at each stage: to the pixels, to the conv maps and to the max-pooled maps,
/// each compared position by position with the unshifted digit's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftReport {
    /// The shift, right and down.
    pub dx: i64,
    /// The shift, down.
    pub dy: i64,
    /// The image itself: what an FC layer reading the pixels would see.
    pub pixels: Similarity,
    /// The feature map (the conv layer's output), flattened.
    pub conv: Similarity,
    /// The feature map after 2×2 max pooling with stride 2, flattened.
    pub pooled: Similarity,
    /// `max |conv(shift(x)) − shift(conv(x))|`: 0 when the conv map moved with the digit and changed in
    /// no other way (no ink was pushed over the image's edge).
    pub equivariance_error: f32,
}

/// Shifts `digit` (`[H, W]`) by `(dx, dy)` and compares, with the unshifted digit, its pixels, its
/// feature map under `kernels` (`[K, 1, FH, FW]`, odd sizes, convolved with "same" padding so the maps
/// keep the image's size) and that feature map after 2×2 max pooling.
///
/// Errors: the shape errors of [`shift_image`] and [`conv::conv2d`]; [`Error::InvalidArgument`] for
/// even kernels (no padding keeps the size) and for a digit or map that is all zeros.
pub fn shift_experiment(digit: &Tensor, kernels: &Tensor, dx: i64, dy: i64) -> Result<ShiftReport> {
    if digit.rank() != 2 {
        return Err(Error::Shape(format!(
            "shift_experiment: the digit must be [H, W] (one grayscale image), got shape {:?}",
            digit.dims()
        )));
    }
    let kernel_dims = kernels.dims();
    let Some(&kernel_size) = kernel_dims.get(2) else {
        return Err(Error::Shape(format!(
            "shift_experiment: the kernels must be [K, 1, FH, FW], got shape {kernel_dims:?}"
        )));
    };
    if kernel_size % 2 == 0 || kernel_dims.get(3) != Some(&kernel_size) {
        return Err(Error::InvalidArgument(format!(
            "shift_experiment: the kernels must be square with an odd side, so that padding keeps the map \
             as large as the digit; got {kernel_dims:?}"
        )));
    }
    let padding = (kernel_size - 1) / 2;
    let digit = digit.to_dtype(DType::F32)?;
    let shifted = shift_image(&digit, dx, dy)?;
    let feature_map = |image: &Tensor| conv::conv2d(&image.unsqueeze(0)?, kernels, None, padding, 1);
    let (conv_before, conv_after) = (feature_map(&digit)?, feature_map(&shifted)?); // [K, H, W]
    let (pooled_before, pooled_after) =
        (pool::max_pool2d(&conv_before, 2, 2)?, pool::max_pool2d(&conv_after, 2, 2)?); // [K, H/2, W/2]
    let moved = shift_image(&conv_before, dx, dy)?;
    let equivariance_error = (&conv_after - &moved)?.abs()?.max_all()?.to_scalar::<f32>()?;
    Ok(ShiftReport {
        dx,
        dy,
        pixels: similarity(&digit, &shifted)?,
        conv: similarity(&conv_before, &conv_after)?,
        pooled: similarity(&pooled_before, &pooled_after)?,
        equivariance_error,
    })
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::conv::kernels;
    use crate::data::{self, DataOptions, DatasetName};

    fn digit() -> Tensor {
        let splits = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        let bytes = Tensor::from_slice(splits.train.image(0), (28, 28), &Device::Cpu).unwrap();
        (bytes.to_dtype(DType::F32).unwrap() / 255.0).unwrap()
    }

    fn edge_kernels() -> Tensor {
        let d = &Device::Cpu;
        kernels::stack(&[
            kernels::sobel_x(d).unwrap(),
            kernels::sobel_y(d).unwrap(),
            kernels::laplacian(d).unwrap(),
        ])
        .unwrap()
    }

    #[test]
    fn shift_moves_values_and_fills_with_zeros() {
        let image = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &Device::Cpu).unwrap();
        let right_down = shift_image(&image, 1, 1).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(right_down, [[0., 0., 0.], [0., 1., 2.]]);
        let left = shift_image(&image, -2, 0).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(left, [[3., 0., 0.], [6., 0., 0.]]);
        let up = shift_image(&image.unsqueeze(0).unwrap(), 0, -1).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(up, [[[4., 5., 6.], [0., 0., 0.]]]);
        assert_eq!(
            shift_image(&image, 0, 0).unwrap().to_vec2::<f32>().unwrap(),
            image.to_vec2::<f32>().unwrap()
        );
    }

    #[test]
    fn bad_shifts_and_shapes_are_errors() {
        let image = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(shift_image(&image, 3, 0), Err(Error::InvalidArgument(_))));
        assert!(matches!(shift_image(&image, 0, -2), Err(Error::InvalidArgument(_))));
        assert!(matches!(shift_image(&image, i64::MIN, 0), Err(Error::InvalidArgument(_))));
        let line = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(shift_image(&line, 1, 0), Err(Error::Shape(_))));
        assert!(matches!(similarity(&image, &line), Err(Error::Shape(_))));
        assert!(matches!(similarity(&image, &image), Err(Error::InvalidArgument(_))));
        let even = Tensor::zeros((1, 1, 2, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(shift_experiment(&digit(), &even, 1, 0), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            shift_experiment(&digit().unsqueeze(0).unwrap(), &edge_kernels(), 1, 0),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn similarity_counts_changed_lit_positions() {
        let a = Tensor::new(&[0f32, 1., 2., 0.], &Device::Cpu).unwrap();
        let b = Tensor::new(&[0f32, 1., 0., 2.], &Device::Cpu).unwrap();
        let s = similarity(&a, &b).unwrap();
        assert_eq!(s.changed, 2.0 / 3.0); // positions 1, 2, 3 are lit; 2 and 3 changed
        assert!((s.cosine - 0.2).abs() < 1e-6); // 1 / (√5·√5)
        assert_eq!(similarity(&a, &a).unwrap(), Similarity { cosine: 1.0, changed: 0.0 });
    }

    #[test]
    fn conv_maps_move_with_the_digit() {
        for (dx, dy) in [(1, 0), (0, 2), (-2, 1), (3, -3)] {
            let report = shift_experiment(&digit(), &edge_kernels(), dx, dy).unwrap();
            assert_eq!(report.equivariance_error, 0.0, "({dx}, {dy})");
            assert!(report.pixels.changed > 0.5, "{report:?}");
        }
    }

    #[test]
    fn pooling_forgets_moves_inside_its_windows() {
        // A 1-pixel shift leaves more pooled values as they were than conv values.
        let one = shift_experiment(&digit(), &edge_kernels(), 1, 0).unwrap();
        assert!(one.pooled.changed < one.conv.changed, "{one:?}");
        assert!(one.pooled.cosine > one.conv.cosine, "{one:?}");
    }
}
