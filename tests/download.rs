//! The downloader against a tiny local HTTP server: good mirrors, dead ones, and ones that serve
//! the wrong bytes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread;

use lenet_tutor::Error;
use lenet_tutor::data::download::{FileSpec, download_files, md5_of_file};

/// Serves `files` (URL path → body) over HTTP/1.1 on 127.0.0.1; anything else is a 404.
/// Returns the base URL. The server thread lives until the test process ends.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            answer(stream, &files);
        }
    });
    base
}

fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers up to the blank line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body): (&str, &[u8]) = match files.get(path) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not here"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// A URL where nothing listens: bind a port, then free it.
fn dead_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

/// Two small fixture files and their real md5 checksums.
struct Fixture {
    names: [&'static str; 2],
    bodies: [Vec<u8>; 2],
    md5s: [String; 2],
}

impl Fixture {
    fn new() -> Fixture {
        let names = ["a-idx1-ubyte.gz", "b-idx3-ubyte.gz"];
        let bodies = [b"first fixture file".to_vec(), (0..=255u8).cycle().take(100_000).collect()];
        let dir = tempfile::tempdir().unwrap();
        let md5s = [0, 1].map(|i| {
            let path = dir.path().join(names[i]);
            std::fs::write(&path, &bodies[i]).unwrap();
            md5_of_file(&path).unwrap()
        });
        Fixture { names, bodies, md5s }
    }

    fn specs(&self) -> Vec<FileSpec<'_>> {
        (0..2).map(|i| FileSpec { name: self.names[i], md5: &self.md5s[i] }).collect()
    }

    /// A mirror serving both files under `/prefix/`, with file `corrupt` (if any) damaged.
    fn mirror(&self, prefix: &str, corrupt: Option<usize>) -> String {
        let mut files = HashMap::new();
        for i in 0..2 {
            let mut body = self.bodies[i].clone();
            if corrupt == Some(i) {
                body[0] ^= 0xff;
            }
            files.insert(format!("/{prefix}/{}", self.names[i]), body);
        }
        format!("{}/{prefix}/", serve(files))
    }
}

/// The names of the files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_good_mirror_delivers_both_files() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("nested/mnist");
    download_files(&fixture.specs(), &target, &[fixture.mirror("mnist", None)]).unwrap();
    assert_eq!(listing(&target), vec![fixture.names[0], fixture.names[1]]);
    for i in 0..2 {
        assert_eq!(std::fs::read(target.join(fixture.names[i])).unwrap(), fixture.bodies[i]);
    }
}

#[test]
fn a_404_mirror_is_skipped() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let empty = format!("{}/nothing/", serve(HashMap::new()));
    let mirrors = [empty, fixture.mirror("ok", None)];
    download_files(&fixture.specs(), dest.path(), &mirrors).unwrap();
    assert_eq!(listing(dest.path()), vec![fixture.names[0], fixture.names[1]]);
}

#[test]
fn a_corrupted_file_is_replaced_from_the_next_mirror() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let mirrors = [fixture.mirror("bad", Some(1)), fixture.mirror("good", None)];
    download_files(&fixture.specs(), dest.path(), &mirrors).unwrap();
    assert_eq!(listing(dest.path()), vec![fixture.names[0], fixture.names[1]]);
    assert_eq!(std::fs::read(dest.path().join(fixture.names[1])).unwrap(), fixture.bodies[1]);
}

#[test]
fn a_dead_mirror_then_a_good_one() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    download_files(&fixture.specs(), dest.path(), &[dead_mirror(), fixture.mirror("ok", None)]).unwrap();
    assert_eq!(listing(dest.path()).len(), 2);
}

#[test]
fn all_mirrors_bad_is_an_error_naming_each_and_leaves_nothing() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let not_found = format!("{}/gone/", serve(HashMap::new()));
    let corrupt = fixture.mirror("corrupt", Some(0));
    let dead = dead_mirror();
    let mirrors = [not_found.clone(), corrupt.clone(), dead.clone()];
    let err = download_files(&fixture.specs(), dest.path(), &mirrors).unwrap_err();
    assert!(matches!(err, Error::Download(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{not_found}{}: HTTP 404", fixture.names[0])), "{msg}");
    assert!(msg.contains(&format!("{corrupt}{}: checksum mismatch", fixture.names[0])), "{msg}");
    assert!(msg.contains(&format!("expected md5 {}", fixture.md5s[0])), "{msg}");
    assert!(msg.contains(&format!("{dead}{}: connection refused", fixture.names[0])), "{msg}");
    assert!(msg.contains("LENET_TUTOR_MIRRORS"), "{msg}");
    // No file, and no temporary file either.
    assert!(listing(dest.path()).is_empty(), "{:?}", listing(dest.path()));
}

#[test]
fn a_file_already_there_with_the_right_checksum_is_kept() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    for i in 0..2 {
        std::fs::write(dest.path().join(fixture.names[i]), &fixture.bodies[i]).unwrap();
    }
    // No mirror works, yet nothing needs downloading.
    download_files(&fixture.specs(), dest.path(), &[dead_mirror()]).unwrap();
    // A damaged local copy is downloaded again.
    std::fs::write(dest.path().join(fixture.names[0]), b"damaged").unwrap();
    download_files(&fixture.specs(), dest.path(), &[fixture.mirror("ok", None)]).unwrap();
    assert_eq!(std::fs::read(dest.path().join(fixture.names[0])).unwrap(), fixture.bodies[0]);
}

#[test]
fn no_mirrors_is_an_error() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let err = download_files(&fixture.specs(), dest.path(), &[]).unwrap_err().to_string();
    assert!(err.contains("no mirror"), "{err}");
}
