//! Convolution by hand: the book's chapters "Convolution", "Channels" and "The conv layer".
//!
//! Everything here is plain nested loops over `Vec<f32>` stored row-major (the last index moves
//! fastest), so that every line can be followed with pencil and paper. candle's [`Tensor`](candle_core::Tensor) only
//! appears at the edges: a function reads its inputs out of tensors and puts its result back into
//! one.
//!
//! The words follow the notes:
//! - input size `(H, W)`, kernel (= filter) size `(FH, FW)`, padding `P`, stride `S`;
//! - output size `(OH, OW)`, with `OH = (H + 2P − FH) / S + 1` and the same for `OW` ([`output_size`]);
//! - at each position the kernel covers a *window* of the input; multiplying window and kernel element
//!   by element and adding everything up gives one number, the *dot product* ([`window_at`] shows one);
//! - the set of dot products as the kernel moves over the input is an *activation map* (활성화 맵);
//!   a layer with K kernels makes K activation maps, which together are its *feature map* (특징 맵);
//! - a kernel's depth equals the input's channel count: 1 for a grayscale image, 3 for a colour one.
//!
//! Like PyTorch and candle, the "convolution" here does not flip the kernel (strictly speaking it is
//! cross-correlation): the kernel's top-left weight multiplies the window's top-left pixel.
//!
//! | file | idea |
//! |---|---|
//! | `size.rs` | the output size: [`output_size`], [`output_size_floor`], [`output_shape`] |
//! | `by_hand.rs` | the convolution itself, by hand: [`conv2d`] (`[C,H,W]`), [`conv2d_single`] (`[H,W]`, one kernel) |
//! | `window.rs` | one step of it, for figures and reading along: [`window_at`], [`WindowStep`] |
//! | [`kernels`] | classic hand-made kernels (filters): edges, blur, sharpen |
//! | [`conv1d`] | the same on a 1-D signal, the first section of the chapter |
//!
//! The fast convolutions the model trains with are [`ops::conv2d_fast`](crate::ops::conv2d_fast) and
//! [`ops::conv2d_candle`](crate::ops::conv2d_candle); the tests check that this one computes the
//! same numbers.

mod by_hand;
pub mod conv1d;
pub mod kernels;
mod size;
mod window;

pub use by_hand::{conv2d, conv2d_single};
pub use size::{output_shape, output_size, output_size_floor};
pub use window::{WindowStep, window_at};

#[cfg(test)]
mod tests;
