//! `data::load` falling back to a download, with the environment pointed at a local server.
//!
//! This file holds a single test on purpose: it changes environment variables, which is only safe
//! while no other thread of the process reads them.

#![cfg(target_os = "linux")] // `dirs::cache_dir` follows XDG_CACHE_HOME only on Linux

mod common;

use std::collections::HashMap;

use common::Server;
use lenet_tutor::Error;
use lenet_tutor::data::{self, DATA_ENV, DataOptions, DatasetName, MIRRORS_ENV};

#[test]
fn load_tries_the_mirrors_from_the_environment_and_reports_both_search_and_download() {
    let cache = tempfile::tempdir().unwrap();
    let empty_data = tempfile::tempdir().unwrap();
    let server = Server::start(HashMap::new()); // a 404 for every file
    let mirror = format!("{}/mirror/", server.base);
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe {
        std::env::set_var("XDG_CACHE_HOME", cache.path());
        std::env::set_var(MIRRORS_ENV, format!(" {mirror} ,"));
        std::env::remove_var(DATA_ENV);
    }
    let expected_cache = cache.path().join("lenet-tutor").join("mnist");
    assert_eq!(data::cache_dir(DatasetName::Mnist).unwrap(), expected_cache);
    assert_eq!(data::mirrors(DatasetName::Mnist), vec![mirror.clone()]);

    let options = DataOptions { data_dir: Some(empty_data.path().to_path_buf()), allow_download: true };
    let err = data::load(DatasetName::Mnist, &options).unwrap_err();
    assert!(matches!(err, Error::DataNotFound(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{} (--data-dir)", empty_data.path().display())), "{msg}");
    assert!(msg.contains("(user cache): no such directory"), "{msg}");
    assert!(msg.contains(&format!("{mirror}train-images-idx3-ubyte.gz: HTTP 404")), "{msg}");
    assert!(msg.contains("lenet-tutor download --dataset mnist"), "{msg}");
    assert_eq!(server.requested().first().map(String::as_str), Some("/mirror/train-images-idx3-ubyte.gz"));
    // The download directory was made, but nothing was left in it.
    assert_eq!(std::fs::read_dir(&expected_cache).unwrap().count(), 0);
}
