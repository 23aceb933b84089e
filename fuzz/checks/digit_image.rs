//! `lenet-tutor predict`'s path: decode a picture (PNG, JPEG, …) and make it an MNIST-like digit.
//!
//! Shared by the fuzz target `digit_image` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::data;

pub fn check(data: &[u8]) {
    if let Ok(picture) = data::decode_picture(data)
        && let Ok(digit) = data::digit_from_picture(&picture)
    {
        assert_eq!(digit.len(), 784);
    }
}
