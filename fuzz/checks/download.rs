//! Downloading: the mirror list from the environment, and the check of a mirror's body against the
//! catalogue's size and checksum. The first byte splits the input: mirror list, then body.
//!
//! Shared by the fuzz target `download` (`scripts/fuzz`) and `tests/fuzz_regressions.rs`, which runs
//! it on the seeds and on every input fuzzing ever found.

use lenet_tutor::data::download::copy_verified;
use lenet_tutor::data::{self, DatasetName, FileSpec, MIRRORS_ENV};
use std::path::Path;

pub fn check(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else { return };
    let (list, body) = rest.split_at((split as usize).min(rest.len()));
    if let Ok(list) = std::str::from_utf8(list)
        && !list.contains('\0')
    {
        // SAFETY: the fuzzer runs one thread; nothing else reads the environment meanwhile.
        unsafe { std::env::set_var(MIRRORS_ENV, list) };
        for mirror in data::mirrors(DatasetName::Mnist) {
            assert!(!mirror.trim().is_empty() && !mirror.contains(','), "{mirror:?}");
        }
    }
    let spec = FileSpec { name: "fuzz.gz", size: 64, md5: "0123456789abcdef0123456789abcdef" };
    let mut out = Vec::new();
    match copy_verified(&spec, body, &mut out, Path::new("fuzz.gz.part")) {
        Ok(n) => assert!(n <= 64 && out.len() as u64 == n),
        Err(_) => assert!(out.len() <= 64, "wrote {} bytes past the size", out.len()),
    }
}
