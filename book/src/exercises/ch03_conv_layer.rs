//! Exercises of chapter 3, "The conv layer": same padding, fc1's input size for other image sizes, and
//! the strides that fit exactly.

use lenet_tutor::Result;
use lenet_tutor::conv::output_size;

// ANCHOR: same_padding
/// The padding `P` that keeps the size with stride 1: `H + 2P − FH + 1 = H` gives `P = (FH − 1) / 2`,
/// a whole number only for odd kernels.
pub fn same_padding(kernel: usize) -> Option<usize> {
    if kernel % 2 == 1 { Some((kernel - 1) / 2) } else { None }
}
// ANCHOR_END: same_padding

// ANCHOR: flattened_size
/// The inputs `fc1` needs for an `image × image` input to the notes' LeNet: conv 5×5 → pool 2 → conv 5×5
/// → pool 2, then 20 maps flattened. A size that does not divide exactly is an error.
pub fn flattened_size(image: usize) -> Result<usize> {
    let mut size = image;
    for (kernel, stride) in [(5, 1), (2, 2), (5, 1), (2, 2)] {
        size = output_size(size, kernel, 0, stride)?;
    }
    Ok(20 * size * size)
}
// ANCHOR_END: flattened_size

// ANCHOR: exact_strides
/// Every stride for which `(input + 2·padding − kernel) / stride + 1` is a whole number.
pub fn exact_strides(input: usize, kernel: usize, padding: usize) -> Vec<usize> {
    let travel = (input + 2 * padding).saturating_sub(kernel);
    (1..=travel.max(1)).filter(|&stride| output_size(input, kernel, padding, stride).is_ok()).collect()
}
// ANCHOR_END: exact_strides

#[test]
fn same_padding_keeps_the_size() {
    for kernel in [1, 3, 5, 7] {
        let padding = same_padding(kernel).unwrap();
        for input in [kernel, 10, 28, 31] {
            assert_eq!(
                output_size(input, kernel, padding, 1).unwrap(),
                input,
                "kernel {kernel}, input {input}"
            );
        }
    }
    for even in [2, 4, 6] {
        assert_eq!(same_padding(even), None);
        // No whole padding works: P and P + 1 both miss.
        let p = (even - 1) / 2;
        assert_ne!(output_size(28, even, p, 1).unwrap(), 28);
        assert_ne!(output_size(28, even, p + 1, 1).unwrap(), 28);
    }
}

#[test]
fn fc1_input_for_other_image_sizes() {
    assert_eq!(flattened_size(28).unwrap(), 320); // the notes' x.view(-1, 320)
    assert_eq!(flattened_size(32).unwrap(), 500); // 32 → 28 → 14 → 10 → 5
    let error = flattened_size(30).unwrap_err().to_string(); // 30 → 26 → 13 → 9 → ?
    assert!(error.contains("(9 + 2·0 − 2)/2 + 1"), "{error}");
    assert!(flattened_size(8).is_err()); // 8 → 4, and a 5×5 kernel no longer fits
}

#[test]
fn strides_that_fit_are_the_divisors_of_the_travel() {
    assert_eq!(exact_strides(28, 4, 0), vec![1, 2, 3, 4, 6, 8, 12, 24]);
    assert_eq!(exact_strides(28, 5, 0), vec![1, 23]); // 23 is prime
    assert_eq!(exact_strides(5, 3, 1), vec![1, 2, 4]);
    assert_eq!(exact_strides(5, 5, 0), vec![1]); // it fits once: any stride would do, 1 is listed
}
