//! For a translated edition: undoes Markdown escapes inside math.
//!
//! mdbook-gettext rebuilds each translated chapter from parsed Markdown, and its Markdown writer does
//! not know `$...$` is TeX: it escapes the characters Markdown would read as emphasis, so `$j_{in}$`
//! comes back as `$j\_{in}$` and `$\text{fan}_\text{in}$` as `$\text{fan}\_\\text{in}$`, which KaTeX
//! then renders as a literal underscore or rejects. Inside `$...$` and `$$...$$` this turns `\_`,
//! `\*` and `\\` back into `_`, `*` and `\` (the book's TeX uses none of those three as TeX). It runs
//! after gettext and before KaTeX, and only when book.language is not English: the English chapters
//! never went through that writer.

use std::sync::LazyLock;

use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::Regex;

static MATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)\$\$.+?\$\$|\$[^$\n]+?\$").unwrap());
static ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\([_*\\])").unwrap());

pub struct MathEscapes;

impl Preprocessor for MathEscapes {
    fn name(&self) -> &str {
        "math-escapes"
    }

    fn run(&self, context: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        if super::language(context) != "en" {
            super::map_chapters(&mut book, |content, _| Ok(unescape(content)))?;
        }
        Ok(book)
    }
}

/// `content` with the escapes inside its math undone.
pub fn unescape(content: &str) -> String {
    MATH.replace_all(content, |m: &regex::Captures| ESCAPE.replace_all(&m[0], "$1").into_owned()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_inside_math_go_and_outside_stay() {
        assert_eq!(unescape(r"$j\_{in}$ and a\_b"), r"$j_{in}$ and a\_b");
        assert_eq!(unescape(r"$\text{fan}\_\\text{in}$"), r"$\text{fan}_\text{in}$");
        assert_eq!(unescape("$$\na\\*b\n$$ \\*x\\*"), "$$\na*b\n$$ \\*x\\*");
        // A lone dollar sign (prices, shell prompts) is not math.
        assert_eq!(unescape(r"costs \$5, a\_b"), r"costs \$5, a\_b");
    }
}
