//! The numbers the chapters quote from this run, written as Markdown files the chapters include
//! (`{{#generated ch07.md:mistakes}}`, expanded by the book preprocessor, book/preprocessor/src/generated.rs): a rerun updates
//! the book, and no measured number is typed by hand. Each file says which command wrote it, on what
//! machine, when. Snippets with words also get a Korean twin in `generated/ko/`, which the Korean
//! edition reads instead (the translation holds the token, never the number).

use std::path::Path;

use lenet_tutor::{Error, Result};

/// The snippets of one chapter, each between mdBook's `ANCHOR: name` / `ANCHOR_END: name` lines.
pub struct Generated {
    chapter: &'static str,
    snippets: Vec<(String, String)>,
    korean: Vec<(String, String)>,
}

impl Generated {
    pub fn new(chapter: &'static str) -> Self {
        Self { chapter, snippets: Vec::new(), korean: Vec::new() }
    }

    /// Records the text the chapter shows at `anchor` (a number, a sentence or table rows).
    pub fn set(&mut self, anchor: &str, text: impl Into<String>) {
        self.snippets.push((anchor.to_string(), text.into()));
    }

    /// Like [`Generated::set`] for a snippet with words: `english` for the book, `korean` for the
    /// Korean edition.
    pub fn set_words(&mut self, anchor: &str, english: impl Into<String>, korean: impl Into<String>) {
        self.set(anchor, english);
        self.korean.push((anchor.to_string(), korean.into()));
    }

    /// Writes `book/src/generated/<chapter>.md` and `book/src/generated/ko/<chapter>.md` (the
    /// snippets with words, in Korean), with the provenance as a snippet of its own too.
    pub fn write(&self, book_src: &Path) -> Result<()> {
        let (machine, date) = (machine(), today());
        let command = "`cargo run --release --example figures`";
        let english = format!("Measured by {command} on {machine}, {date}.");
        let korean = format!("측정: {command}, {}, {date}.", machine_in_korean(&machine));
        let dir = book_src.join("generated");
        write_file(&dir, self.chapter, &machine, &date, &english, &self.snippets)?;
        write_file(&dir.join("ko"), self.chapter, &machine, &date, &korean, &self.korean)
    }
}

fn write_file(
    dir: &Path,
    chapter: &str,
    machine: &str,
    date: &str,
    provenance: &str,
    snippets: &[(String, String)],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut text = format!(
        "<!-- Written by `cargo run --release --example figures` on {machine}, {date}. Do not edit: rerun the command. -->\n"
    );
    let provenance = ("provenance".to_string(), provenance.to_string());
    for (anchor, snippet) in std::iter::once(&provenance).chain(snippets) {
        text.push_str(&format!("<!-- ANCHOR: {anchor} -->\n{snippet}\n<!-- ANCHOR_END: {anchor} -->\n"));
    }
    let path = dir.join(format!("{chapter}.md"));
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    println!("wrote {}", path.display());
    Ok(())
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

/// `machine()` with its thread count in Korean: "… (2 threads)" → "… (스레드 2개)".
fn machine_in_korean(machine: &str) -> String {
    match machine.rsplit_once(" (") {
        Some((cpu, rest)) => match rest.strip_suffix(" threads)") {
            Some(threads) => format!("{cpu} (스레드 {threads}개)"),
            None => machine.to_string(),
        },
        None => machine.to_string(),
    }
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
