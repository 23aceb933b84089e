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

use super::catalog::{DatasetName, FileSpec, MIRRORS_ENV, files};
use crate::atomic_file::AtomicFile;
use crate::error::{Error, Result};

/// How long a mirror may take to connect, to answer, or between two reads of the body, before the
/// next one is tried.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads a data set's four files into `dest_dir` (created if needed), trying `mirrors` in
/// order for each file, and returns `dest_dir`. Files already there with the right checksum are kept.
pub fn download(name: DatasetName, dest_dir: &Path, mirrors: &[String]) -> Result<PathBuf> {
    if name.is_bundled() {
        return Err(Error::InvalidArgument(format!(
            "{name} is bundled with the program; there is nothing to download"
        )));
    }
    download_files(&files(name), dest_dir, mirrors, DEFAULT_TIMEOUT)?;
    Ok(dest_dir.to_path_buf())
}

/// Downloads each of `files` into `dest_dir`, trying `mirrors` in order, keeping only a file whose
/// md5 checksum is the expected one. Prints one line per file to stderr.
///
/// Stops at the first file no mirror could deliver, with an [`Error::Download`] that lists what
/// went wrong on each mirror. Files completed before stay; no partial file is ever left behind.
pub fn download_files(
    files: &[FileSpec<'_>],
    dest_dir: &Path,
    mirrors: &[String],
    timeout: Duration,
) -> Result<()> {
    if mirrors.is_empty() {
        return Err(Error::Download(format!(
            "no mirror to download from; set {MIRRORS_ENV}=URL[,URL...] to one that has the files"
        )));
    }
    std::fs::create_dir_all(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
    let agent = agent(timeout);
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

/// Copies a mirror's `body` to `out`, checking it is the file `file` describes: at most
/// `file.size` bytes, and the right md5 checksum at the end. `out_path` names `out` in errors.
/// Returns the number of bytes. A body that is not the file is an [`Error::Download`] that says
/// how (the mirror's fault: try the next one); failing to write is an [`Error::Io`].
pub fn copy_verified(
    file: &FileSpec<'_>,
    body: impl Read,
    mut out: impl Write,
    out_path: &Path,
) -> Result<u64> {
    let mut body = body.take(file.size.saturating_add(1));
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        // A read error is the connection's fault: the mirror dropped us or sent garbage.
        let n =
            body.read(&mut buffer).map_err(|e| Error::Download(format!("reading the body failed: {e}")))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > file.size {
            return Err(Error::Download(format!(
                "the mirror sent more than the file's {} bytes; it serves a different file",
                file.size
            )));
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(|e| Error::io(out_path, e))?;
    }
    let got = format!("{:x}", hasher.finalize());
    if got != file.md5 {
        return Err(Error::Download(format!(
            "checksum mismatch: expected md5 {}, got {got} ({} received); the mirror serves a \
             different or damaged file",
            file.md5,
            human_size(total)
        )));
    }
    Ok(total)
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
    // One byte over the file's size is enough to tell a mirror that sends too much.
    let body = response.body_mut().with_config().limit(file.size.saturating_add(1)).reader();

    // A temporary file in `dest`'s directory (so the final rename stays on one file system and is
    // atomic), deleted if we return early.
    let mut temp = AtomicFile::create(dest).map_err(Failure::Local)?;
    let temp_path = temp.temp_path().to_path_buf();
    let total = copy_verified(file, body, temp.file(), &temp_path).map_err(|e| match e {
        Error::Download(reason) => Failure::Mirror(reason),
        other => Failure::Local(other),
    })?;
    temp.commit().map_err(Failure::Local)?;
    Ok(total)
}

/// An HTTP client with timeouts, so a dead mirror fails instead of hanging forever.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_per_read(Some(timeout))
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
