#!/usr/bin/env python3
"""Generates the notebooks from the book's chapters, or checks that the committed ones are current.

    python3 scripts/lib/notebooks_generate.py --generate   (scripts/notebooks --generate)
    python3 scripts/lib/notebooks_generate.py --check      (scripts/notebooks --check)
    python3 scripts/lib/notebooks_generate.py --self-test  (its own cases; --check runs them too)

One notebook per chapter (ch01 to ch08, from book/src/SUMMARY.md) and per edition:
  * English, notebooks/en/NN-name.ipynb, from book/src/chNN-name.md;
  * Korean, notebooks/ko/NN-name.ipynb, from book/ko/chNN-name.md, which `scripts/book --update-po`
    writes from po/ko.po (a Korean message changes the notebook only after that).
The chapter's text is expanded the way the book's build expands it ({{#include}} of the exercises,
{{#generated FILE:ANCHOR}} from book/src/generated/ with the Korean twin first, the Korean edition's
math escapes undone), then cut into cells:
  * prose, headings, math, tables, figures and captions, and every block that is not a runnable
    listing (```rust,ignore quotes and exercises, ```python, ```sh, ```text) -> markdown cells, split at
    headings; images point at book/src/figures/, links to chapters at the other notebooks, links to
    other pages at the book's Markdown file;
  * every runnable ```rust listing -> a code cell for the evcxr kernel: without the doctest's hidden
    `fn main` wrapper and the hidden lines that only serve the doctest (the output check, assertions,
    comments, a `let` nothing else uses), with the hidden setup lines it needs shown; its statements
    run inside `{ ... }` (as the doctest's run inside `fn main`: evcxr cannot keep a closure or a
    borrowing variable between cells); a listing that saves a figure ends with the figure, which
    evcxr shows inline; ```rust,no_run keeps its function wrapper (the cell defines the function, as
    the doctest only compiles it);
  * the ```text output block after a listing is not repeated as markdown: it is the cell's output
    once executed, and the cell's metadata holds it (`lenet_tutor.listing.expected_output`, with the
    `varies` patterns of the listing's check) for scripts/lib/notebooks_run.py to compare.
--generate keeps the outputs of code cells whose source did not change. --check regenerates in memory
and fails, naming the chapter and the command, when a committed notebook's cells differ (outputs and
execution metadata are not compared), when one is missing, or when notebooks/en|ko holds one no
chapter makes. Standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks_quiz  # noqa: E402  (the end-of-chapter questions)

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
EDITIONS = {
    # edition: (chapter folder, notebook folder, book_output label prefix)
    "en": (BOOK / "src", NOTEBOOKS / "en", ""),
    "ko": (BOOK / "ko", NOTEBOOKS / "ko", "ko/"),
}
GENERATE_COMMAND = "scripts/notebooks --generate"

TEXT = {
    "en": {
        "intro": ("*Chapter {n} of the book, [{title}]({page}), as a notebook. It is generated from the "
                  "chapter (`{command}`): edit the chapter, not this file.*\n\n"
                  "Run the cells from the top, on the Rust kernel (evcxr). The first one compiles the crate "
                  "and candle: minutes the first time, seconds once evcxr's cache has them. Each listing "
                  "runs as the book shows it, inside `{{ … }}` as the book's run inside `fn main`, so its "
                  "variables are its own; change a line and run the cell again."),
        "threads": "// One fixed thread count for candle, before the first tensor (chapter 8).",
        "figure": "// In a notebook, `evcxr_display` shows the figure under the cell:",
    },
    "ko": {
        "intro": ("*책의 {n}장 [{title}]({page})의 노트북판입니다. 장에서 생성되므로"
                  "(`{command}`) 이 파일이 아니라 장을 고치세요. 한국어 장(`book/ko/`)은 "
                  "`scripts/book --update-po`가 `po/ko.po`에서 씁니다.*\n\n"
                  "Rust 커널(evcxr)에서 셀을 위에서부터 실행하세요. 첫 셀은 크레이트와 candle을 "
                  "컴파일합니다. 처음에는 몇 분이 걸리고, evcxr의 캐시에 들어간 뒤에는 몇 초면 됩니다. "
                  "각 코드는 책에 나온 그대로, 책의 코드가 `fn main` 안에서 실행되듯 `{{ … }}` 안에서 "
                  "실행되므로 변수는 그 셀의 것입니다. 한 줄을 바꾸고 셀을 다시 실행해 보세요."),
        "threads": "// candle이 쓸 스레드 수를 첫 텐서보다 먼저 고정합니다(8장).",
        "figure": "// 노트북에서는 `evcxr_display`가 셀 아래에 그림을 보여 줍니다:",
    },
}

KERNELSPEC = {"display_name": "Rust", "language": "rust", "name": "rust"}
LANGUAGE_INFO = {"codemirror_mode": "rust", "file_extension": ".rs", "mimetype": "text/rust",
                 "name": "Rust", "pygment_lexer": "rust", "version": ""}


class GenerateError(Exception):
    pass


# --- the book's expansions ------------------------------------------------------------------------

GENERATED_TOKEN = re.compile(r"\{\{#generated ([^}:\s]+)(?::([A-Za-z0-9_]+))?\}\}")
COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")
INCLUDE_TOKEN = re.compile(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
MATH_ESCAPE = re.compile(r"\\([_*\\])")


def generated_anchor(text: str, anchor: str) -> str | None:
    """book/preprocessor/src/generated.rs: the lines between the anchor's two comments."""
    a = re.escape(anchor)
    start = re.search(rf"<!--\s*ANCHOR:\s*{a}\s*-->[ \t]*\n", text)
    end = re.search(rf"\n?[ \t]*<!--\s*ANCHOR_END:\s*{a}\s*-->", text)
    if not start or not end or end.start() < start.end():
        return None
    return text[start.end():end.start()]


