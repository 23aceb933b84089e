//! Every input the fuzzers were seeded with or ever found (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) runs here, in the normal `cargo test`, through the same check the
//! fuzz target runs (`fuzz/checks/<target>.rs`). A crash fixed once stays fixed.

#[path = "../fuzz/checks/checkpoint.rs"]
mod checkpoint;
#[path = "../fuzz/checks/digit_image.rs"]
mod digit_image;
#[path = "../fuzz/checks/download.rs"]
mod download;
#[path = "../fuzz/checks/idx.rs"]
mod idx;
#[path = "../fuzz/checks/idx_gzip.rs"]
mod idx_gzip;
#[path = "../fuzz/checks/models.rs"]
mod models;
#[path = "../fuzz/checks/web_model.rs"]
mod web_model;

use std::path::Path;

/// The files of `fuzz/<kind>/<target>/`, if the directory exists.
fn inputs(kind: &str, target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// One test for all targets: the download check sets an environment variable, which is only safe
/// while no other thread of this process reads the environment.
#[test]
fn seeds_and_found_inputs_pass_every_check() {
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 6] = [
        ("idx", idx::check),
        ("idx_gzip", idx_gzip::check),
        ("digit_image", digit_image::check),
        ("checkpoint", checkpoint::check),
        ("download", download::check),
        ("web_model", web_model::check),
    ];
    for (target, check) in targets {
        let seeds = inputs("seeds", target);
        assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ is empty");
        for input in seeds.iter().chain(&inputs("regressions", target)) {
            check(input);
        }
    }
}
