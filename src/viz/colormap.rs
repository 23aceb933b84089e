//! How numbers become colours: gray for images and activations, blue–white–red for weights.

use super::canvas::Rgb;

/// Which colours represent the values of a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMap {
    /// Black for the smallest value, white for the largest: how MNIST digits and ReLU outputs look.
    #[default]
    Gray,
    /// Blue for negative, white for zero, red for positive, symmetric around 0 (the scale is the
    /// largest |value|): for kernels and anything signed, where the sign is the message.
    Diverging,
}

/// Which values the colour scale is stretched over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Each map gets its own scale: every map uses the full range of colours, so faint maps stay
    /// visible, but brightness cannot be compared between maps.
    #[default]
    PerMap,
    /// One scale for all maps: a dim map really is weaker than a bright one.
    Shared,
}

/// The colour of a value that is NaN or infinite: magenta, which no colour map produces.
pub(crate) const NOT_FINITE_RGB: Rgb = [255, 0, 255];

/// Diverging map end points (ColorBrewer RdBu): blue for −scale, red for +scale.
const NEGATIVE_RGB: Rgb = [33, 102, 172];
const POSITIVE_RGB: Rgb = [178, 24, 43];

/// The interval of values a colour scale covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ValueRange {
    pub(crate) low: f32,
    pub(crate) high: f32,
}

impl ColorMap {
    /// The range this colour map stretches over `values`: `[min, max]` for gray, `[-m, m]` with
    /// `m = max |v|` for diverging. Non-finite values are left out; no finite value gives `[0, 0]`.
    pub(crate) fn range_of<'a>(self, values: impl IntoIterator<Item = &'a f32>) -> ValueRange {
        let mut low = f32::INFINITY;
        let mut high = f32::NEG_INFINITY;
        for &v in values.into_iter().filter(|v| v.is_finite()) {
            low = low.min(v);
            high = high.max(v);
        }
        if low > high {
            return ValueRange { low: 0.0, high: 0.0 };
        }
        match self {
            ColorMap::Gray => ValueRange { low, high },
            ColorMap::Diverging => {
                let m = low.abs().max(high.abs());
                ValueRange { low: -m, high: m }
            }
        }
    }

    /// The colour of `value` on the scale `range`.
    ///
    /// A flat gray range (all values equal) paints black, so an all-zero "dead" ReLU channel looks
    /// dead rather than mid-gray; a zero diverging range paints white (everything is 0).
    pub(crate) fn color(self, value: f32, range: ValueRange) -> Rgb {
        if !value.is_finite() {
            return NOT_FINITE_RGB;
        }
        match self {
            ColorMap::Gray => {
                let span = range.high - range.low;
                let t = if span > 0.0 { ((value - range.low) / span).clamp(0.0, 1.0) } else { 0.0 };
                let level = (t * 255.0).round() as u8;
                [level, level, level]
            }
            ColorMap::Diverging => {
                let m = range.high;
                let t = if m > 0.0 { (value / m).clamp(-1.0, 1.0) } else { 0.0 };
                let end = if t < 0.0 { NEGATIVE_RGB } else { POSITIVE_RGB };
                let a = t.abs();
                let mix = |c: u8| (255.0 + (c as f32 - 255.0) * a).round() as u8;
                [mix(end[0]), mix(end[1]), mix(end[2])]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_runs_from_black_to_white() {
        let range = ColorMap::Gray.range_of(&[2.0, 4.0, 3.0]);
        assert_eq!(range, ValueRange { low: 2.0, high: 4.0 });
        assert_eq!(ColorMap::Gray.color(2.0, range), [0, 0, 0]);
        assert_eq!(ColorMap::Gray.color(4.0, range), [255, 255, 255]);
        assert_eq!(ColorMap::Gray.color(3.0, range), [128, 128, 128]);
        // A flat map is black, not mid-gray.
        let flat = ColorMap::Gray.range_of(&[0.0, 0.0]);
        assert_eq!(ColorMap::Gray.color(0.0, flat), [0, 0, 0]);
    }

    #[test]
    fn diverging_is_blue_white_red_and_symmetric() {
        let range = ColorMap::Diverging.range_of(&[-1.0, 0.5, 2.0, f32::NAN]);
        assert_eq!(range, ValueRange { low: -2.0, high: 2.0 });
        let [r, _, b] = ColorMap::Diverging.color(-2.0, range);
        assert!(b > r + 100, "negative must be blue");
        let [r, _, b] = ColorMap::Diverging.color(2.0, range);
        assert!(r > b + 100, "positive must be red");
        assert_eq!(ColorMap::Diverging.color(0.0, range), [255, 255, 255]);
        // Symmetric: −1 is as far from white as +1.
        let neg = ColorMap::Diverging.color(-1.0, range);
        let pos = ColorMap::Diverging.color(1.0, range);
        let distance = |c: Rgb| c.iter().map(|&v| 255 - v as i32).sum::<i32>();
        let half = ColorMap::Diverging.color(-2.0, range);
        assert!((distance(neg) * 2 - distance(half)).abs() <= 3);
        assert!(distance(pos) > 0 && distance(neg) > 0);
    }

    #[test]
    fn non_finite_values_are_flagged_and_ignored_by_the_range() {
        let range = ColorMap::Gray.range_of(&[f32::INFINITY, 1.0, 3.0]);
        assert_eq!(range, ValueRange { low: 1.0, high: 3.0 });
        assert_eq!(ColorMap::Gray.color(f32::NAN, range), NOT_FINITE_RGB);
        assert_eq!(ColorMap::Gray.range_of(&[f32::NAN]), ValueRange { low: 0.0, high: 0.0 });
    }
}
