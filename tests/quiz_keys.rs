//! The answer keys of the book's end-of-chapter questions ("Check yourself", chapters 1–7) are the
//! crate's: every key is computed here with `lenet_tutor` and compared with the English chapter,
//! and the Korean chapter (book/ko/, written from po/ko.po) must have the same questions with the
//! same keys. A key typed wrong in a chapter, or a translation that moved one, fails `cargo test`.
//!
//! The blocks are parsed by the same code that renders them in the book (the `quiz` preprocessor's
//! `quiz_syntax.rs`, included below); the format is described in book/preprocessor/src/quiz.rs.

#[allow(dead_code)] // the preprocessor uses more of it than this test
#[path = "../book/preprocessor/src/quiz_syntax.rs"]
mod quiz_syntax;

use std::path::{Path, PathBuf};

use quiz_syntax::{Answer, Quiz};

#[path = "quiz_keys/keys.rs"]
mod keys;

/// The chapters with questions, by file name (the same in both editions).
fn chapters() -> Vec<String> {
    let dir = book().join("src");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("ch0") && name.ends_with(".md"))
        .filter(|name| ("ch01".."ch08").contains(&&name[..4]))
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "chapters 1–7 in {}: {names:?}", dir.display());
    names
}

fn book() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book")
}

fn questions(edition: &str, chapter: &str) -> Vec<Quiz> {
    let path = book().join(edition).join(chapter);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    quiz_syntax::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What is wrong with an English chapter's keys: one line per question.
fn check_keys(chapter: &str, quizzes: &[Quiz]) -> Vec<String> {
    let mut problems = Vec::new();
    for quiz in quizzes {
        let Some((_, compute)) = keys::KEYS.iter().find(|(id, _)| *id == quiz.id) else {
            problems
                .push(format!("{chapter}: `{}` has no key computation in tests/quiz_keys/keys.rs", quiz.id));
            continue;
        };
        match compute() {
            Ok(key) if key == quiz.answer.text() => {}
            Ok(key) => problems.push(format!(
                "{chapter}: `{}`: the chapter's answer is {:?}, the crate computes {key:?}",
                quiz.id,
                quiz.answer.text()
            )),
            Err(e) => problems.push(format!("{chapter}: `{}`: computing the key failed: {e}", quiz.id)),
        }
    }
    problems
}

/// What differs between the English questions and their translation: the ids and their order, the
/// kind, the number of options, the right option or the number.
fn check_translation(chapter: &str, english: &[Quiz], korean: &[Quiz]) -> Vec<String> {
    let ids = |quizzes: &[Quiz]| quizzes.iter().map(|q| q.id.clone()).collect::<Vec<_>>();
    if ids(english) != ids(korean) {
        return vec![format!(
            "{chapter}: the questions differ: English {:?}, Korean {:?}",
            ids(english),
            ids(korean)
        )];
    }
    let mut problems = Vec::new();
    for (en, ko) in english.iter().zip(korean) {
        let same = match (&en.answer, &ko.answer) {
            (Answer::Choice { options: a, right: i }, Answer::Choice { options: b, right: j }) => {
                a.len() == b.len() && i == j
            }
            (Answer::Number(a), Answer::Number(b)) => a == b,
            _ => false,
        };
        if !same {
            problems.push(format!(
                "{chapter}: `{}`: the Korean key {:?} is not the English {:?} (fix it in po/ko.po, then scripts/book --update-po)",
                en.id, ko.answer, en.answer
            ));
        }
    }
    problems
}

#[test]
fn every_answer_key_is_what_the_crate_computes() {
    let mut problems = Vec::new();
    let mut used = Vec::new();
    for chapter in chapters() {
        let quizzes = questions("src", &chapter);
        if !(3..=6).contains(&quizzes.len()) {
            problems.push(format!("{chapter}: {} questions; each chapter 1–7 has 3 to 6", quizzes.len()));
        }
        problems.extend(check_keys(&chapter, &quizzes));
        used.extend(quizzes.into_iter().map(|q| q.id));
    }
    for (id, _) in keys::KEYS {
        if !used.iter().any(|u| u == id) {
            problems.push(format!("tests/quiz_keys/keys.rs computes `{id}`, which no chapter asks"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_korean_questions_have_the_english_keys() {
    let mut problems = Vec::new();
    for chapter in chapters() {
        problems.extend(check_translation(&chapter, &questions("src", &chapter), &questions("ko", &chapter)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check can fail: move a choice question's `{{#right}}` to the next option, or add one to a
/// number question's answer, in a real chapter, and both checks name that question.
#[test]
fn a_changed_answer_key_fails_the_check() {
    let mut changed_choice = false;
    let mut changed_number = false;
    for chapter in chapters() {
        let text = std::fs::read_to_string(book().join("src").join(&chapter)).unwrap();
        let english = quiz_syntax::parse(&text).unwrap();
        for quiz in &english {
            let wrong_text = match &quiz.answer {
                Answer::Choice { options, right } if !changed_choice => {
                    changed_choice = true;
                    let next = (right + 1) % options.len();
                    move_right_mark(&text, &quiz.id, &options[*right], &options[next])
                }
                Answer::Number(n) if !changed_number => {
                    changed_number = true;
                    let wrong = format!("{}", n.parse::<f64>().unwrap() + 1.0);
                    text.replacen(&format!("{{{{#answer {n}}}}}"), &format!("{{{{#answer {wrong}}}}}"), 1)
                }
                _ => continue,
            };
            let changed = quiz_syntax::parse(&wrong_text).unwrap();
            let by_crate = check_keys(&chapter, &changed);
            assert!(
                by_crate.len() == 1 && by_crate[0].contains(&quiz.id),
                "changing the key of `{}` gave {by_crate:?}",
                quiz.id
            );
            let by_translation = check_translation(&chapter, &english, &changed);
            assert!(
                by_translation.len() == 1 && by_translation[0].contains(&quiz.id),
                "changing the key of `{}` gave {by_translation:?}",
                quiz.id
            );
        }
    }
    assert!(changed_choice && changed_number, "the chapters have no choice or no number question to change");
}

/// `text` with the `{{#right}}` of question `id` moved from option `from` to option `to`.
fn move_right_mark(text: &str, id: &str, from: &str, to: &str) -> String {
    let start = text.find(&format!("{{{{#quiz {id}}}}}")).unwrap();
    let end = start + text[start..].find("{{#end-quiz}}").unwrap();
    let block = text[start..end]
        .lines()
        .map(|line| {
            let item = line.trim_start_matches(['-', '*', '+', ' ']);
            if item == format!("{from} {{{{#right}}}}") {
                line.replace(" {{#right}}", "")
            } else if item == to {
                format!("{line} {{{{#right}}}}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{}{block}{}", &text[..start], &text[end..])
}
