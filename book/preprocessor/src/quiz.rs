//! The end-of-chapter questions ("Check yourself"): `{{#quiz ID}}` … `{{#end-quiz}}` blocks.
//!
//! A question is written in the chapter as plain Markdown between two tokens, so gettext translates
//! its sentences like any other and the Markdown backend (book/ko/*.md) keeps the tokens:
//!
//! ```text
//! {{#quiz ch03-same-padding}}
//!
//! **1.** A 28×28 image and a 5×5 kernel: how much padding keeps the output 28×28?
//!
//! - 1
//! - 2 {{#right}}
//! - 4
//!
//! Each side needs (5 − 1) / 2 = 2 pixels. See [Padding](#padding).
//!
//! {{#end-quiz}}
//! ```
//!
//! A choice question lists its options, exactly one marked `{{#right}}`; a number question has an
//! `{{#answer N}}` line instead. What follows is the explanation (one or two sentences linking to
//! the section). This preprocessor turns each block into `<div class="quiz">` around the same
//! Markdown (so math, code and links render as everywhere else) with the answer key in data
//! attributes and the explanation below an "Answer: …" line; book/theme/quiz.js makes it a form
//! (radio buttons or a number box, a Check button, right/wrong and the explanation). Without
//! JavaScript, and in the PDF, the question shows its answer and explanation as text.
//!
//! The answer keys are not trusted: `quiz_keys.rs` (`cargo test`) computes each with the crate and
//! compares it with the English chapter, and the Korean chapter's keys with the English ones.
//! A malformed block (no `{{#end-quiz}}`, no or two right options, a number that is not one, a
//! repeated id) fails the build with the chapter and the question's id.

use anyhow::Context;
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::quiz_syntax::{Answer, Piece, Quiz, split};

/// The words around a question, in the edition's language.
struct Words {
    answer: &'static str,
    check: &'static str,
    right: &'static str,
    wrong: &'static str,
    choose: &'static str,
}

fn words(language: &str) -> Words {
    match language {
        "ko" => Words {
            answer: "정답",
            check: "확인",
            right: "맞았습니다.",
            wrong: "아닙니다.",
            choose: "먼저 답을 고르거나 입력하세요.",
        },
        _ => Words {
            answer: "Answer",
            check: "Check",
            right: "Right.",
            wrong: "Not quite.",
            choose: "Choose or type an answer first.",
        },
    }
}

pub struct Quizzes;

impl Preprocessor for Quizzes {
    fn name(&self) -> &str {
        "quiz"
    }

    fn run(&self, context: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        let words = words(&super::language(context));
        super::map_chapters(&mut book, |content, chapter| {
            render(content, &words).with_context(|| format!("{chapter}: a {{{{#quiz}}}} block"))
        })?;
        Ok(book)
    }
}

/// The chapter with each block as a `<div class="quiz">` around its Markdown.
fn render(content: &str, words: &Words) -> anyhow::Result<String> {
    let mut out = String::with_capacity(content.len() + 1024);
    for piece in split(content).map_err(anyhow::Error::msg)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Quiz(quiz) => render_quiz(&mut out, &quiz, words),
        }
    }
    Ok(out)
}