def generated_one(name: str, anchor: str | None, edition: str) -> str:
    """One {{#generated}} token: the Korean twin first in the Korean edition, then the file."""
    base = BOOK / "src" / "generated"
    candidates = ([base / edition / name] if edition != "en" else []) + [base / name]
    last_error = None
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if anchor is None:
            lines = [l for l in text.split("\n") if not COMMENT_LINE.match(l)]
            return "\n".join(lines).strip("\n")
        found = generated_anchor(text, anchor)
        if found is not None:
            return found
        last_error = f"{path.relative_to(ROOT)}: no anchor `{anchor}`"
    raise GenerateError(last_error or f"no file {(base / name).relative_to(ROOT)}")


def expand_generated(content: str, edition: str, chapter: str) -> str:
    def one(m: re.Match) -> str:
        try:
            return generated_one(m.group(1), m.group(2), edition)
        except GenerateError as e:
            raise GenerateError(f"{chapter}: {m.group(0)}: {e}") from None
    return GENERATED_TOKEN.sub(one, content)


def include_lines(path: Path, spec: str | None) -> str:
    """mdBook's {{#include FILE}}, {{#include FILE:ANCHOR}} and {{#include FILE:START:END}}."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if spec is None:
        return "\n".join(lines)
    if re.fullmatch(r"\d*(:\d*)?", spec):
        start, _, end = spec.partition(":")
        lo = int(start) - 1 if start else 0
        hi = int(end) if end else len(lines)
        return "\n".join(lines[max(lo, 0):hi])
    begin = re.compile(rf"ANCHOR:\s*{re.escape(spec)}\b")
    finish = re.compile(rf"ANCHOR_END:\s*{re.escape(spec)}\b")
    kept, inside, seen = [], False, False
    for line in lines:
        if not inside and begin.search(line):
            inside = seen = True
            continue
        if inside and finish.search(line):
            break
        if inside and not re.search(r"ANCHOR(_END)?:", line):
            kept.append(line)
    if not seen:
        raise GenerateError(f"{path.relative_to(ROOT)}: no anchor `{spec}`")
    return "\n".join(kept)


def expand_includes(content: str, chapter_dir: Path, chapter: str) -> str:
    def one(m: re.Match) -> str:
        target = m.group(2)
        file, _, spec = target.partition(":")
        path = chapter_dir / file
        if not path.is_file():
            raise GenerateError(f"{chapter}: {m.group(0)}: no file {path.relative_to(ROOT)}")
        body = include_lines(path, spec or None)
        # rustdoc_include shows the selected lines; the rest of the file would be hidden lines.
        return body
    return INCLUDE_TOKEN.sub(one, content)


def unescape_math(content: str) -> str:
    """book/preprocessor/src/math_escapes.rs, for the Korean edition."""
    return MATH.sub(lambda m: MATH_ESCAPE.sub(r"\1", m.group(0)), content)


# --- Markdown: blocks -----------------------------------------------------------------------------

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^`\s]*)\s*$")


@dataclass
class Block:
    kind: str  # "prose" or "code"
    lines: list[str]
    info: str = ""  # the fence's info string, e.g. "rust,ignore"
    fence: str = ""  # the opening fence, e.g. "```"
    line: int = 0  # 1-based line of the opening fence (code) or first line (prose)


def split_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    prose: list[str] = []
    prose_start = 1
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if not prose:
                prose_start = i + 1
            prose.append(lines[i])
            i += 1
            continue
        if prose:
            blocks.append(Block("prose", prose, line=prose_start))
            prose = []
        fence, info = m.group(1), m.group(2)
        closing = re.compile("^" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        if j == len(lines):
            raise GenerateError(f"line {i + 1}: the code block never ends")
        blocks.append(Block("code", lines[i + 1:j], info=info, fence=fence, line=i + 1))
        i = j + 1
    if prose:
        blocks.append(Block("prose", prose, line=prose_start))
    return blocks


def fence_for(body: list[str], info: str) -> list[str]:
    """A fenced block for a markdown cell, its fence longer than any backtick run inside."""
    longest = max([len(r) for line in body for r in re.findall(r"`+", line)] + [2])
    ticks = "`" * max(3, longest + 1)
    return [ticks + info] + body + [ticks]


# --- Rust listings --------------------------------------------------------------------------------

CHECK_CALL = re.compile(r'book_output::check\(\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*&\[(.*)\]\s*\)\s*;')


def rust_string_literals(text: str) -> list[str]:
    """The string literals of a Rust list like `r"a\\S+", "b\\n"`, decoded."""
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
    while i < len(text):
        c = text[i]
        if c in " ,\t\n":
            i += 1
            continue
        m = re.match(r'r(#*)"', text[i:])
        if m:
            hashes = m.group(1)
            end = text.index('"' + hashes, i + len(m.group(0)))
            out.append(text[i + len(m.group(0)):end])
            i = end + 1 + len(hashes)
            continue
        if c == '"':
            j, value = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    nxt = text[j + 1]
                    if nxt in simple:
                        value.append(simple[nxt])
                        j += 2
                    elif nxt == "u":
                        close = text.index("}", j)
                        value.append(chr(int(text[j + 3:close], 16)))
                        j = close + 1
                    elif nxt == "x":
                        value.append(chr(int(text[j + 2:j + 4], 16)))
                        j += 4
                    else:
                        raise GenerateError(f"unknown escape \\{nxt} in {text!r}")
                else:
                    value.append(text[j])
                    j += 1
            out.append("".join(value))
            i = j + 1
            continue
        raise GenerateError(f"cannot read the `varies` list {text!r}")
    return out


def hidden_split(line: str) -> tuple[bool, str]:
    """rustdoc's hidden lines: `# x` and `#` are hidden; `##x` shows as `#x`."""
    stripped = line.lstrip()
    indent = line[:len(line) - len(stripped)]
    if stripped.startswith("##"):
        return False, indent + stripped[1:]
    if stripped == "#":
        return True, ""
    if stripped.startswith("# "):
        return True, indent + stripped[2:]
    return False, line


