//! The numbers the chapters quote from this run, written as Markdown files the chapters include
//! (`{{#include generated/ch07.md:mistakes}}`): a rerun updates the book, and no measured number is
//! typed by hand. Each file says which command wrote it, on what machine, when.

use std::path::Path;

use lenet_tutor::{Error, Result};

/// The snippets of one chapter, each between mdBook's `ANCHOR: name` / `ANCHOR_END: name` lines.
pub struct Generated {
    chapter: &'static str,
    snippets: Vec<(String, String)>,
}

impl Generated {
    pub fn new(chapter: &'static str) -> Self {
        Self { chapter, snippets: Vec::new() }
    }

    /// Records the text the chapter shows at `anchor` (a number, a sentence or table rows).
    pub fn set(&mut self, anchor: &str, text: impl Into<String>) {
        self.snippets.push((anchor.to_string(), text.into()));
    }

    /// Writes `book/src/generated/<chapter>.md`, with the provenance as a snippet of its own too.
    pub fn write(&self, book_src: &Path) -> Result<()> {
        let dir = book_src.join("generated");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let (machine, date) = (machine(), today());
        let mut text = format!(
            "<!-- Written by `cargo run --release --example figures` on {machine}, {date}. Do not edit: rerun the command. -->\n"
        );
        let provenance = format!("Measured by `cargo run --release --example figures` on {machine}, {date}.");
        for (anchor, snippet) in
            std::iter::once(&("provenance".to_string(), provenance)).chain(&self.snippets)
        {
            text.push_str(&format!("<!-- ANCHOR: {anchor} -->\n{snippet}\n<!-- ANCHOR_END: {anchor} -->\n"));
        }
        let path = dir.join(format!("{}.md", self.chapter));
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        println!("wrote {}", path.display());
        Ok(())
    }
}

/// "an Intel(R) Xeon(R) Processor (2 threads)": the CPU, from /proc/cpuinfo where there is one.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu} ({threads} threads)")
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil-from-days algorithm (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
