#!/usr/bin/env python3
"""mdBook preprocessor for a translated edition: undoes Markdown escapes inside math.

mdbook-gettext rebuilds each translated chapter from parsed Markdown, and its Markdown writer does
not know `$...$` is TeX: it escapes the characters Markdown would read as emphasis, so `$j_{in}$`
comes back as `$j\\_{in}$` and `$\\text{fan}_\\text{in}$` as `$\\text{fan}\\_\\\\text{in}$`, which
KaTeX then renders as a literal underscore or rejects. Inside `$...$` and `$$...$$` this
preprocessor turns `\\_`, `\\*` and `\\\\` back into `_`, `*` and `\\` (the book's TeX uses none of
those three as TeX). It runs after gettext and before KaTeX, and only when book.language is not
English: the English chapters never went through that writer.
"""
import json
import re
import sys

MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
ESCAPE = re.compile(r"\\([_*\\])")


def unescape(content):
    return MATH.sub(lambda m: ESCAPE.sub(r"\1", m.group(0)), content)


def walk(items):
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if chapter is not None:
            chapter["content"] = unescape(chapter["content"])
            walk(chapter.get("sub_items", []))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0)
    context, book = json.load(sys.stdin)
    if (context["config"]["book"].get("language") or "en") != "en":
        walk(book.get("items", book.get("sections", [])))
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
