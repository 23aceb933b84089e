//! The book's printed output, checked: what a listing prints must be what the ```` ```text ```` block
//! after it shows. Used by a hidden line of the book's listings (hence `#[doc(hidden)]`); the book's
//! listings are doctests, so `cargo test` runs the check.
//!
//! A listing whose output the book shows starts with the hidden line
//!
//! ```text
//! # let _output = lenet_tutor::book_output::check("ch06-lenet-mnist.md", "3", &[]);
//! ```
//!
//! The guard sends the process's standard output to a temporary file (each doctest runs in a
//! process of its own). When the listing ends it puts standard output back, prints what it caught,
//! and compares it with the ```` ```text ```` block that follows the listing holding that call in the
//! chapter's Markdown: line by line, exactly, except spans matching one of the `varies` regular
//! expressions (a timing, say), which the chapter lists in the call. A difference is a panic with a
//! diff that names the chapter and the listing.

use std::fs::File;
use std::io::{Read, Seek, Write};

use regex::Regex;

/// Captures standard output until dropped, then checks it (see the module documentation).
#[must_use = "the check runs when the guard is dropped at the end of the listing"]
pub struct OutputCheck {
    chapter: &'static str,
    label: &'static str,
    varies: Vec<Regex>,
    file: File,
    saved_stdout: i32,
}

/// Starts capturing a listing's output; the check runs when the returned guard is dropped.
///
/// # Panics
/// If a `varies` pattern is not a regular expression or standard output cannot be redirected:
/// mistakes in the book's hidden lines, not in anything a reader hands in.
pub fn check(chapter: &'static str, label: &'static str, varies: &[&str]) -> OutputCheck {
    let varies = varies.iter().map(|p| Regex::new(p).expect("a `varies` pattern of the book")).collect();
    let file = tempfile::tempfile().expect("a temporary file for the listing's output");
    let saved_stdout = redirect_stdout(&file);
    OutputCheck { chapter, label, varies, file, saved_stdout }
}

impl Drop for OutputCheck {
    fn drop(&mut self) {
        restore_stdout(self.saved_stdout);
        let mut printed = String::new();
        let _ = self.file.rewind();
        let _ = self.file.read_to_string(&mut printed);
        print!("{printed}");
        if std::thread::panicking() {
            return; // the listing failed already; its own message says why
        }
        let path = chapter_path(self.chapter);
        let markdown = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        if let Err(diff) = compare(&markdown, self.chapter, self.label, &printed, &self.varies) {
            panic!("{diff}");
        }
    }
}

/// The chapter's Markdown file: `book/src/<chapter>`, or for the Korean edition's chapters (named
/// `ko/<chapter>` in their hidden line, see TRANSLATING.md) `book/ko/<chapter>`.
fn chapter_path(chapter: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    match chapter.strip_prefix("ko/") {
        Some(korean) => format!("{root}/book/ko/{korean}"),
        None => format!("{root}/book/src/{chapter}"),
    }
}

/// Sends standard output (fd 1) to `file`; returns a copy of the old descriptor. On systems without
/// POSIX descriptors nothing is captured and the comparison fails, loudly: the book's checks are run
/// on Linux and macOS.
#[cfg(unix)]
fn redirect_stdout(file: &File) -> i32 {
    use std::os::fd::AsRawFd;
    let _ = std::io::stdout().flush();
    // SAFETY: plain POSIX calls on descriptors this process owns; fd 1 is swapped back in `drop`.
    let saved = unsafe { libc::dup(1) };
    assert!(saved >= 0, "cannot duplicate standard output");
    // SAFETY: as above; `file` outlives the redirection (it is dropped after fd 1 is restored).
    assert!(unsafe { libc::dup2(file.as_raw_fd(), 1) } >= 0, "cannot redirect standard output");
    saved
}

#[cfg(not(unix))]
fn redirect_stdout(_file: &File) -> i32 {
    -1
}

/// Puts back the standard output saved by [`redirect_stdout`].
#[cfg(unix)]
fn restore_stdout(saved: i32) {
    let _ = std::io::stdout().flush();
    // SAFETY: restores the descriptor saved in `redirect_stdout`, then closes the saved copy.
    unsafe {
        libc::dup2(saved, 1);
        libc::close(saved);
    }
}

#[cfg(not(unix))]
fn restore_stdout(_saved: i32) {}

