//! The syntax of the end-of-chapter questions: `{{#quiz ID}}` … `{{#end-quiz}}` blocks, parsed.
//!
//! One parser for the two that read the blocks: the `quiz` preprocessor (quiz.rs), which renders
//! them, and the crate's `tests/quiz_keys.rs`, which computes every answer key with the crate and
//! compares (it includes this file with `#[path]`, so the file needs nothing but `std` and `regex`).
//! The format is described in quiz.rs. Errors are one line naming the question.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

type Result<T> = std::result::Result<T, String>;

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

static START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\{\{#quiz ([a-z0-9][a-z0-9-]*)\}\}$").unwrap());
static ANSWER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\{\{#answer ([^}\s]+)\}\}$").unwrap());
static OPTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[-*+] +(.*)$").unwrap());
const END: &str = "{{#end-quiz}}";
const RIGHT: &str = "{{#right}}";

/// One question as the chapter writes it (Markdown text, tokens removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Quiz {
    pub id: String,
    pub question: String,
    pub answer: Answer,
    pub explanation: String,
}

/// The answer key.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The options' Markdown and the index of the right one.
    Choice { options: Vec<String>, right: usize },
    /// The number, as written in `{{#answer N}}`.
    Number(String),
}

impl Answer {
    /// The right answer's Markdown: the right option, or the number.
    pub fn text(&self) -> &str {
        match self {
            Answer::Choice { options, right } => &options[*right],
            Answer::Number(n) => n,
        }
    }
}

/// A piece of a chapter: text outside the questions, or one question.
#[derive(Debug)]
pub enum Piece<'a> {
    Text(&'a str),
    Quiz(Quiz),
}

/// Splits a chapter into text and questions; every error names the question.
pub fn split(content: &str) -> Result<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut ids = HashSet::new();
    let mut text_start = 0;
    let mut lines = line_spans(content).peekable();
    while let Some((start, line)) = lines.next() {
        let Some(id) = START.captures(line.trim()).map(|c| c[1].to_string()) else {
            ensure!(
                !line.contains("{{#quiz")
                    && !line.contains(END)
                    && !line.contains(RIGHT)
                    && !line.contains("{{#answer"),
                "a quiz token outside a `{{{{#quiz ID}}}}` … `{END}` block, or a malformed one: {line:?}"
            );
            continue;
        };
        ensure!(ids.insert(id.clone()), "the id `{id}` is used twice");
        let mut body = Vec::new();
        let mut end = None;
        for (line_start, line) in lines.by_ref() {
            if line.trim() == END {
                end = Some(line_start + line.len());
                break;
            }
            ensure!(!line.contains("{{#quiz"), "`{id}`: a new {{{{#quiz}}}} before its `{END}`");
            body.push(line);
        }
        let end = end.ok_or_else(|| format!("`{id}` has no `{END}`"))?;
        pieces.push(Piece::Text(&content[text_start..start]));
        pieces.push(Piece::Quiz(parse_body(&id, &body).map_err(|e| format!("question `{id}`: {e}"))?));
        text_start = end;
    }
    pieces.push(Piece::Text(&content[text_start..]));
    Ok(pieces)
}

/// The questions of a chapter, in order.
#[allow(dead_code)] // the preprocessor renders through `split`; its tests and the crate's tests/quiz_keys.rs use this
pub fn parse(content: &str) -> Result<Vec<Quiz>> {
    Ok(split(content)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Quiz(quiz) => Some(quiz),
            Piece::Text(_) => None,
        })
        .collect())
}

/// (byte offset, line without its newline) for each line.
fn line_spans(content: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    content.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (start, line.trim_end_matches(['\n', '\r']))
    })
}

/// Question paragraph(s), then the options or the `{{#answer}}` line, then the explanation.
fn parse_body(id: &str, body: &[&str]) -> Result<Quiz> {
    #[derive(PartialEq)]
    enum Part {
        Question,
        Options,
        Explanation,
    }
    let (mut question, mut explanation) = (Vec::new(), Vec::new());
    let (mut options, mut right, mut number) = (Vec::<String>::new(), Vec::new(), None);
    let mut part = Part::Question;
    for &line in body {
        let trimmed = line.trim();
        if let Some(answer) = ANSWER.captures(trimmed) {
            ensure!(
                part == Part::Question && number.is_none(),
                "the `{{{{#answer}}}}` line must follow the question"
            );
            let value = answer[1].to_string();
            ensure!(value.parse::<f64>().is_ok(), "`{{{{#answer {value}}}}}` is not a number");
            number = Some(value);
            part = Part::Explanation;
        } else if let (Some(option), true) = (OPTION.captures(trimmed), part != Part::Explanation) {
            part = Part::Options;
            let mut text = option[1].trim().to_string();
            if let Some(stripped) = text.strip_suffix(RIGHT) {
                text = stripped.trim_end().to_string();
                right.push(options.len());
            }
            ensure!(!text.contains(RIGHT), "`{RIGHT}` must end its option");
            ensure!(!text.is_empty(), "an empty option");
            options.push(text);
        } else if trimmed.is_empty() {
            if part == Part::Options {
                part = Part::Explanation;
            }
            // A blank line between two paragraphs of the same part keeps them two paragraphs.
            let lines = if part == Part::Question { &mut question } else { &mut explanation };
            if lines.last().is_some_and(|l: &&str| !l.is_empty()) {
                lines.push("");
            }
        } else {
            ensure!(!trimmed.contains(RIGHT), "`{RIGHT}` outside an option");
            match part {
                Part::Question => question.push(trimmed),
                Part::Options => {
                    return Err(
                        "text right after the options: leave a blank line before the explanation".into()
                    );
                }
                Part::Explanation => explanation.push(trimmed),
            }
        }
    }
    let join = |lines: &[&str]| lines.join("\n").trim().to_string();
    let (question, explanation) = (join(&question), join(&explanation));
    ensure!(!question.is_empty(), "no question text");
    ensure!(!explanation.is_empty(), "no explanation after the answer");
    let answer = match (number, options.len(), right.as_slice()) {
        (Some(n), 0, _) => Answer::Number(n),
        (Some(_), _, _) => return Err("both options and an `{{#answer}}`".into()),
        (None, 0, _) => return Err("neither options nor an `{{#answer N}}` line".into()),
        (None, 1, _) => return Err("a single option is not a choice".into()),
        (None, _, [one]) => Answer::Choice { options, right: *one },
        (None, _, []) => return Err(format!("no option is marked `{RIGHT}`")),
        (None, _, _) => return Err(format!("more than one option is marked `{RIGHT}`")),
    };
    Ok(Quiz { id: id.to_string(), question, answer, explanation })
}