def depth_change(line: str) -> int:
    """Bracket depth change of a line, ignoring strings, chars and // comments (roughly)."""
    depth, i, n = 0, 0, len(line)
    while i < n:
        c = line[i]
        if line.startswith("//", i):
            break
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", line[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", line[i:]).group(0)) - 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    return depth


IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
KEYWORDS = {"let", "mut", "ref", "_"}


def let_names(statement: str) -> set[str]:
    m = re.match(r"\s*let\s+(.*?)(?::[^=]*)?=", statement, re.S)
    if not m:
        return set()
    return {n for n in IDENT.findall(m.group(1)) if n not in KEYWORDS and not n[0].isupper()}


@dataclass
class Listing:
    code: str
    check: tuple[str, str, list[str]] | None  # (chapter, label, varies)
    tags: list[str] = field(default_factory=list)
    dropped: int = 0  # hidden lines left out


def listing_to_cell(body: list[str], info: str, edition: str, where: str) -> Listing:
    attrs = set(info.split(",")[1:])
    parsed = [hidden_split(l) for l in body]
    check = None
    for hidden, text in parsed:
        m = CHECK_CALL.search(text)
        if m:
            if not hidden:
                raise GenerateError(f"{where}: the output check is not a hidden line")
            check = (m.group(1), m.group(2), rust_string_literals(m.group(3)))

    if "no_run" in attrs:
        # The doctest only compiles it: the hidden wrapper is a function with parameters the
        # listing uses. The cell defines that function, shown whole, its body indented.
        return Listing(code=no_run_cell([t for _, t in parsed]), check=check)

    # Drop the `fn main` wrapper (its hidden first line and its hidden `Ok(()) }`) and the check.
    drop: set[int] = set()
    mains = [i for i, (h, t) in enumerate(parsed) if h and re.fullmatch(r"\s*fn main\(\)\s*(->\s*[^{]+)?\{\s*", t)]
    if len(mains) > 1:
        raise GenerateError(f"{where}: two hidden `fn main` lines")
    if mains:
        drop.add(mains[0])
        tail = [i for i, (h, t) in enumerate(parsed) if t.strip()][-2:]
        last = tail[-1]
        if parsed[last][0] and re.fullmatch(r"\s*Ok(::<[^>]*>)?\(\(\)\)\s*\}\s*", parsed[last][1]):
            drop.add(last)
        elif (len(tail) == 2 and all(parsed[i][0] for i in tail) and parsed[last][1].strip() == "}"
              and re.fullmatch(r"\s*Ok(::<[^>]*>)?\(\(\)\)\s*", parsed[tail[0]][1])):
            drop.update(tail)
        else:
            raise GenerateError(f"{where}: a hidden `fn main` whose hidden `Ok(()) }}` end is not the "
                                f"listing's last line")
    drop.update(i for i, (h, t) in enumerate(parsed) if h and CHECK_CALL.search(t))
    kept = [line for i, line in enumerate(parsed) if i not in drop]
    dropped = len(drop)

    # Hidden statements: group consecutive hidden lines by bracket depth.
    statements: list[dict] = []  # {"hidden": bool, "lines": [...], "kind": ...}
    current = None
    depth = 0
    for hidden, text in kept:
        if not hidden:
            statements.append({"hidden": False, "lines": [text]})
            current = None
            continue
        if current is None:
            current = {"hidden": True, "lines": []}
            statements.append(current)
            depth = 0
        current["lines"].append(text)
        depth += depth_change(text)
        if depth <= 0 and (text.rstrip().endswith((";", "}")) or text.strip().startswith("//")
                           or not text.strip()):
            current = None
    for s in statements:
        if not s["hidden"]:
            continue
        joined = "\n".join(s["lines"])
        first = joined.strip()
        if first.startswith("//") or not first:
            s["keep"] = False
        elif first.startswith("use "):
            s["keep"] = True
        elif "CARGO_MANIFEST_DIR" in joined:
            s["keep"] = False  # reads the repository's files to check the chapter: the doctest's job
        elif first.startswith("let "):
            s["keep"] = None  # decided below: kept when something kept uses what it binds
            s["names"] = let_names(joined)
        elif re.search(r"\b(debug_)?assert(_eq|_ne)?!", joined):
            s["keep"] = False
        else:
            s["keep"] = True

    def used_text() -> str:
        return "\n".join(l for s in statements if (not s["hidden"] or s.get("keep")) for l in s["lines"])

    changed = True
    while changed:
        changed = False
        text = used_text()
        idents = set(IDENT.findall(text))
        for s in statements:
            if s["hidden"] and s.get("keep") is None and s["names"] & idents:
                s["keep"] = True
                changed = True
    lines = []
    for s in statements:
        if s["hidden"] and not s.get("keep"):
            dropped += len(s["lines"])
            continue
        lines.extend(s["lines"])
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    # Two blank lines where hidden lines were: one.
    squeezed: list[str] = []
    for line in lines:
        if not line.strip() and squeezed and not squeezed[-1].strip():
            continue
        squeezed.append(line)
    lines = squeezed

    tags = []
    if "should_panic" in attrs:
        tags.append("raises-exception")
    lines, figure = show_figure(lines, edition)
    if figure:
        tags.append("figure")
    return Listing(code="\n".join(in_block(lines, False)), check=check, tags=tags, dropped=dropped)


