//! The digits the model got wrong, each labelled `true→predicted`.
//!
//! After training, looking at the misclassified test images is the quickest way to see whether the
//! model is bad or the digits are: many of MNIST's mistakes are digits a person would hesitate over.

use super::canvas::{Anchor, Canvas, TEXT_RGB, WHITE_RGB};
use super::digit_png::square_side;
use super::figure::Figure;
use super::grid::{MapGrid, TITLE_SIZE};
use crate::error::{Error, Result};

/// Mistakes per row of the grid.
const COLUMNS: usize = 10;

/// A grid of the images whose prediction is wrong, at most `limit` of them, in data set order,
/// each labelled `true→predicted` (e.g. `4→9`). `pixels` holds the `N = truth.len()` square images
/// one after the other (MNIST's 28×28 bytes), each stretched from black to white on its own. With no
/// mistakes at all, the figure just says so.
pub fn mistakes_grid_from_bytes<T: Copy + Into<u64>>(
    pixels: &[u8],
    truth: &[T],
    predicted: &[T],
    limit: usize,
) -> Result<Figure> {
    let n = truth.len();
    let side = (n > 0 && pixels.len().is_multiple_of(n)).then(|| square_side(pixels.len() / n)).flatten();
    let Some(side) = side else {
        return Err(Error::Shape(format!(
            "{} bytes are not {n} square images; give the pixels of one image per label",
            pixels.len()
        )));
    };
    let shown = wrong_indices(n, truth, predicted, limit)?;
    if shown.is_empty() {
        return no_mistakes(n);
    }
    let size = side * side;
    let mut values = Vec::with_capacity(shown.len() * size);
    for &i in &shown {
        values.extend(pixels[i * size..(i + 1) * size].iter().map(|&p| p as f32));
    }
    let grid = MapGrid::from_values(values, shown.len(), side, side)?;
    draw(grid, &shown, truth, predicted)
}

/// The indices of the wrong examples: the first `limit` of them.
fn wrong_indices<T: Copy + Into<u64>>(
    n: usize,
    truth: &[T],
    predicted: &[T],
    limit: usize,
) -> Result<Vec<usize>> {
    if truth.len() != n || predicted.len() != n {
        return Err(Error::Shape(format!(
            "{n} images, {} true labels and {} predictions; give one label and one prediction per image",
            truth.len(),
            predicted.len()
        )));
    }
    if n == 0 {
        return Err(Error::InvalidArgument("no images to look for mistakes in".into()));
    }
    if limit == 0 {
        return Err(Error::InvalidArgument("limit must be at least 1 mistake to show".into()));
    }
    Ok((0..n).filter(|&i| truth[i].into() != predicted[i].into()).take(limit).collect())
}

/// The grid of the wrong images, each labelled `true→predicted`, and no title: how many mistakes
/// there are is the caller's to say (the book says it in the figure's caption, where it is translated).
fn draw<T: Copy + Into<u64>>(grid: MapGrid, shown: &[usize], truth: &[T], predicted: &[T]) -> Result<Figure> {
    let labels = shown.iter().map(|&i| format!("{}→{}", truth[i].into(), predicted[i].into()));
    grid.columns(COLUMNS).scale(2).labels(labels).render()
}

fn no_mistakes(examples: usize) -> Result<Figure> {
    let text = format!("no misclassified images among {examples}");
    let (w, h) = Canvas::text_size(&text, TITLE_SIZE)?;
    let mut canvas = Canvas::checked(w + 24, h + 24, WHITE_RGB)?;
    canvas.draw_text(&text, ((w as i32 + 24) / 2, 12), TITLE_SIZE, TEXT_RGB, Anchor::TopCenter)?;
    canvas.into_png()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` 4×4 images; image `i` has one white pixel at position `i % 16`.
    fn images(n: usize) -> Vec<u8> {
        let mut pixels = vec![0u8; n * 16];
        for i in 0..n {
            pixels[i * 16 + i % 16] = 255;
        }
        pixels
    }

    fn decode(figure: &Figure) -> image::RgbImage {
        image::load_from_memory(figure.as_png().unwrap()).unwrap().to_rgb8()
    }

    #[test]
    fn only_the_wrong_ones_are_shown_up_to_the_limit() {
        let truth = [1u8, 2, 3, 4, 5, 6];
        let predicted = [1u8, 7, 3, 9, 0, 6];
        let pixels = images(6);
        // The grid holds images 1, 3 and 4 (the wrong ones): the same picture MapGrid draws for them.
        let expected = |shown: &[usize], labels: &[&str]| {
            let picked: Vec<f32> =
                shown.iter().flat_map(|&i| pixels[i * 16..(i + 1) * 16].iter().map(|&p| p as f32)).collect();
            MapGrid::from_values(picked, shown.len(), 4, 4)
                .unwrap()
                .columns(COLUMNS)
                .scale(2)
                .labels(labels.iter().copied())
                .render()
                .unwrap()
        };
        let all = mistakes_grid_from_bytes(&pixels, &truth, &predicted, 10).unwrap();
        assert_eq!(all, expected(&[1, 3, 4], &["2→7", "4→9", "5→0"]));
        let two = mistakes_grid_from_bytes(&pixels, &truth, &predicted, 2).unwrap();
        assert_eq!(two, expected(&[1, 3], &["2→7", "4→9"]));
    }

    #[test]
    fn no_mistakes_says_so_and_bad_input_is_an_error() {
        let figure = mistakes_grid_from_bytes(&images(3), &[1u8, 2, 3], &[1u8, 2, 3], 10).unwrap();
        let image = decode(&figure);
        assert!(image.pixels().any(|p| p.0[0] < 100), "the message is drawn");

        assert!(matches!(
            mistakes_grid_from_bytes(&images(3), &[1u8, 2], &[1u8, 2], 1),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            mistakes_grid_from_bytes(&images(3), &[1u8, 2, 3], &[1u8, 2], 1),
            Err(Error::Shape(_))
        ));
        assert!(matches!(mistakes_grid_from_bytes::<u8>(&[], &[], &[], 1), Err(Error::Shape(_))));
        assert!(matches!(
            mistakes_grid_from_bytes(&images(3), &[1u8, 2, 3], &[0u8, 2, 3], 0),
            Err(Error::InvalidArgument(_))
        ));
    }
}
