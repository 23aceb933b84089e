//! The crate's own randomness.
//!
//! candle cannot seed its CPU random number generator (`Device::Cpu.set_seed` returns
//! "cannot seed the CPU rng"), so nothing in this crate asks candle for random numbers.
//! Initial weights, the loader's shuffling and the dropout masks all come from a [`TutorRng`]
//! created from one seed: the same seed on the same machine gives the same losses, bit for bit.

use rand::SeedableRng;

/// The random number generator used everywhere in the crate: ChaCha8, fast and reproducible
/// across platforms.
pub type TutorRng = rand_chacha::ChaCha8Rng;

/// A generator seeded with `seed`.
pub fn seeded(seed: u64) -> TutorRng {
    TutorRng::seed_from_u64(seed)
}

/// A generator for one purpose (`stream`) derived from `seed`, so that, for example, the loader's
/// shuffling does not change when the model draws one more weight.
pub fn stream(seed: u64, stream: u64) -> TutorRng {
    let mut rng = TutorRng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Stream numbers, one per consumer of randomness.
pub mod streams {
    /// Initial weights of a model.
    pub(crate) const INIT: u64 = 1;
    /// Shuffling of the training set.
    pub(crate) const SHUFFLE: u64 = 2;
    /// Dropout masks.
    pub(crate) const DROPOUT: u64 = 3;
    /// Anything an experiment needs (permutations of pixels, random inputs).
    pub const EXPERIMENT: u64 = 4;
}