/// Compares `printed` with the output block after the listing labelled `label` in `markdown`.
/// The error is a readable diff naming the chapter and the listing.
pub fn compare(
    markdown: &str,
    chapter: &str,
    label: &str,
    printed: &str,
    varies: &[Regex],
) -> Result<(), String> {
    let here = format!("{chapter}, listing {label}");
    let expected = output_block(markdown, chapter, label).map_err(|e| format!("{here}: {e}"))?;
    let expected: Vec<&str> = expected.lines().map(str::trim_end).collect();
    let printed: Vec<&str> = printed.trim_end_matches('\n').lines().map(str::trim_end).collect();
    let masked = |line: &str| {
        varies.iter().fold(line.to_string(), |l, re| re.replace_all(&l, "‹varies›").into_owned())
    };
    let mut diff = Vec::new();
    for i in 0..expected.len().max(printed.len()) {
        let (book, got) = (expected.get(i).copied(), printed.get(i).copied());
        let same = match (book, got) {
            (Some(b), Some(g)) => b == g || masked(b) == masked(g),
            _ => false,
        };
        if !same {
            diff.push(format!(
                "  line {}:\n    book:    {}\n    printed: {}",
                i + 1,
                book.unwrap_or("(no line)"),
                got.unwrap_or("(no line)")
            ));
        }
    }
    if diff.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{here}: the output block in the book is not what the listing prints ({} of {} lines differ). \
         Update the ```text block, make the listing print what stays the same on every machine, or \
         list the varying span in the check's `varies`:\n{}",
        diff.len(),
        expected.len().max(printed.len()),
        diff.join("\n")
    ))
}

/// The text of the ```` ```text ```` block right after the listing that calls `check(chapter, label, …)`.
fn output_block<'a>(markdown: &'a str, chapter: &str, label: &str) -> Result<&'a str, String> {
    let call = format!("book_output::check(\"{chapter}\", \"{label}\"");
    let at = markdown.find(&call).ok_or_else(|| format!("no listing calls `{call}…)`"))?;
    // Fences may be longer than three backticks: a Markdown writer uses four when the code itself
    // holds three, as mdBook's does in the Korean chapters (book/ko/).
    fn fence(line: &str) -> Option<(usize, &str)> {
        let ticks = line.len() - line.trim_start_matches('`').len();
        (ticks >= 3).then(|| (ticks, line[ticks..].trim()))
    }
    let mut lines = markdown[at..].split_inclusive('\n').scan(at, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line.trim_end_matches(['\n', '\r'])))
    });
    // The end of that listing's fence, then only blank lines up to the output block's fence.
    lines
        .find(|(_, line)| matches!(fence(line), Some((_, ""))))
        .ok_or("the listing's code block never ends")?;
    let (ticks, body_start) = match lines.find(|(_, line)| !line.trim().is_empty()) {
        Some((start, line)) => match fence(line) {
            Some((ticks, "text")) => (ticks, start + line.len() + 1),
            _ => return Err("no ```text block follows the listing".into()),
        },
        None => return Err("no ```text block follows the listing".into()),
    };
    let (end, _) = lines
        .find(|(_, line)| matches!(fence(line), Some((n, "")) if n >= ticks))
        .ok_or("the output block never ends")?;
    Ok(&markdown[body_start.min(end)..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "# A chapter\n\n```rust\n# let _output = lenet_tutor::book_output::check(\"ch.md\", \"1\", &[]);\n\
        println!(\"24 × 24\");\nprintln!(\"took 1.5 s\");\n```\n\n```text\n24 × 24\ntook 0.9 s\n```\n";

    #[test]
    fn an_edited_output_block_fails_with_a_diff_naming_the_listing() {
        let timing = [Regex::new(r"\d+\.\d+ s").unwrap()];
        // What the listing prints, with the timing marked as varying: it passes.
        assert_eq!(compare(CHAPTER, "ch.md", "1", "24 × 24\ntook 1.5 s\n", &timing), Ok(()));
        // Without the mark, the timing is a difference.
        let err = compare(CHAPTER, "ch.md", "1", "24 × 24\ntook 1.5 s\n", &[]).unwrap_err();
        assert!(err.contains("ch.md, listing 1") && err.contains("line 2"), "{err}");
        // An edited block (or a listing that now prints something else) fails, naming the line.
        let edited = CHAPTER.replace("\n24 × 24\n", "\n24 × 25\n");
        let err = compare(&edited, "ch.md", "1", "24 × 24\ntook 1.5 s\n", &timing).unwrap_err();
        assert!(err.contains("line 1:\n    book:    24 × 25\n    printed: 24 × 24"), "{err}");
        // A missing or extra line.
        let err = compare(CHAPTER, "ch.md", "1", "24 × 24\n", &timing).unwrap_err();
        assert!(err.contains("printed: (no line)"), "{err}");
    }

    #[test]
    fn longer_fences_as_the_korean_chapters_have_them() {
        let four = CHAPTER.replace("```", "````");
        assert_eq!(compare(&four, "ch.md", "1", "24 × 24\ntook 0.9 s\n", &[]), Ok(()));
        let err = compare(&four, "ch.md", "1", "24 × 25\ntook 0.9 s\n", &[]).unwrap_err();
        assert!(err.contains("line 1:"), "{err}");
    }

    #[test]
    fn a_listing_without_an_output_block_is_an_error() {
        let md = "```rust\n# let _output = lenet_tutor::book_output::check(\"ch.md\", \"2\", &[]);\n```\n\nprose\n";
        let err = compare(md, "ch.md", "2", "", &[]).unwrap_err();
        assert!(err.contains("no ```text block follows the listing"), "{err}");
        let err = compare(md, "ch.md", "9", "", &[]).unwrap_err();
        assert!(err.contains("no listing calls"), "{err}");
    }

    #[test]
    fn the_korean_chapters_are_read_from_book_ko() -> std::io::Result<()> {
        // Every English chapter with a checked listing has its Korean twin, checked against itself.
        for name in ["ch01-convolution.md", "ch06-lenet-mnist.md"] {
            let english = std::fs::read_to_string(chapter_path(name))?;
            let korean = std::fs::read_to_string(chapter_path(&format!("ko/{name}")))?;
            assert!(english.contains(&format!("book_output::check(\"{name}\"")), "{name}");
            assert!(korean.contains(&format!("book_output::check(\"ko/{name}\"")), "ko/{name}");
        }
        Ok(())
    }
}
