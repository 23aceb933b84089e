//! Downloading the full data sets (`lenet-tutor download --dataset mnist`).
//!
//! MNIST's original home no longer serves the files reliably, so every data set has a list of
//! mirrors, tried in order. Whatever a mirror sends is checked against the file's published md5
//! checksum before it is kept: a mirror that is down, answers 404 or serves a different file only
//! makes us try the next one.
//!
//! A file is first written to a temporary name in the destination directory and renamed only once
//! its checksum is right, so an interrupted download never leaves a half file that would later be
//! read as data.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use super::datasets::DatasetName;
use crate::error::{Error, Result};

/// Environment variable with comma-separated mirror URLs that replace the built-in ones.
pub const MIRRORS_ENV: &str = "LENET_TUTOR_MIRRORS";

/// The largest body accepted from a mirror (the biggest real file is 26 MB).
const MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// One file to download and the md5 checksum (lower-case hex) it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec<'a> {
    /// The file name, appended to each mirror's URL and used in the destination directory.
    pub name: &'a str,
    /// Its md5 checksum, 32 lower-case hex digits.
    pub md5: &'a str,
}

/// MNIST's four files with the checksums published with it.
const MNIST_FILES: [FileSpec<'static>; 4] = [
    FileSpec { name: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873" },
    FileSpec { name: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432" },
    FileSpec { name: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3" },
    FileSpec { name: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c" },
];

/// Fashion-MNIST's four files with the checksums of its README.
///
/// Debian's package holds the same pixels but re-compressed, so its `.gz` files have other checksums;
/// that does not matter, because only downloaded files are checked.
const FASHION_FILES: [FileSpec<'static>; 4] = [
    FileSpec { name: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
    FileSpec { name: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe" },
    FileSpec { name: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79" },
    FileSpec { name: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310" },
];

/// The files of a data set and their checksums (none for the bundled sample).
pub fn files(name: DatasetName) -> &'static [FileSpec<'static>] {
    match name {
        DatasetName::MnistSample => &[],
        DatasetName::Mnist => &MNIST_FILES,
        DatasetName::FashionMnist => &FASHION_FILES,
    }
}

/// The built-in mirrors of a data set, in the order they are tried.
pub fn default_mirrors(name: DatasetName) -> Vec<String> {
    let urls: &[&str] = match name {
        DatasetName::MnistSample => &[],
        DatasetName::Mnist => &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        DatasetName::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    };
    urls.iter().map(|url| url.to_string()).collect()
}

/// The mirrors to use: those in `LENET_TUTOR_MIRRORS` if it is set, else [`default_mirrors`].
pub fn mirrors(name: DatasetName) -> Vec<String> {
    match std::env::var(MIRRORS_ENV) {
        Ok(list) if !parse_mirror_list(&list).is_empty() => parse_mirror_list(&list),
        _ => default_mirrors(name),
    }
}

/// Splits a comma-separated list of URLs, dropping blanks.
pub fn parse_mirror_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(String::from).collect()
}

/// Downloads a data set's four files into `dest_dir` (created if needed), trying `mirrors` in
/// order for each file, and returns `dest_dir`. Files already there with the right checksum are kept.
pub fn download(name: DatasetName, dest_dir: &Path, mirrors: &[String]) -> Result<PathBuf> {
    if name.is_bundled() {
        return Err(Error::InvalidArgument(format!(
            "{name} is bundled with the program; there is nothing to download"
        )));
    }
    download_files(files(name), dest_dir, mirrors)?;
    Ok(dest_dir.to_path_buf())
}

/// Downloads each of `files` into `dest_dir`, trying `mirrors` in order, keeping only a file whose
/// md5 checksum is the expected one. Prints one line per file to stderr.
///
/// Stops at the first file no mirror could deliver, with an [`Error::Download`] that lists what
/// went wrong on each mirror. Files completed before stay; no partial file is ever left behind.
pub fn download_files(files: &[FileSpec<'_>], dest_dir: &Path, mirrors: &[String]) -> Result<()> {
    if mirrors.is_empty() {
        return Err(Error::Download(format!(
            "no mirror to download from; set {MIRRORS_ENV}=URL[,URL...] to one that has the files"
        )));
    }
    std::fs::create_dir_all(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
    let agent = agent();
    for file in files {
        let dest = dest_dir.join(file.name);
        if dest.is_file() && md5_of_file(&dest)? == file.md5 {
            eprintln!("{}: already downloaded (checksum ok)", dest.display());
            continue;
        }
        let mut failures = Vec::new();
        for mirror in mirrors {
            let url = file_url(mirror, file.name);
            match fetch(&agent, &url, file, &dest) {
                Ok(bytes) => {
                    eprintln!("downloaded {url} ({}) -> {}", human_size(bytes), dest.display());
                    break;
                }
                Err(Failure::Local(e)) => return Err(e),
                Err(Failure::Mirror(reason)) => {
                    eprintln!("{url}: {reason}");
                    failures.push(format!("{url}: {reason}"));
                }
            }
        }
        if failures.len() == mirrors.len() {
            return Err(Error::Download(format!(
                "{} could not be downloaded from any mirror:\n  - {}\nCheck the internet connection, \
                 set {MIRRORS_ENV}=URL[,URL...] to mirrors that have the files, or copy the files into {} by hand",
                file.name,
                failures.join("\n  - "),
                dest_dir.display()
            )));
        }
    }
    Ok(())
}

/// The md5 checksum of a file, as 32 lower-case hex digits.
pub fn md5_of_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Why one attempt failed: the mirror's fault (try the next one) or ours (stop: the next mirror
/// would fail the same way, e.g. the destination is not writable).
enum Failure {
    Mirror(String),
    Local(Error),
}

/// Downloads `url` into a temporary file next to `dest`, checks it, and renames it to `dest`.
/// Returns the number of bytes.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    file: &FileSpec<'_>,
    dest: &Path,
) -> std::result::Result<u64, Failure> {
    let mut response = agent.get(url).call().map_err(|e| Failure::Mirror(describe(&e)))?;
    let mut body = response.body_mut().with_config().limit(MAX_FILE_BYTES).reader();

    let temp = TempFile::next_to(dest);
    let mut out = File::create(&temp.path).map_err(|e| Failure::Local(Error::io(&temp.path, e)))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        // A read error is the connection's fault: the mirror dropped us or sent garbage.
        let n =
            body.read(&mut buffer).map_err(|e| Failure::Mirror(format!("reading the body failed: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(|e| Failure::Local(Error::io(&temp.path, e)))?;
        total += n as u64;
    }
    out.sync_all().map_err(|e| Failure::Local(Error::io(&temp.path, e)))?;
    drop(out);

    let got = format!("{:x}", hasher.finalize());
    if got != file.md5 {
        return Err(Failure::Mirror(format!(
            "checksum mismatch: expected md5 {}, got {got} ({} received); the mirror serves a \
             different or damaged file",
            file.md5,
            human_size(total)
        )));
    }
    temp.persist(dest).map_err(Failure::Local)?;
    Ok(total)
}

/// A file that is deleted when dropped, unless [`persist`](TempFile::persist)ed.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    /// A temporary name in `dest`'s directory (so the final rename stays on one file system and is atomic).
    fn next_to(dest: &Path) -> TempFile {
        let file_name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = dest.with_file_name(format!(".{file_name}.{}.part", std::process::id()));
        TempFile { path, keep: false }
    }

    fn persist(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| Error::io(dest, e))?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // The file may never have been created; nothing to report either way.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An HTTP client with timeouts, so a dead mirror fails instead of hanging forever.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        // The files are gzip already; ask for them as they are, so the checksum is of the real bytes.
        .accept_encoding("identity")
        .user_agent(concat!("lenet-tutor/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// `mirror` + `name` with exactly one `/` between them.
fn file_url(mirror: &str, name: &str) -> String {
    format!("{}/{name}", mirror.trim_end_matches('/'))
}

/// A short reason for a failed request: "HTTP 404", "connection refused", ...
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            _ => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// `1234567` → `1.2 MB`.
fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(file_url("http://h/mnist/", "a.gz"), "http://h/mnist/a.gz");
        assert_eq!(file_url("http://h/mnist", "a.gz"), "http://h/mnist/a.gz");
    }

    #[test]
    fn mirror_lists_parse() {
        assert_eq!(parse_mirror_list(" http://a/ , ,http://b"), vec!["http://a/", "http://b"]);
        assert!(parse_mirror_list(" , ").is_empty());
    }

    #[test]
    fn every_full_data_set_has_mirrors_and_four_checksummed_files() {
        for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
            assert!(!default_mirrors(name).is_empty());
            assert_eq!(files(name).len(), 4);
            for file in files(name) {
                assert_eq!(file.md5.len(), 32, "{file:?}");
                assert!(file.md5.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            }
        }
        assert!(default_mirrors(DatasetName::MnistSample).is_empty());
    }

    #[test]
    fn the_bundled_sample_is_not_downloaded() {
        let err = download(DatasetName::MnistSample, Path::new("/nonexistent"), &[]).unwrap_err();
        assert!(err.to_string().contains("nothing to download"), "{err}");
    }

    #[test]
    fn md5_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(md5_of_file(&path).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }
}
