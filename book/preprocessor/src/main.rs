//! `mdbook-lenet-tutor`: the book's mdBook preprocessors, as one small binary (built and put on
//! the PATH by `scripts/book`; book/book.toml names it). mdBook runs it as
//! `mdbook-lenet-tutor <preprocessor> supports <renderer>` to ask, then with the book as JSON on
//! stdin, and reads the changed book from stdout.
//!
//! | subcommand | file | what it does |
//! |---|---|---|
//! | `generated` | `generated.rs` | expands `{{#generated FILE:ANCHOR}}` with numbers measured by long runs |
//! | `math-escapes` | `math_escapes.rs` | undoes the Markdown escapes gettext's writer puts inside `$math$` |
//! | `quiz` | `quiz.rs` | turns each chapter's `{{#quiz ID}}` … `{{#end-quiz}}` question into the widget's HTML |
//!
//! | | `quiz_syntax.rs` | parses those blocks; the crate's `tests/quiz_keys.rs` uses the same file to check every answer key against the crate |

mod generated;
mod math_escapes;
mod quiz;
mod quiz_syntax;

use std::process::ExitCode;

use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preprocessor: Box<dyn Preprocessor> = match args.first().map(String::as_str) {
        Some("generated") => Box::new(generated::Generated),
        Some("math-escapes") => Box::new(math_escapes::MathEscapes),
        Some("quiz") => Box::new(quiz::Quizzes),
        _ => {
            eprintln!("usage: mdbook-lenet-tutor generated|math-escapes|quiz [supports RENDERER]");
            return ExitCode::from(2);
        }
    };
    if args.get(1).map(String::as_str) == Some("supports") {
        // All write Markdown (with HTML blocks): fine for every renderer.
        return ExitCode::SUCCESS;
    }
    match run(preprocessor.as_ref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mdbook-lenet-tutor {}: {e:#}", preprocessor.name());
            ExitCode::FAILURE
        }
    }
}

fn run(preprocessor: &dyn Preprocessor) -> anyhow::Result<()> {
    let (context, book) = mdbook_preprocessor::parse_input(std::io::stdin())?;
    let book = preprocessor.run(&context, book)?;
    serde_json::to_writer(std::io::stdout(), &book)?;
    Ok(())
}

/// The edition's language (`book.language`, "en" when unset).
fn language(context: &PreprocessorContext) -> String {
    context.config.book.language.clone().unwrap_or_else(|| "en".to_string())
}

/// Replaces every chapter's content with `f(content, chapter path)`; the first error stops.
fn map_chapters(
    book: &mut Book,
    mut f: impl FnMut(&str, &str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut result = Ok(());
    book.for_each_mut(|item| {
        if let (Ok(()), BookItem::Chapter(chapter)) = (&result, item) {
            let path = chapter.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            match f(&chapter.content, &path) {
                Ok(content) => chapter.content = content,
                Err(e) => result = Err(e),
            }
        }
    });
    result
}
