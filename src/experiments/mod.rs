//! Experiments that turn the notes' claims into numbers: how many parameters an FC layer needs
//! compared with a convolution (`params.rs`: [`fc_vs_conv`], [`lenet_parameters`]), and what happens
//! to each when the pixels are shuffled (`permutation.rs`: [`permutation_experiment`]) — the notes' "FC layers ignore the shape of the data".

pub mod learn_kernel;
pub mod neighbours;
mod params;
mod permutation;
pub mod receptive_field;
pub mod shift;

pub use params::{LayerParams, conv_parameters, fc_parameters, fc_vs_conv, format_table, lenet_parameters};
pub use permutation::{
    Mlp, PermutationConfig, PermutationResult, permutation_experiment, permute_pixels, pixel_permutation,
};
