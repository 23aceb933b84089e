//! Exercises of chapter 4, "The FC layer and its limit": counting an MLP's parameters, and undoing the
//! pixel shuffle of the permutation experiment.

use lenet_tutor::data::{Dataset, DatasetName};
use lenet_tutor::experiments::fc_parameters;
use lenet_tutor::experiments::{Mlp, permute_pixels, pixel_permutation};

// ANCHOR: mlp_parameters
/// The parameters of an MLP `784 → hidden[0] → … → 10`: one FC layer between each pair of sizes.
pub fn mlp_parameters(hidden: &[usize]) -> usize {
    let mut sizes = vec![28 * 28];
    sizes.extend_from_slice(hidden);
    sizes.push(10);
    sizes.windows(2).map(|pair| fc_parameters(pair[0], pair[1])).sum()
}
// ANCHOR_END: mlp_parameters

// ANCHOR: inverse_permutation
/// The permutation that undoes `perm`: `q[perm[i]] = i`.
pub fn inverse_permutation(perm: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; perm.len()];
    for (new_position, &old_position) in perm.iter().enumerate() {
        inverse[old_position] = new_position;
    }
    inverse
}
// ANCHOR_END: inverse_permutation

#[test]
fn mlp_parameters_match_the_model() {
    let device = lenet_tutor::device::auto();
    assert_eq!(mlp_parameters(&[100]), 79_510);
    for hidden in [vec![100], vec![300, 100], vec![]] {
        let model = Mlp::new(&hidden, 1, &device).unwrap();
        assert_eq!(mlp_parameters(&hidden), model.num_parameters(), "hidden {hidden:?}");
    }
}

#[test]
fn the_inverse_permutation_gives_the_digits_back() {
    // Three small "digits" of 28×28 with distinct pixel values, so that any misplaced pixel shows.
    let images: Vec<u8> = (0..3 * 784).map(|i| (i * 31 % 251) as u8).collect();
    let digits = Dataset::new(DatasetName::MnistSample, images, vec![3, 1, 4], 28, 28).unwrap();
    let perm = pixel_permutation(784, 7);
    let shuffled = permute_pixels(&digits, &perm).unwrap();
    assert_ne!(shuffled, digits);
    let restored = permute_pixels(&shuffled, &inverse_permutation(&perm)).unwrap();
    assert_eq!(restored, digits);
    // And the other way round: a permutation also undoes its inverse.
    let inverse = inverse_permutation(&perm);
    assert_eq!(inverse_permutation(&inverse), perm);
}
