//! One MNIST digit as a picture: what the network actually sees.

use super::canvas::{BLACK_RGB, Canvas};
use super::figure::Figure;
use crate::error::{Error, Result};

/// Side of a square image of `len` pixels, if `len` is a non-zero perfect square.
pub(crate) fn square_side(len: usize) -> Option<usize> {
    let side = (len as f64).sqrt().round() as usize;
    (side > 0 && side * side == len).then_some(side)
}

/// A digit's raw pixels (784 bytes for MNIST's 28×28, row-major; any square image works) as a PNG,
/// each pixel a `scale × scale` square, 0 black and 255 white as MNIST stores them — the bytes
/// are shown as they are, not stretched.
pub fn digit_png(pixels: &[u8], scale: u32) -> Result<Figure> {
    let side = square_side(pixels.len()).ok_or_else(|| {
        Error::Shape(format!(
            "a digit image must be square (784 bytes for 28×28), got {} bytes",
            pixels.len()
        ))
    })?;
    if scale == 0 {
        return Err(Error::InvalidArgument("the scale factor must be at least 1".into()));
    }
    let side_px = u32::try_from(side).ok().and_then(|s| s.checked_mul(scale)).unwrap_or(u32::MAX);
    let mut canvas = Canvas::checked(side_px, side_px, BLACK_RGB)?;
    for (i, &level) in pixels.iter().enumerate() {
        let (r, c) = ((i / side) as u32, (i % side) as u32);
        canvas.fill_rect(c * scale, r * scale, scale, scale, [level; 3]);
    }
    canvas.into_png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_pixels_keep_their_values_and_are_upscaled() {
        let mut pixels = vec![0u8; 784];
        pixels[5 * 28 + 20] = 255;
        pixels[27 * 28] = 100;
        let figure = digit_png(&pixels, 3).unwrap();
        let image = image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (84, 84));
        for dy in 0..3 {
            for dx in 0..3 {
                assert_eq!(image.get_pixel(20 * 3 + dx, 5 * 3 + dy).0, [255; 3]);
                assert_eq!(image.get_pixel(dx, 27 * 3 + dy).0, [100; 3]);
            }
        }
        assert_eq!(image.get_pixel(20 * 3 + 3, 5 * 3).0, [0; 3]);
        let lit = image.pixels().filter(|p| p.0[0] > 0).count();
        assert_eq!(lit, 2 * 9);
    }

    #[test]
    fn bad_digits_are_errors() {
        assert!(matches!(digit_png(&[], 2), Err(Error::Shape(_))));
        assert!(matches!(digit_png(&[0; 783], 2), Err(Error::Shape(_))));
        assert!(matches!(digit_png(&[0; 784], 0), Err(Error::InvalidArgument(_))));
        assert!(digit_png(&[0; 25], 1).is_ok());
    }
}