def no_run_cell(lines: list[str]) -> str:
    out, in_body, opened = [], False, False
    body_end = max(i for i, l in enumerate(lines) if l.strip()) if lines else -1
    for i, line in enumerate(lines):
        if not in_body:
            out.append(line)
            if re.match(r"\s*(pub\s+)?fn\s", line):
                opened = True
            if opened and line.rstrip().endswith("{"):
                in_body = True
            continue
        if i == body_end and line.rstrip().endswith("}") and line.strip() != "}":
            out.append("    " + line.rstrip()[:-1].rstrip())
            out.append("}")
        elif i == body_end and line.strip() == "}":
            out.append("}")
        else:
            out.append(("    " + line) if line.strip() else "")
    return "\n".join(out).strip("\n")


def show_figure(lines: list[str], edition: str) -> tuple[list[str], bool]:
    """A listing that saves a figure (`x.save(... ".png" ...)`) ends by showing it: `x.evcxr_display()`.

    Explicitly, not as the cell's value: evcxr shows a value through `evcxr_display` only when it can
    name its type, and inside the cell's block it sometimes falls back to `Debug` (the PNG's bytes).
    """
    saved = None
    for line in lines:
        m = re.match(r"\s*(.+?)\.save\((.*)\)\?;", line)
        if not m or not re.search(r'\.(png|svg)"', m.group(2)):
            continue
        saved = m.group(1).strip()  # `figure`, or the expression that made it
    if saved is None:
        return lines, False
    return lines + [TEXT[edition]["figure"], f"{saved}.evcxr_display();"], True


def in_block(lines: list[str], ends_with_value: bool) -> list[str]:
    """The listing's statements inside `{ ... }`, its `use` lines before it.

    evcxr keeps each top-level variable of a cell for the next cells, and refuses a cell whose
    variables it cannot keep: a closure, a value that borrows (`let pixels = splits.train.image(0)`),
    a type it cannot name. The book's listings run inside `fn main`, where none of that matters; in a
    block they run the same way (evcxr's own advice). The block ends with `;` so that evcxr shows no
    `()`, unless it ends with a figure, which it then shows.
    """
    head = 0
    in_use = False
    while head < len(lines):
        line = lines[head]
        if in_use or line.startswith("use "):
            in_use = not re.sub(r"\s*//.*$", "", line).rstrip().endswith(";")
        elif line.strip():
            break
        head += 1
    uses, body = lines[:head], lines[head:]
    while uses and not uses[-1].strip():
        uses.pop()
    block = ["{"] + [("    " + l) if l.strip() else "" for l in body] + ["}" if ends_with_value else "};"]
    return uses + ([""] if uses else []) + block


# --- Markdown: prose ------------------------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+\{\s*#([A-Za-z0-9_-]+)\s*\})?\s*$")
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)")


