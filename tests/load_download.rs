//! `data::load` falling back to a download, with the environment pointed at a local server.
//!
//! This file holds a single test on purpose: it changes environment variables, which is only safe
//! while no other thread of the process reads them.

#![cfg(target_os = "linux")] // `dirs::cache_dir` follows XDG_CACHE_HOME only on Linux

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use lenet_tutor::Error;
use lenet_tutor::data::{self, DataOptions, DatasetName};

/// A server that answers every request with 404 and counts the requests it got.
fn serve_404s() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mirror/", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = tx.send(request_line.split_whitespace().nth(1).unwrap_or("").to_string());
            let _ =
                stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (base, rx)
}

#[test]
fn load_tries_the_mirrors_from_the_environment_and_reports_both_search_and_download() {
    let cache = tempfile::tempdir().unwrap();
    let empty_data = tempfile::tempdir().unwrap();
    let (mirror, requests) = serve_404s();
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe {
        std::env::set_var("XDG_CACHE_HOME", cache.path());
        std::env::set_var("LENET_TUTOR_MIRRORS", format!(" {mirror} ,"));
        std::env::remove_var("LENET_TUTOR_DATA");
    }
    let expected_cache = cache.path().join("lenet-tutor").join("mnist");
    assert_eq!(data::cache_dir(DatasetName::Mnist).unwrap(), expected_cache);
    assert_eq!(data::download::mirrors(DatasetName::Mnist), vec![mirror.clone()]);

    let options = DataOptions { data_dir: Some(empty_data.path().to_path_buf()), allow_download: true };
    let err = data::load(DatasetName::Mnist, &options).unwrap_err();
    assert!(matches!(err, Error::DataNotFound(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{} (--data-dir)", empty_data.path().display())), "{msg}");
    assert!(msg.contains("(user cache): no such directory"), "{msg}");
    assert!(msg.contains(&format!("{mirror}train-images-idx3-ubyte.gz: HTTP 404")), "{msg}");
    assert!(msg.contains("lenet-tutor download --dataset mnist"), "{msg}");
    assert_eq!(requests.try_recv().unwrap(), "/mirror/train-images-idx3-ubyte.gz");
    // The download directory was made, but nothing was left in it.
    assert_eq!(std::fs::read_dir(&expected_cache).unwrap().count(), 0);
}
