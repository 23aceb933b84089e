//! Expands `{{#generated FILE:ANCHOR}}` with numbers measured by long runs.
//!
//! The numbers a reader sees after a long run (accuracies, timings, benchmark tables) are written by
//! the program that measured them into `book/src/generated/FILE`, between mdBook anchors
//! (`<!-- ANCHOR: name -->` … `<!-- ANCHOR_END: name -->`). Chapters quote them with
//! `{{#generated FILE:ANCHOR}}` (or `{{#generated FILE}}` for the whole file, comment lines dropped).
//!
//! Why not mdBook's own `{{#include}}`: that one is expanded before the Korean translation (the
//! gettext preprocessor) runs, so every measured number would land inside a translated sentence, and
//! each rerun of a benchmark would make those sentences "fuzzy" in po/ko.po. This token is expanded
//! after the translation: the PO file holds the token, never the number. In the Korean edition
//! (book.language "ko") it reads `generated/ko/FILE` first, where the generators write the anchors
//! that contain words in Korean; anchors of numbers only have no Korean twin and come from
//! `generated/FILE`. A token naming a missing file or anchor fails the build.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, bail};
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::{Captures, Regex};

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{#generated ([^}:\s]+)(?::([A-Za-z0-9_]+))?\}\}").unwrap());
static COMMENT_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*<!--.*-->\s*$").unwrap());

pub struct Generated;

impl Preprocessor for Generated {
    fn name(&self) -> &str {
        "generated"
    }

    fn run(&self, context: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        let dir = context.root.join(&context.config.book.src).join("generated");
        let language = super::language(context);
        super::map_chapters(&mut book, |content, chapter| expand(content, &dir, &language, chapter))?;
        Ok(book)
    }
}

/// `content` with every token replaced; `dir` is `book/src/generated`.
pub fn expand(content: &str, dir: &Path, language: &str, chapter: &str) -> anyhow::Result<String> {
    let mut error = None;
    let expanded = TOKEN.replace_all(content, |token: &Captures| {
        let (name, anchor) = (&token[1], token.get(2).map(|a| a.as_str()));
        match one(dir, language, name, anchor) {
            Ok(text) => text,
            Err(e) => {
                error.get_or_insert_with(|| e.context(format!("{chapter}: {}", &token[0])));
                String::new()
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(expanded.into_owned()),
    }
}

/// The text of one token: the Korean twin first in the Korean edition, then the file itself.
fn one(dir: &Path, language: &str, name: &str, anchor: Option<&str>) -> anyhow::Result<String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if language != "en" {
        candidates.push(dir.join(language).join(name));
    }
    candidates.push(dir.join(name));
    let mut last_error = None;
    for path in candidates.iter().filter(|p| p.is_file()) {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        match anchor {
            None => return Ok(whole_file(&text)),
            Some(anchor) => match anchor_text(&text, anchor) {
                Some(found) => return Ok(found.to_string()),
                None => last_error = Some(format!("{}: no anchor `{anchor}`", path.display())),
            },
        }
    }
    match last_error {
        Some(e) => bail!(e),
        None => bail!("no file {}", dir.join(name).display()),
    }
}

/// The lines between `<!-- ANCHOR: anchor -->` and `<!-- ANCHOR_END: anchor -->`.
fn anchor_text<'a>(text: &'a str, anchor: &str) -> Option<&'a str> {
    let anchor = regex::escape(anchor);
    let start = Regex::new(&format!(r"<!--\s*ANCHOR:\s*{anchor}\s*-->[ \t]*\n")).ok()?.find(text)?;
    let end = Regex::new(&format!(r"\n?[ \t]*<!--\s*ANCHOR_END:\s*{anchor}\s*-->")).ok()?.find(text)?;
    (end.start() >= start.end()).then(|| &text[start.end()..end.start()])
}

/// A whole file without its comment lines (anchors, the "written by" line).
fn whole_file(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !COMMENT_LINE.is_match(l)).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ko")).unwrap();
        let file = "<!-- Written by a run. -->\n<!-- ANCHOR: acc -->\n97.40 %\n<!-- ANCHOR_END: acc -->\n\
                    <!-- ANCHOR: words -->\n3 seconds\n<!-- ANCHOR_END: words -->\n";
        std::fs::write(dir.path().join("ch06.md"), file).unwrap();
        let korean = "<!-- ANCHOR: words -->\n3초\n<!-- ANCHOR_END: words -->\n";
        std::fs::write(dir.path().join("ko/ch06.md"), korean).unwrap();
        dir
    }

    #[test]
    fn tokens_expand_per_edition_and_fall_back_to_the_numbers() {
        let dir = generated_dir();
        let text = "It reached {{#generated ch06.md:acc}} in {{#generated ch06.md:words}}.";
        assert_eq!(expand(text, dir.path(), "en", "ch06").unwrap(), "It reached 97.40 % in 3 seconds.");
        // Korean: the words from the twin, the number-only anchor from the English file.
        assert_eq!(expand(text, dir.path(), "ko", "ch06").unwrap(), "It reached 97.40 % in 3초.");
        assert_eq!(expand("{{#generated ch06.md}}", dir.path(), "en", "c").unwrap(), "97.40 %\n3 seconds");
    }

    #[test]
    fn a_missing_file_or_anchor_is_an_error_naming_the_chapter() {
        let dir = generated_dir();
        let err = expand("{{#generated ch06.md:nope}}", dir.path(), "en", "ch06.md").unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("ch06.md: {{#generated ch06.md:nope}}") && err.contains("no anchor `nope`"),
            "{err}"
        );
        let err = format!("{:#}", expand("{{#generated none.md}}", dir.path(), "ko", "x").unwrap_err());
        assert!(err.contains("no file") && err.contains("none.md"), "{err}");
        // Text without tokens is left alone.
        assert_eq!(
            expand("no {{#include x}} here", dir.path(), "en", "x").unwrap(),
            "no {{#include x}} here"
        );
    }
}
