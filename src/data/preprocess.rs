//! Turning your own picture of a digit into an MNIST-like input (`lenet-tutor predict my-7.png`).
//!
//! A network trained on MNIST only knows pictures made the way MNIST's were: white ink on black,
//! the digit scaled so its longer side is 20 pixels, pasted into a 28x28 field so that its centre of
//! mass sits in the middle. A photo of a digit on paper is none of that, so [`digit_from_image`]
//! repeats those steps:
//!
//! 1. decode (PNG or JPEG) and make it grey; transparent parts count as white paper;
//! 2. if the background (the border) is light, invert, so the ink is bright on dark;
//! 3. stretch the contrast so the background is 0 and the darkest ink 255, dropping paper texture;
//! 4. crop to the box around the ink and scale it so its longer side is 20 pixels;
//! 5. paste it into 28x28 with its centre of mass at the centre.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Luma};

use crate::error::{Error, Result};

/// Side of the output image (MNIST's 28).
const DIGIT_SIDE: usize = 28;
/// The longer side of the digit's box inside the output (MNIST's 20).
const DIGIT_BOX: u32 = 20;

/// Reads a picture of one digit and returns 784 bytes laid out like an MNIST image
/// (white-on-black, 20-pixel box, centred by mass).
///
/// Errors if the file cannot be read, is not a PNG/JPEG image, or shows no ink at all.
pub fn digit_from_image(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let picture = decode_picture(&bytes).map_err(|what| Error::Image { path: path.to_path_buf(), what })?;
    digit_from_picture(&picture).map_err(|what| Error::Image { path: path.to_path_buf(), what })
}

/// The largest picture `predict` decodes: 8192 pixels a side, 256 MiB while decoding. A phone
/// photo fits; a file that declares 100,000 × 100,000 pixels is refused before anything is
/// allocated for it.
const MAX_SIDE: u32 = 8192;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes a PNG or JPEG from its bytes, within the limits above; the error is what to tell the user.
pub fn decode_picture(bytes: &[u8]) -> std::result::Result<DynamicImage, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read it: {e}"))?;
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => format!(
            "the picture is too large ({e}); this program reads pictures up to {MAX_SIDE}×{MAX_SIDE} pixels: \
             scale it down first"
        ),
        e => format!("not an image this program can read (PNG or JPEG): {e}"),
    })
}

/// The steps of [`digit_from_image`] on a decoded picture; the error is what to tell the user.
pub fn digit_from_picture(picture: &DynamicImage) -> std::result::Result<Vec<u8>, String> {
    let mut gray = to_gray_on_white(picture);
    if border_mean(&gray) > 127.0 {
        imageops::invert(&mut gray);
    }
    let ink = stretch_contrast(&gray)?;
    let (x0, y0, x1, y1) = ink_box(&ink).ok_or_else(no_ink)?;
    let cropped = imageops::crop_imm(&ink, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image();
    let scaled = scale_to_box(&cropped);
    Ok(paste_centred_by_mass(&scaled))
}

/// Grey levels, with transparent pixels blended onto white paper (how a viewer shows them).
fn to_gray_on_white(picture: &DynamicImage) -> GrayImage {
    if !picture.color().has_alpha() {
        return picture.to_luma8();
    }
    let rgba = picture.to_rgba8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        // ITU-R 601 luma, the weights `to_luma8` uses, then "over" white.
        let luma = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
        let alpha = f32::from(a) / 255.0;
        Luma([(luma * alpha + 255.0 * (1.0 - alpha)).round() as u8])
    })
}

/// Mean of the outermost ring of pixels: what the background looks like.
fn border_mean(gray: &GrayImage) -> f32 {
    let (w, h) = gray.dimensions();
    let mut sum = 0.0f64;
    let mut count = 0u64;
    for (x, y, pixel) in gray.enumerate_pixels() {
        if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
            sum += f64::from(pixel.0[0]);
            count += 1;
        }
    }
    (sum / count.max(1) as f64) as f32
}

/// Maps the background level to 0 and the brightest ink to 255; anything within a quarter of the
/// way from background to ink (paper grain, shadows, JPEG noise) becomes 0.
fn stretch_contrast(gray: &GrayImage) -> std::result::Result<GrayImage, String> {
    let background = border_mean(gray);
    let brightest = f32::from(gray.pixels().map(|p| p.0[0]).max().unwrap_or(0));
    // Less than 1/8 of the full range between paper and ink is not a drawing, only noise.
    if brightest - background < 32.0 {
        return Err(no_ink());
    }
    let cutoff = background + (brightest - background) / 4.0;
    let scale = 255.0 / (brightest - cutoff);
    Ok(GrayImage::from_fn(gray.width(), gray.height(), |x, y| {
        let v = f32::from(gray.get_pixel(x, y).0[0]);
        Luma([((v - cutoff) * scale).clamp(0.0, 255.0).round() as u8])
    }))
}

