//! The downloader against a tiny local HTTP server: good mirrors, dead ones, and ones that serve
//! the wrong bytes.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::{Reply, Server, TestResult, dead_mirror};
use lenet_tutor::Error;
use lenet_tutor::data::FileSpec;
use lenet_tutor::data::download::{download_files, md5_of_file};

/// Short, so that the stalling mirror costs the test two seconds, not a minute.
const TIMEOUT: Duration = Duration::from_secs(2);

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
        (0..2)
            .map(|i| FileSpec { name: self.names[i], size: self.bodies[i].len() as u64, md5: &self.md5s[i] })
            .collect()
    }

    /// A mirror serving both files under `/prefix/`, with file `corrupt` (if any) damaged.
    fn mirror(&self, prefix: &str, corrupt: Option<usize>) -> String {
        let mut files = HashMap::new();
        for i in 0..2 {
            let mut body = self.bodies[i].clone();
            if corrupt == Some(i) {
                body[0] ^= 0xff;
            }
            files.insert(format!("/{prefix}/{}", self.names[i]), Reply::Body(body));
        }
        format!("{}/{prefix}/", Server::start(files).base)
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
    download_files(&fixture.specs(), &target, &[fixture.mirror("mnist", None)], TIMEOUT).unwrap();
    assert_eq!(listing(&target), vec![fixture.names[0], fixture.names[1]]);
    for i in 0..2 {
        assert_eq!(std::fs::read(target.join(fixture.names[i])).unwrap(), fixture.bodies[i]);
    }
}

#[test]
fn a_404_mirror_is_skipped() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let empty = format!("{}/nothing/", Server::start(HashMap::new()).base);
    let mirrors = [empty, fixture.mirror("ok", None)];
    download_files(&fixture.specs(), dest.path(), &mirrors, TIMEOUT).unwrap();
    assert_eq!(listing(dest.path()), vec![fixture.names[0], fixture.names[1]]);
}

#[test]
fn a_corrupted_file_is_replaced_from_the_next_mirror() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let mirrors = [fixture.mirror("bad", Some(1)), fixture.mirror("good", None)];
    download_files(&fixture.specs(), dest.path(), &mirrors, TIMEOUT).unwrap();
    assert_eq!(listing(dest.path()), vec![fixture.names[0], fixture.names[1]]);
    assert_eq!(std::fs::read(dest.path().join(fixture.names[1])).unwrap(), fixture.bodies[1]);
}

#[test]
fn a_dead_mirror_then_a_good_one() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    download_files(&fixture.specs(), dest.path(), &[dead_mirror(), fixture.mirror("ok", None)], TIMEOUT)
        .unwrap();
    assert_eq!(listing(dest.path()).len(), 2);
}

#[test]
fn all_mirrors_bad_is_an_error_naming_each_and_leaves_nothing() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let not_found = format!("{}/gone/", Server::start(HashMap::new()).base);
    let corrupt = fixture.mirror("corrupt", Some(0));
    let dead = dead_mirror();
    let mirrors = [not_found.clone(), corrupt.clone(), dead.clone()];
    let err = download_files(&fixture.specs(), dest.path(), &mirrors, TIMEOUT).unwrap_err();
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
    download_files(&fixture.specs(), dest.path(), &[dead_mirror()], TIMEOUT).unwrap();
    // A damaged local copy is downloaded again.
    std::fs::write(dest.path().join(fixture.names[0]), b"damaged").unwrap();
    download_files(&fixture.specs(), dest.path(), &[fixture.mirror("ok", None)], TIMEOUT).unwrap();
    assert_eq!(std::fs::read(dest.path().join(fixture.names[0])).unwrap(), fixture.bodies[0]);
}

#[test]
fn no_mirrors_is_an_error() {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir().unwrap();
    let err = download_files(&fixture.specs(), dest.path(), &[], TIMEOUT).unwrap_err().to_string();
    assert!(err.contains("no mirror"), "{err}");
}

/// A mirror whose reply to the first file is `bad`, followed by a good mirror: the bad one is
/// reported, nothing of it is left behind, and the file comes from the next mirror.
fn next_mirror_after(bad: Reply, expected: &str) -> TestResult {
    let fixture = Fixture::new();
    let dest = tempfile::tempdir()?;
    let server = Server::start(HashMap::from([(format!("/bad/{}", fixture.names[0]), bad)]));
    let mirrors = [format!("{}/bad/", server.base), fixture.mirror("ok", None)];
    download_files(&fixture.specs(), dest.path(), &mirrors, TIMEOUT)?;
    assert_eq!(std::fs::read(dest.path().join(fixture.names[0]))?, fixture.bodies[0]);
    assert_eq!(listing(dest.path()), [fixture.names[0], fixture.names[1]], "no temporary file left");
    // And with no good mirror after it, the error says what went wrong.
    let lone = [format!("{}/bad/", server.base)];
    let empty = tempfile::tempdir()?;
    let err = download_files(&fixture.specs(), empty.path(), &lone, TIMEOUT).unwrap_err().to_string();
    assert!(err.contains(expected), "{err}");
    assert!(listing(empty.path()).is_empty(), "{:?}", listing(empty.path()));
    Ok(())
}

#[test]
fn a_body_larger_than_the_file_is_cut_off_and_the_next_mirror_tried() -> TestResult {
    let fixture = Fixture::new();
    let mut huge = fixture.bodies[0].clone();
    huge.extend(std::iter::repeat_n(0u8, 1 << 20)); // a megabyte more than the catalogue's size
    next_mirror_after(Reply::Body(huge), "the mirror sent more than the file's 18 bytes")
}

#[test]
fn a_connection_dropped_mid_body_is_the_mirrors_fault() -> TestResult {
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    // Fixture file 0 is short; give the bad mirror a long promise and cut it after 10 bytes.
    next_mirror_after(Reply::DropAfter { body, sent: 10 }, "reading the body failed")
}

#[test]
fn a_mirror_that_stalls_past_the_timeout_is_given_up() -> TestResult {
    next_mirror_after(Reply::Stall(TIMEOUT * 3), "timeout")
}
