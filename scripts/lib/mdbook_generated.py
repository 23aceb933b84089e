#!/usr/bin/env python3
"""mdBook preprocessor: expands `{{#generated FILE:ANCHOR}}` with measured numbers.

The numbers a reader sees after a long run (accuracies, timings, benchmark tables) are written by the
program that measured them into `book/src/generated/FILE`, between mdBook anchors
(`<!-- ANCHOR: name -->` … `<!-- ANCHOR_END: name -->`). Chapters quote them with
`{{#generated FILE:ANCHOR}}` (or `{{#generated FILE}}` for the whole file, anchor lines dropped).

Why not mdBook's own `{{#include}}`: that one is expanded before the Korean translation (the gettext
preprocessor) runs, so every measured number would land inside a translated sentence, and each rerun
of a benchmark would make those sentences "fuzzy" in po/ko.po. This token is expanded after the
translation: the PO file holds the token, never the number. In the Korean edition (book.language
"ko") it reads `generated/ko/FILE` first, where the generators write the anchors that contain words
in Korean; anchors of numbers only have no Korean twin and come from `generated/FILE`.

A token naming a missing file or anchor fails the build. Used from book.toml:
    [preprocessor.generated]
    command = "python3 ../scripts/lib/mdbook_generated.py"
"""
import json
import re
import sys
from pathlib import Path

TOKEN = re.compile(r"\{\{#generated ([^}:\s]+)(?::([A-Za-z0-9_]+))?\}\}")
ANCHOR_LINE = re.compile(r"^\s*<!--\s*ANCHOR(?:_END)?:\s*[A-Za-z0-9_]+\s*-->\s*$")
COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")


def anchor_text(text, anchor, where):
    start = re.search(rf"<!--\s*ANCHOR:\s*{re.escape(anchor)}\s*-->[ \t]*\n", text)
    end = re.search(rf"\n?[ \t]*<!--\s*ANCHOR_END:\s*{re.escape(anchor)}\s*-->", text)
    if not start or not end or end.start() < start.end():
        raise LookupError(f"{where}: no anchor `{anchor}`")
    return text[start.end() : end.start()]


def whole_file(text):
    lines = [l for l in text.splitlines() if not ANCHOR_LINE.match(l) and not COMMENT_LINE.match(l)]
    return "\n".join(lines).strip("\n")


def expand(content, generated, language, chapter):
    def one(match):
        name, anchor = match.group(1), match.group(2)
        candidates = [generated / language / name] if language != "en" else []
        candidates.append(generated / name)
        for path in candidates:
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            if anchor is None:
                return whole_file(text)
            try:
                return anchor_text(text, anchor, path)
            except LookupError:
                if path is candidates[-1]:
                    raise
        raise LookupError(f"{chapter}: {match.group(0)}: no file {generated / name}")

    return TOKEN.sub(one, content)


def walk(items, generated, language):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter is None:
            continue
        chapter["content"] = expand(chapter["content"], generated, language, chapter.get("path"))
        walk(chapter.get("sub_items", []), generated, language)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0)  # the output is Markdown: fine for every renderer
    context, book = json.load(sys.stdin)
    root = Path(context["root"])
    src = context["config"]["book"].get("src", "src")
    language = context["config"]["book"].get("language") or "en"
    try:
        walk(book.get("items", book.get("sections", [])), root / src / "generated", language)
    except LookupError as e:
        sys.exit(f"mdbook_generated: {e}")
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