fn no_ink() -> String {
    "no digit found: the picture is (nearly) one flat colour; draw a dark digit on light paper \
     or a light digit on a dark background"
        .to_string()
}

/// The inclusive box `(x0, y0, x1, y1)` around all non-zero pixels, if there are any.
fn ink_box(ink: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (x, y, pixel) in ink.enumerate_pixels() {
        if pixel.0[0] > 0 {
            bounds = Some(match bounds {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    bounds
}

/// Scales so the longer side is [`DIGIT_BOX`] pixels, keeping the aspect ratio (a "1" stays thin).
fn scale_to_box(cropped: &GrayImage) -> GrayImage {
    let (w, h) = cropped.dimensions();
    let longer = w.max(h) as f32;
    let new_w = ((w as f32 * DIGIT_BOX as f32 / longer).round() as u32).clamp(1, DIGIT_BOX);
    let new_h = ((h as f32 * DIGIT_BOX as f32 / longer).round() as u32).clamp(1, DIGIT_BOX);
    // Triangle (bilinear) filtering averages the pixels it shrinks away: anti-aliased edges, like MNIST's.
    imageops::resize(cropped, new_w, new_h, FilterType::Triangle)
}

/// Pastes `digit` into a 28x28 black field so that its centre of mass lands on the centre.
fn paste_centred_by_mass(digit: &GrayImage) -> Vec<u8> {
    let (w, h) = digit.dimensions();
    let (mut mass, mut sum_x, mut sum_y) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, pixel) in digit.enumerate_pixels() {
        let m = f64::from(pixel.0[0]);
        mass += m;
        sum_x += m * f64::from(x);
        sum_y += m * f64::from(y);
    }
    // Resizing can fade a tiny speck to nothing; then the box centre stands in for the mass centre.
    let (com_x, com_y) = if mass > 0.0 {
        (sum_x / mass, sum_y / mass)
    } else {
        ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0)
    };
    // Where MNIST's digits have their centre of mass, in pixel indices: (14.0, 14.0) on average
    // over the bundled sample's 8,000 training digits (not 13.5, the middle of the index range).
    let centre = DIGIT_SIDE as f64 / 2.0;
    // Shift so the mass centre lands on the field's centre, but never push ink off the field.
    let offset = |com: f64, size: u32| -> usize {
        let max = (DIGIT_SIDE - size as usize) as f64;
        (centre - com).round().clamp(0.0, max) as usize
    };
    let (dx, dy) = (offset(com_x, w), offset(com_y, h));
    let mut out = vec![0u8; DIGIT_SIDE * DIGIT_SIDE];
    for (x, y, pixel) in digit.enumerate_pixels() {
        out[(y as usize + dy) * DIGIT_SIDE + x as usize + dx] = pixel.0[0];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    /// A `w x h` picture of a thick bar (a "1") of `ink` on `paper`, with its box at `(x, y, bw, bh)`.
    fn bar(w: u32, h: u32, paper: u8, ink: u8, (x0, y0, bw, bh): (u32, u32, u32, u32)) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let inside = (x0..x0 + bw).contains(&x) && (y0..y0 + bh).contains(&y);
            Luma([if inside { ink } else { paper }])
        })
    }

    /// Centre of mass and inclusive ink box of a 28x28 result.
    fn measure(digit: &[u8]) -> ((f64, f64), (usize, usize, usize, usize)) {
        let (mut m, mut sx, mut sy) = (0.0, 0.0, 0.0);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, &v) in digit.iter().enumerate() {
            let (x, y) = (i % 28, i / 28);
            if v > 0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
            m += f64::from(v);
            sx += f64::from(v) * x as f64;
            sy += f64::from(v) * y as f64;
        }
        ((sx / m, sy / m), (x0, y0, x1, y1))
    }

    #[test]
    fn dark_ink_on_white_paper_becomes_an_mnist_digit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.png");
        // A tall bar, far off-centre in a wide picture.
        bar(300, 200, 250, 10, (20, 40, 30, 120)).save(&path).unwrap();
        let digit = digit_from_image(&path).unwrap();
        assert_eq!(digit.len(), 784);
        // Inverted: background black, ink white.
        assert_eq!(digit[0], 0);
        assert_eq!(*digit.iter().max().unwrap(), 255);
        let ((cx, cy), (x0, y0, x1, y1)) = measure(&digit);
        // Longer side 20 pixels, aspect kept (30:120 → 5:20).
        assert_eq!(y1 - y0 + 1, 20, "box {x0},{y0}..{x1},{y1}");
        assert!((4..=6).contains(&(x1 - x0 + 1)), "box {x0},{y0}..{x1},{y1}");
        // Centre of mass in the middle of the field.
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass {cx},{cy}");
    }

    #[test]
    fn light_ink_on_dark_is_kept_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dash.jpg");
        // A wide bar: longer side horizontal this time. JPEG adds noise around it.
        let picture = DynamicImage::ImageLuma8(bar(100, 100, 0, 255, (10, 60, 80, 20)));
        picture.to_rgb8().save(&path).unwrap();
        let digit = digit_from_image(&path).unwrap();
        let ((cx, cy), (x0, y0, x1, y1)) = measure(&digit);
        assert_eq!(x1 - x0 + 1, 20, "box {x0},{y0}..{x1},{y1}");
        assert!((4..=7).contains(&(y1 - y0 + 1)), "box {x0},{y0}..{x1},{y1}");
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass {cx},{cy}");
        // Bright in the middle, black in the corners: not inverted.
        assert!(digit[14 * 28 + 14] > 200 && digit[0] == 0);
    }

    #[test]
    fn transparent_background_counts_as_paper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drawn.png");
        let picture = RgbaImage::from_fn(64, 64, |x, y| {
            if (20..44).contains(&x) && (8..56).contains(&y) {
                Rgba([0, 0, 0, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        picture.save(&path).unwrap();
        let digit = digit_from_image(&path).unwrap();
        let (_, (x0, y0, x1, y1)) = measure(&digit);
        assert_eq!((y1 - y0 + 1, x1 - x0 + 1), (20, 10));
    }

    #[test]
    fn a_blank_picture_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.png");
        GrayImage::from_pixel(50, 40, Luma([240])).save(&path).unwrap();
        let err = digit_from_image(&path).unwrap_err().to_string();
        assert!(err.contains("blank.png") && err.contains("no digit found"), "{err}");
        // Faint smudges are not a digit either.
        bar(50, 40, 240, 225, (10, 10, 5, 5)).save(&path).unwrap();
        let err = digit_from_image(&path).unwrap_err().to_string();
        assert!(err.contains("no digit found"), "{err}");
    }

    #[test]
    fn not_an_image_and_unreadable_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.png");
        std::fs::write(&path, "this is text, not a picture").unwrap();
        let err = digit_from_image(&path).unwrap_err();
        assert!(matches!(err, Error::Image { .. }), "{err:?}");
        assert!(err.to_string().contains("not an image"), "{err}");
        let err = digit_from_image(&dir.path().join("missing.png")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.png"), "{err}");
    }

    /// Real MNIST digits, drawn ten times larger in black on white, come back close to the originals
    /// (a one-pixel shift where MNIST rounded its centring the other way costs a few hundredths).
    #[test]
    fn real_digits_drawn_large_come_back_like_the_originals() {
        let test =
            crate::data::load_test(crate::data::DatasetName::MnistSample, &Default::default()).unwrap();
        let norm = |v: &[u8]| v.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
        let mut total = 0.0;
        for i in 0..20 {
            let original = test.image(i);
            let large = GrayImage::from_fn(280, 280, |x, y| {
                Luma([255 - original[(y / 10) as usize * 28 + (x / 10) as usize]])
            });
            let digit = digit_from_picture(&DynamicImage::ImageLuma8(large)).unwrap();
            let dot: f64 = digit.iter().zip(original).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            let cosine = dot / (norm(&digit) * norm(original));
            assert!(cosine > 0.8, "digit {i}: cosine similarity {cosine:.3}");
            total += cosine;
        }
        assert!(total / 20.0 > 0.97, "mean cosine similarity {:.3}", total / 20.0);
    }

    #[test]
    fn a_single_pixel_dot_still_works() {
        let digit = digit_from_picture(&DynamicImage::ImageLuma8(bar(9, 9, 255, 0, (4, 4, 1, 1)))).unwrap();
        let ((cx, cy), _) = measure(&digit);
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass {cx},{cy}");
    }
}