fn render_quiz(out: &mut String, quiz: &Quiz, words: &Words) {
    let (kind, key) = match &quiz.answer {
        Answer::Choice { right, .. } => ("choice", right.to_string()),
        Answer::Number(n) => ("number", n.clone()),
    };
    let attr = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    // Blank lines around each part: CommonMark ends an HTML block at a blank line, so the Markdown
    // in between is rendered as Markdown.
    out.push_str(&format!(
        "<div class=\"quiz\" id=\"quiz-{id}\" data-kind=\"{kind}\" data-key=\"{key}\" data-check=\"{check}\" \
         data-right=\"{right}\" data-wrong=\"{wrong}\" data-choose=\"{choose}\">\n\
         <div class=\"quiz-question\">\n\n{question}\n\n</div>\n",
        id = quiz.id,
        key = attr(&key),
        check = attr(words.check),
        right = attr(words.right),
        wrong = attr(words.wrong),
        choose = attr(words.choose),
        question = quiz.question,
    ));
    if let Answer::Choice { options, .. } = &quiz.answer {
        out.push_str("<div class=\"quiz-options\">\n\n");
        for option in options {
            out.push_str(&format!("- {option}\n"));
        }
        out.push_str("\n</div>\n");
    }
    out.push_str(&format!(
        "<div class=\"quiz-explanation\">\n\n**{answer}:** {text}. {explanation}\n\n</div>\n</div>\n",
        answer = words.answer,
        text = quiz.answer.text(),
        explanation = quiz.explanation,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quiz_syntax::parse;

    const CHOICE: &str = "Before.\n\n{{#quiz ch09-pad}}\n\n**1.** How much padding?\nKeep it 28×28.\n\n\
                          - 1\n- 2 {{#right}}\n- 4\n\nEach side needs 2. See [Padding](#padding).\n\n{{#end-quiz}}\n\nAfter.\n";

    #[test]
    fn a_choice_question_parses_and_renders_around_its_markdown() {
        let quizzes = parse(CHOICE).unwrap();
        assert_eq!(
            quizzes,
            [Quiz {
                id: "ch09-pad".into(),
                question: "**1.** How much padding?\nKeep it 28×28.".into(),
                answer: Answer::Choice { options: vec!["1".into(), "2".into(), "4".into()], right: 1 },
                explanation: "Each side needs 2. See [Padding](#padding).".into(),
            }]
        );
        let html = render(CHOICE, &words("en")).unwrap();
        assert!(html.starts_with(
            "Before.\n\n<div class=\"quiz\" id=\"quiz-ch09-pad\" data-kind=\"choice\" data-key=\"1\""
        ));
        assert!(html.contains("<div class=\"quiz-options\">\n\n- 1\n- 2\n- 4\n\n</div>"));
        assert!(html.contains("**Answer:** 2. Each side needs 2."));
        assert!(html.ends_with("</div>\n</div>\n\n\nAfter.\n"));
        assert!(!html.contains("{{#"));
        assert!(render(CHOICE, &words("ko")).unwrap().contains("**정답:** 2."));
    }

    #[test]
    fn a_number_question_and_the_writer_of_the_translation() {
        // mdbook-gettext's writer puts `*` before list items; a number question has no list.
        let text = "{{#quiz a}}\n\nHow many?\n\n{{#answer 156}}\n\nSix times 26.\n\n{{#end-quiz}}\n\
                    {{#quiz b}}\n\nWhich?\n\n* x {{#right}}\n* y\n\nBecause.\n\n{{#end-quiz}}\n";
        let quizzes = parse(text).unwrap();
        assert_eq!(quizzes[0].answer, Answer::Number("156".into()));
        assert_eq!(quizzes[1].answer, Answer::Choice { options: vec!["x".into(), "y".into()], right: 0 });
        assert!(render(text, &words("en")).unwrap().contains("data-kind=\"number\" data-key=\"156\""));
    }

    #[test]
    fn malformed_blocks_fail_with_the_question_named() {
        let cases = [
            ("{{#quiz a}}\n\nQ?\n\n- x\n- y\n\nWhy.\n", "`a` has no `{{#end-quiz}}`"),
            ("{{#quiz a}}\n\nQ?\n\n- x\n- y\n\nWhy.\n\n{{#end-quiz}}\n", "no option is marked"),
            (
                "{{#quiz a}}\n\nQ?\n\n- x {{#right}}\n- y {{#right}}\n\nWhy.\n\n{{#end-quiz}}\n",
                "more than one",
            ),
            ("{{#quiz a}}\n\nQ?\n\n{{#answer twelve}}\n\nWhy.\n\n{{#end-quiz}}\n", "is not a number"),
            ("{{#quiz a}}\n\nQ?\n\n{{#answer 1}}\n\n{{#end-quiz}}\n", "no explanation"),
            ("{{#quiz a}}\n\n- x {{#right}}\n- y\n\nWhy.\n\n{{#end-quiz}}\n", "no question text"),
            (
                "{{#quiz a}}\n\nQ?\n\n{{#answer 1}}\n\nW.\n\n{{#end-quiz}}\n{{#quiz a}}\n\nQ?\n\n{{#answer 1}}\n\nW.\n\n{{#end-quiz}}\n",
                "used twice",
            ),
            ("Text {{#right}} here.\n", "outside"),
            ("{{#quiz Bad_Id}}\n", "outside"),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
