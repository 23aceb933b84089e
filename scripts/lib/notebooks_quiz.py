"""The book's end-of-chapter questions in a notebook: each `{{#quiz ID}}` ... `{{#end-quiz}}` block
(book/preprocessor/src/quiz.rs describes the format; quiz_syntax.rs is the parser the book and the
crate's tests/quiz_keys.rs use) becomes plain Markdown: the question, its options, and the answer with
its explanation folded in a <details> the reader opens after answering. Only what the notebook needs
is read here; a malformed block never reaches a notebook, since the book's build rejects it first.
"""

from __future__ import annotations

import re

BLOCK = re.compile(r"^\{\{#quiz ([a-z0-9][a-z0-9-]*)\}\}[ \t]*$(.*?)^\{\{#end-quiz\}\}[ \t]*$", re.S | re.M)
ANSWER = re.compile(r"^\{\{#answer ([^}\s]+)\}\}[ \t]*$", re.M)
RIGHT = re.compile(r"^([-*+] +)(.*?) *\{\{#right\}\}[ \t]*$", re.M)
OPTION = re.compile(r"^[-*+] +", re.M)

# The same words as the book's widget (quiz.rs, `words`).
ANSWER_WORD = {"en": "Answer", "ko": "정답"}


class QuizError(Exception):
    pass


def expand(text: str, edition: str) -> str:
    """`text` with every question block as Markdown with a folded answer."""
    def one(m: re.Match) -> str:
        quiz_id, body = m.group(1), m.group(2).strip("\n")
        number = ANSWER.search(body)
        right = RIGHT.search(body)
        if bool(number) == bool(right):
            raise QuizError(f"question `{quiz_id}`: needs exactly one `{{{{#right}}}}` option or one "
                            f"`{{{{#answer N}}}}` line")
        if number:
            answer = number.group(1)
            question, explanation = body[:number.start()], body[number.end():]
        else:
            answer = right.group(2)
            body = RIGHT.sub(r"\1\2", body)
            last_option = list(OPTION.finditer(body))[-1]
            end = body.find("\n\n", last_option.start())
            end = len(body) if end < 0 else end
            question, explanation = body[:end], body[end:]
        return (f"{question.strip()}\n\n<details><summary>{ANSWER_WORD[edition]}</summary>\n\n"
                f"**{ANSWER_WORD[edition]}:** {answer}. {explanation.strip()}\n\n</details>")
    return BLOCK.sub(one, text)


def self_test() -> list[tuple[str, bool]]:
    choice = ("A\n\n{{#quiz c}}\n\n**1.** Q?\n\n- 1\n- 2 {{#right}}\n\nBecause. See [P](#p).\n\n"
              "{{#end-quiz}}\n\nB\n")
    number = "{{#quiz n}}\n\nHow many?\n\n{{#answer 156}}\n\nSix times 26.\n\n{{#end-quiz}}\n"
    return [
        ("quiz: a choice question folds its answer",
         expand(choice, "en") == "A\n\n**1.** Q?\n\n- 1\n- 2\n\n<details><summary>Answer</summary>\n\n"
                                 "**Answer:** 2. Because. See [P](#p).\n\n</details>\n\nB\n"),
        ("quiz: a number question, in Korean",
         expand(number, "ko") == "How many?\n\n<details><summary>정답</summary>\n\n"
                                 "**정답:** 156. Six times 26.\n\n</details>\n"),
    ]