def mdbook_id(heading: str) -> str:
    """mdBook's id of a heading (utils::normalize_id on the heading's text)."""
    text = LINK.sub(lambda m: m.group(2), heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    out = []
    for ch in text:
        if ch.isalnum() or ch in "_-":
            out.append(ch.lower() if ch.isascii() else ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


@dataclass
class Context:
    edition: str
    chapter: str  # file name, e.g. ch01-convolution.md
    notebooks: dict[str, str]  # chapter file -> notebook file
    site_url: str | None

    def book_page(self, page: str, fragment: str) -> str:
        if self.site_url:
            base = self.site_url.rstrip("/") + "/" + ("ko/" if self.edition == "ko" else "")
            return base + page[:-3] + ".html" + fragment
        folder = EDITIONS[self.edition][0]
        if not (folder / page).is_file():
            folder = BOOK / "src"
        return "../../" + (folder / page).relative_to(ROOT).as_posix() + fragment


def rewrite_links(text: str, ctx: Context) -> str:
    def one(m: re.Match) -> str:
        bang, label, target = m.group(1), m.group(2), m.group(3)
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return m.group(0)
        path, hash_, fragment = target.partition("#")
        fragment = hash_ + fragment
        if bang or path.startswith("figures/"):
            if not (BOOK / "src" / path).is_file():
                raise GenerateError(f"{ctx.chapter}: no image book/src/{path}")
            return f"{bang}[{label}](../../book/src/{path}{fragment})"
        if path.endswith(".md"):
            page = path.split("/")[-1]
            if page in ctx.notebooks:
                return f"[{label}]({ctx.notebooks[page]}{fragment})"
            if not (BOOK / "src" / page).is_file():
                raise GenerateError(f"{ctx.chapter}: a link to {target}, which is not a page of the book")
            return f"[{label}]({ctx.book_page(page, fragment)})"
        return m.group(0)
    # A link may hold code spans in its text; a code span that looks like a link keeps its text.
    spans = [m.span() for m in re.finditer(r"(`+)[^`]*?\1", text)]

    def outside_code(m: re.Match) -> str:
        if any(a < m.start() < b for a, b in spans):
            return m.group(0)
        return one(m)
    return LINK.sub(outside_code, text)


def prose_lines(lines: list[str], ctx: Context, seen_ids: dict[str, int]) -> list[str]:
    out = []
    for line in lines:
        if COMMENT_LINE.match(line):
            continue  # notes for the book's maintainers
        m = HEADING.match(line)
        if m:
            level, title, explicit = m.groups()
            ident = explicit or mdbook_id(title)
            if ident in seen_ids:
                seen_ids[ident] += 1
                ident = f"{ident}-{seen_ids[ident]}"
            else:
                seen_ids[ident] = 0
            out.append(f'{level} {title} <a id="{ident}"></a>')
            continue
        out.append(line)
    # Links, also those whose text goes over a line break.
    return rewrite_links("\n".join(out), ctx).split("\n")


# --- one chapter ----------------------------------------------------------------------------------

@dataclass
class Chapter:
    number: int
    file: str  # ch01-convolution.md
    notebook: str  # 01-convolution.ipynb


def chapters() -> list[Chapter]:
    summary = (BOOK / "src" / "SUMMARY.md").read_text(encoding="utf-8")
    found = []
    for file in re.findall(r"\]\((ch(\d\d)-[a-z0-9-]+\.md)\)", summary):
        name, number = file
        found.append(Chapter(int(number), name, name[2:-3] + ".ipynb"))
    found.sort(key=lambda c: c.number)
    if not found:
        raise GenerateError("book/src/SUMMARY.md lists no chNN-*.md chapter")
    return found


def read_toml(path: Path) -> dict:
    """tomllib (Python 3.11+), or on an older Python the little this script reads: `key = "value"`
    and `key = { version = "..." }` lines, by [section]."""
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
        return tomllib.loads(text)
    except ImportError:
        pass
    config: dict = {}
    section = config
    for line in text.split("\n"):
        line = re.sub(r"\s+#.*$", "", line).strip()
        header = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
        if header:
            section = config
            for part in header.group(1).split("."):
                section = section.setdefault(part, {})
            continue
        m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"', line)
        if m:
            section[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*\{.*?\bversion\s*=\s*"([^"]*)".*\}', line)
        if m:
            section[m.group(1)] = {"version": m.group(2)}
    return config


def site_url() -> str | None:
    config = read_toml(BOOK / "book.toml")
    url = config.get("output", {}).get("html", {}).get("site-url")
    return url if url and re.match(r"https?://", url) else None


def cargo_dependencies() -> dict[str, str]:
    config = read_toml(ROOT / "Cargo.toml")
    deps = {}
    for name, spec in config.get("dependencies", {}).items():
        version = spec if isinstance(spec, str) else spec.get("version")
        if version:
            deps[name.replace("-", "_")] = (name, version)
    return deps


def extern_crates(code: str, deps: dict) -> set[str]:
    """Crates a cell names by path (`tempfile::tempdir()`) without importing them through a `use`
    of lenet_tutor: the notebook needs a `:dep` for them."""
    needed = set()
    for name in set(re.findall(r"(?<![\w:])([a-z_][a-z0-9_]*)::", code)):
        if name not in deps or name == "lenet_tutor":
            continue
        imported = any(re.search(rf"\b{name}\b", l) for l in code.split("\n") if l.lstrip().startswith("use "))
        if not imported:
            needed.add(name)
    return needed


# `<summary>`, blank line, `Solution`, blank line, `</summary>` (as the chapters write it, for
# mdBook): JupyterLab makes the word a paragraph of its own, below the disclosure triangle. One line.
SPREAD_SUMMARY = re.compile(r"<summary>[ \t]*\n(?:[ \t]*\n)*[ \t]*([^\n<]*?\S)[ \t]*\n(?:[ \t]*\n)*[ \t]*</summary>")


def markdown_cell(lines: list[str]) -> dict | None:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return None
    source = SPREAD_SUMMARY.sub(r"<summary>\1</summary>", "\n".join(lines))
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def chapter_text(chapter: Chapter, edition: str) -> tuple[str, Path]:
    folder = EDITIONS[edition][0]
    path = folder / chapter.file
    if not path.is_file():
        hint = " (scripts/book --update-po writes book/ko/ from po/ko.po)" if edition == "ko" else ""
        raise GenerateError(f"{path.relative_to(ROOT)} is missing{hint}")
    text = path.read_text(encoding="utf-8")
    text = expand_includes(text, BOOK / "src", str(path.relative_to(ROOT)))
    text = expand_generated(text, edition, str(path.relative_to(ROOT)))
    if edition != "en":
        text = unescape_math(text)
    try:
        text = notebooks_quiz.expand(text, edition)
    except notebooks_quiz.QuizError as e:
        raise GenerateError(f"{path.relative_to(ROOT)}: {e}") from None
    return text, path


def generate(chapter: Chapter, edition: str, all_chapters: list[Chapter], stats: dict) -> dict:
    text, path = chapter_text(chapter, edition)
    rel = path.relative_to(ROOT).as_posix()
    label_prefix = EDITIONS[edition][2]
    ctx = Context(edition, chapter.file, {c.file: c.notebook for c in all_chapters}, site_url())
    blocks = split_blocks(text)

    # The chapter's title (its first heading) goes into the first cell.
    title = None
    first = blocks[0] if blocks else None
    if first and first.kind == "prose":
        for i, line in enumerate(first.lines):
            if line.strip():
                m = HEADING.match(line)
                if m and len(m.group(1)) == 1:
                    title = m.group(2)
                    first.lines = first.lines[i + 1:]
                break
    if title is None:
        raise GenerateError(f"{rel}: the chapter does not start with a `# Title` line")

    page = ctx.book_page(chapter.file, "")
    intro = TEXT[edition]["intro"].format(n=chapter.number, title=title, page=page, command=GENERATE_COMMAND)
    cells: list[dict] = [{"cell_type": "markdown", "metadata": {},
                          "source": f"# {chapter.number} · {title}\n\n{intro}"}]
    deps = cargo_dependencies()
    setup_index = len(cells)
    cells.append(None)  # the :dep cell, filled in once the listings are known
    cells.append({"cell_type": "code", "metadata": {"lenet_tutor": {"setup": True}},
                  "source": f"{TEXT[edition]['threads']}\nlenet_tutor::device::set_threads(None);"})

    pending: list[str] = []
    seen_ids: dict[str, int] = {}
    details = 0
    listing_number = 0
    extra_deps: set[str] = set()
    counts = {"runnable": 0, "code_cells": 0, "checked": 0, "ignored": 0, "dropped_hidden": 0,
              "figures": 0}
    expecting_output_for: dict | None = None

    def flush():
        nonlocal pending
        cell = markdown_cell(pending)
        if cell:
            cells.append(cell)
        pending = []

    for block in blocks:
        if block.kind == "prose":
            lines = prose_lines(block.lines, ctx, seen_ids)
            for line in lines:
                if HEADING.match(line) and details == 0 and any(l.strip() for l in pending):
                    flush()
                details += len(re.findall(r"<details\b", line)) - len(re.findall(r"</details>", line))
                pending.append(line)
            if any(l.strip() for l in block.lines):
                expecting_output_for = None
            continue

        lang = block.info.split(",")[0]
        attrs = set(block.info.split(",")[1:])
        where = f"{rel}:{block.line}"
        if block.info == "text" and expecting_output_for is not None:  # as book_output.rs reads it
            meta = expecting_output_for
            meta["expected_output"] = "\n".join(block.lines) + ("\n" if block.lines else "")
            expecting_output_for = None
            continue  # the cell's output, once executed
        expecting_output_for = None
        if lang == "rust" and not attrs & {"ignore", "compile_fail"}:
            if details:
                raise GenerateError(f"{where}: a runnable listing inside <details>: the notebook cannot "
                                    f"put a code cell there")
            listing_number += 1
            listing = listing_to_cell(block.lines, block.info, edition, where)
            flush()
            meta: dict = {"chapter": rel, "line": block.line, "number": listing_number}
            if listing.check:
                chapter_label, label, varies = listing.check
                if chapter_label != label_prefix + chapter.file:
                    raise GenerateError(f"{where}: the output check names {chapter_label!r}, "
                                        f"not {label_prefix + chapter.file!r}")
                meta.update({"label": label, "varies": varies})
                expecting_output_for = meta
            if "no_run" in attrs:
                meta["no_run"] = True
            cell_meta: dict = {"lenet_tutor": {"listing": meta}}
            if listing.tags:
                cell_meta["tags"] = listing.tags
            cells.append({"cell_type": "code", "metadata": cell_meta, "source": listing.code})
            extra_deps |= extern_crates(listing.code, deps)
            counts["runnable"] += 1
            counts["code_cells"] += 1
            counts["dropped_hidden"] += listing.dropped
            counts["figures"] += "figure" in listing.tags
            continue
        # Everything else is shown, as the book shows it.
        if lang == "rust":
            counts["ignored"] += 1
        info = "rust" if lang == "rust" else block.info
        body = block.lines
        pending.extend(fence_for(body, info))

    flush()
    for cell in cells:
        if cell and cell["cell_type"] == "code":
            meta = cell["metadata"].get("lenet_tutor", {}).get("listing")
            if meta and "label" in meta and "expected_output" not in meta:
                raise GenerateError(f"{rel}:{meta['line']}: listing {meta['label']} checks its output, "
                                    f"but no ```text block follows it")
            if meta and "label" in meta:
                counts["checked"] += 1

    dep_lines = [':dep lenet-tutor = { path = "../.." }']
    for name in sorted(extra_deps):
        crate, version = deps[name]
        dep_lines.append(f':dep {crate} = "{version}"')
    cells[setup_index] = {"cell_type": "code", "metadata": {"lenet_tutor": {"setup": True}},
                          "source": "\n".join(dep_lines)}

    figures = any("figure" in c["metadata"].get("tags", []) for c in cells if c["cell_type"] == "code")
    prefix = f"{edition}{chapter.number:02d}"
    notebook_cells = []
    for i, cell in enumerate(cells):
        cell = dict(cell)
        cell["id"] = f"{prefix}-{i:03d}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        notebook_cells.append(cell)
    stats[(edition, chapter.notebook)] = dict(counts, cells=len(notebook_cells),
                                              code_cells_total=sum(c["cell_type"] == "code" for c in notebook_cells),
                                              extra_deps=sorted(extra_deps))
    return {
        "cells": notebook_cells,
        "metadata": {
            "kernelspec": KERNELSPEC,
            "language_info": LANGUAGE_INFO,
            "lenet_tutor": {
                "chapter": rel,
                "edition": edition,
                "figures": figures,
                "generated_by": GENERATE_COMMAND,
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# --- files ----------------------------------------------------------------------------------------

def to_json(nb: dict) -> str:
    """The notebook as nbformat writes it (sorted keys, indent 1, sources as lists of lines)."""
    def split(cell: dict) -> dict:
        cell = dict(cell)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
        return cell
    nb = dict(nb, cells=[split(c) for c in nb["cells"]])
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def source_of(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def comparable(nb: dict) -> list:
    """What --check compares: cell types, sources and metadata (without execution timings), and the
    notebook's own lenet_tutor metadata. Outputs, execution counts and the kernel's language_info
    are left out."""
    cells = []
    for cell in nb.get("cells", []):
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k not in ("execution", "collapsed", "scrolled")}
        cells.append((cell.get("cell_type"), cell.get("id"), source_of(cell), json.dumps(meta, sort_keys=True)))
    return [json.dumps(nb.get("metadata", {}).get("lenet_tutor"), sort_keys=True), cells]


def keep_outputs(new: dict, old: dict) -> None:
    """Code cells whose source and metadata did not change keep their outputs (--generate)."""
    pool: dict[tuple, list] = {}
    for cell in old.get("cells", []):
        if cell.get("cell_type") == "code":
            key = (source_of(cell), json.dumps(cell.get("metadata", {}).get("lenet_tutor"), sort_keys=True))
            pool.setdefault(key, []).append(cell)
    for cell in new["cells"]:
        if cell["cell_type"] != "code":
            continue
        key = (source_of(cell), json.dumps(cell["metadata"].get("lenet_tutor"), sort_keys=True))
        if pool.get(key):
            previous = pool[key].pop(0)
            cell["outputs"] = previous.get("outputs", [])
            cell["execution_count"] = previous.get("execution_count")
    for key in ("language_info",):
        if key in old.get("metadata", {}):
            new["metadata"][key] = old["metadata"][key]


def first_difference(new: dict, old: dict) -> str:
    a, b = comparable(new), comparable(old)
    if a[0] != b[0]:
        return "the notebook's metadata (lenet_tutor) differs"
    for i, (x, y) in enumerate(zip(a[1], b[1])):
        if x != y:
            what = "source" if x[2] != y[2] else "cell type, id or metadata"
            diff = list(difflib.unified_diff(y[2].split("\n"), x[2].split("\n"), "committed", "from the chapter",
                                             lineterm="", n=1))
            shown = "\n".join("      " + l for l in diff[:14]) + ("\n      ..." if len(diff) > 14 else "")
            return f"cell {i} ({x[0]}): its {what} differs" + (f"\n{shown}" if diff else "")
    return f"{len(b[1])} cells committed, {len(a[1])} from the chapter"


def check_links(notebooks: dict[str, dict], edition: str, all_names: set[str]) -> list[str]:
    """Every link to a notebook of the same edition, with or without a #fragment, must land: the
    notebook exists and has that anchor (the headings' `<a id>`). Links into a notebook that could
    not be made (`all_names` minus `notebooks`) are not judged."""
    anchors = {}
    for name, nb in notebooks.items():
        ids = set()
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                ids |= set(re.findall(r'<a id="([^"]+)"></a>', source_of(cell)))
        anchors[name] = ids
    problems = []
    for name, nb in notebooks.items():
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for _, _, target in LINK.findall(source_of(cell)):
                path, _, fragment = target.partition("#")
                if re.match(r"[a-z][a-z0-9+.-]*:", path) or (path and not path.endswith(".ipynb")):
                    continue
                page = path or name
                if page in all_names and page not in anchors:
                    continue
                if page not in anchors:
                    problems.append(f"notebooks/{edition}/{name}: a link to {target}: no such notebook "
                                    f"(the chapters are the notebooks of book/src/SUMMARY.md)")
                elif fragment and fragment not in anchors[page]:
                    problems.append(f"notebooks/{edition}/{name}: a link to {target} leads nowhere: "
                                    f"{page} has no heading with that id")
    return problems


def self_test(verbose: bool) -> int:
    """Cases of the listing transform and the link rewriting, on made-up chapters' text."""
    listing = [
        "use lenet_tutor::Tensor;",
        "",
        "# fn main() -> lenet_tutor::Result<()> {",
        '# let _output = lenet_tutor::book_output::check("ch09-x.md", "7", &[r"\\d+ ms", "a\\tb"]);',
        "# let device = lenet_tutor::device::auto();",
        "# let unused = 3; // only the assertion below reads it",
        "# // a note for the maintainers",
        "# let image = Tensor::new(",
        "#     &[1f32, 2.],",
        "#     &device,",
        "# )?;",
        "let figure = make(&image)?;",
        'figure.save(dir.join("x.png"))?;',
        "# assert_eq!(unused, 3);",
        "# Ok(()) }",
    ]
    got = listing_to_cell(listing, "rust", "en", "test")
    no_run = listing_to_cell(["# use a::B;", "# fn demo(b: &B) -> lenet_tutor::Result<()> {", "b.go()?;",
                              "# Ok(()) }"], "rust,no_run", "en", "test")
    ctx = Context("en", "ch09-x.md", {"ch03-conv-layer.md": "03-conv-layer.ipynb"}, None)
    links = rewrite_links("[a](ch03-conv-layer.md#padding), ![f](figures/ch01-conv1d.svg), "
                          "`[x](y.md)`, [b](#here), [c](https://x.org/a.md)", ctx)
    cases = [
        ("the check is read, with its varies list", got.check == ("ch09-x.md", "7", [r"\d+ ms", "a\tb"])),
        ("the wrapper and the check go", "fn main" not in got.code and "book_output" not in got.code
         and "Ok(())" not in got.code),
        ("setup lines the listing needs are shown", "let device = lenet_tutor::device::auto();" in got.code
         and "    let image = Tensor::new(\n        &[1f32, 2.]," in got.code),
        ("doctest-only lines go", "unused" not in got.code and "assert" not in got.code
         and "maintainers" not in got.code),
        ("uses stay outside the block", got.code.startswith("use lenet_tutor::Tensor;\n\n{\n")),
        ("a saved figure ends the block, shown", got.code.endswith("    figure.evcxr_display();\n};") and got.tags == ["figure"]),
        ("no_run keeps its function", no_run.code == "use a::B;\nfn demo(b: &B) -> lenet_tutor::Result<()> {\n"
         "    b.go()?;\n    Ok(())\n}"),
        ("chapter links go to notebooks", "[a](03-conv-layer.ipynb#padding)" in links),
        ("images go to book/src/figures", "![f](../../book/src/figures/ch01-conv1d.svg)" in links),
        ("code spans, fragments and web links stay", "`[x](y.md)`" in links and "[b](#here)" in links
         and "[c](https://x.org/a.md)" in links),
        ("mdBook heading ids", mdbook_id("LeNet's sizes: 28 → 24") == "lenets-sizes-28--24"
         and mdbook_id("The `fit` loop, *again*") == "the-fit-loop-again"),
        ("generated anchors", generated_anchor("<!-- ANCHOR: a -->\n1 %\n<!-- ANCHOR_END: a -->\n", "a") == "1 %"),
        ("math escapes undone (Korean)", unescape_math(r"$j\_{in}$ a\_b") == r"$j_{in}$ a\_b"),
        ("a <summary> on one line", markdown_cell(["<details><summary>", "", "풀이", "", "</summary>", "", "x"])
         ["source"] == "<details><summary>풀이</summary>\n\nx"),
        *notebooks_quiz.self_test(),
    ]
    failed = [name for name, ok in cases if not ok]
    if verbose or failed:
        for name, ok in cases:
            print(("ok   " if ok else "FAIL ") + name)
        if failed:
            print(got.code, no_run.code, links, sep="\n---\n")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import book_output
    if book_output.self_test() if verbose else _quiet(book_output.self_test):
        failed.append("book_output")
    return 1 if failed else 0


def _quiet(function) -> int:
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = function()
    if code:
        print(buffer.getvalue(), end="")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--generate", action="store_true", help="write notebooks/en and notebooks/ko")
    mode.add_argument("--check", action="store_true", help="fail when a committed notebook is stale")
    mode.add_argument("--self-test", action="store_true", help="the transform's own cases")
    parser.add_argument("--stats", action="store_true", help="print cells and listings per notebook")
    args = parser.parse_args()
    if args.self_test:
        return self_test(verbose=True)
    if args.check and self_test(verbose=False):
        print("error: the generator's own cases fail (above): fix scripts/lib/notebooks_generate.py "
              "or scripts/lib/book_output.py first", file=sys.stderr)
        return 1

    stats: dict = {}
    stale: list[str] = []  # --check: notebooks out of step with their chapter
    errors: list[str] = []  # chapters that cannot be made into a notebook (a missing file, ...)
    written = unchanged = 0
    try:
        all_chapters = chapters()
    except GenerateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for edition, (_, folder, _) in EDITIONS.items():
        made: dict[str, dict] = {}
        for chapter in all_chapters:
            try:
                made[chapter.notebook] = generate(chapter, edition, all_chapters, stats)
            except GenerateError as e:
                errors.append(f"{edition}/{chapter.notebook}: {e}")
        errors.extend(check_links(made, edition, {c.notebook for c in all_chapters}))
        for chapter in all_chapters:
            nb = made.get(chapter.notebook)
            if nb is None:
                continue
            target = folder / chapter.notebook
            old = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else None
            if args.generate:
                if old is not None:
                    keep_outputs(nb, old)
                text = to_json(nb)
                if old is not None and target.read_text(encoding="utf-8") == text:
                    unchanged += 1
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                written += 1
                continue
            rel = target.relative_to(ROOT).as_posix()
            source_rel = nb["metadata"]["lenet_tutor"]["chapter"]
            origin = (f"{source_rel} (which `scripts/book --update-po` writes from po/ko.po)"
                      if edition == "ko" else source_rel)
            if old is None:
                stale.append(f"{rel} is missing: chapter {chapter.number} ({origin}) has no notebook")
            elif comparable(nb) != comparable(old):
                stale.append(f"{rel} is stale: chapter {chapter.number}, {origin}, changed since it "
                             f"was generated; {first_difference(nb, old)}")
        if folder.is_dir():
            wanted = {c.notebook for c in all_chapters}
            for extra in sorted(p.name for p in folder.glob("*.ipynb") if p.name not in wanted):
                msg = (f"{(folder / extra).relative_to(ROOT)} comes from no chapter of "
                       f"book/src/SUMMARY.md; remove it (git rm)")
                if args.generate:
                    print(f"warning: {msg}", file=sys.stderr)
                else:
                    stale.append(msg)

    if args.stats or args.generate:
        for (edition, name), s in stats.items():
            print(f"  {edition}/{name}: {s['cells']} cells, {s['code_cells_total']} code "
                  f"({s['runnable']} listings, {s['checked']} with an output block), "
                  f"{s['ignored']} rust,ignore shown as text, {s['figures']} figure(s) inline"
                  + (f", :dep {', '.join(s['extra_deps'])}" if s["extra_deps"] else ""))
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if args.generate:
        print(f"{written} notebook(s) written, {unchanged} unchanged (notebooks/en, notebooks/ko); "
              f"code cells whose source changed have no outputs until `scripts/notebooks --update`"
              + (f"; {len(errors)} error(s) above" if errors else ""))
        return 1 if errors else 0
    for p in stale:
        print(f"error: {p}", file=sys.stderr)
    if stale:
        print(f"error: {len(stale)} notebook(s) out of step with the book. Fix: {GENERATE_COMMAND} "
              f"(then `scripts/notebooks --update` to execute the changed cells and commit the outputs). "
              f"The Korean notebooks come from book/ko/, which `scripts/book --update-po` writes from "
              f"po/ko.po: after a change to po/ko.po run that first.", file=sys.stderr)
    if stale or errors:
        return 1
    print(f"notebooks current: {len(stats)} notebooks match the chapters (notebooks/en, notebooks/ko)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
