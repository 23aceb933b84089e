#!/usr/bin/env python3
"""Check a built mdBook's HTML without a browser (what needs one: book_browser_check.mjs).

Used by `scripts/book`; standard library only. Per page it fails on:
  * math left raw in the text (`$...$`, `$$`, `\\(`, `\\[` outside code and KaTeX) or a `.katex-error`;
  * fewer `.katex` elements than its chapter's markdown has math spans, or fewer
    `pre code.language-rust` blocks than the markdown has ```rust blocks (the Korean edition's
    pages, under ko/, against their translated chapters in book/ko/ with --src-ko);
  * a link, image, stylesheet or script naming a file of the book that does not exist, or an
    `#anchor` that its page lacks (and, in every stylesheet, a `url(...)` to a missing file);
  * an image, script, stylesheet or font loaded from the web (the book must work offline).
"""

import argparse
import posixpath
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NOT_PROSE = {"pre", "code", "script", "style", "textarea", "noscript", "katex", "katex-display"}
# A pair of single dollars in the Pandoc sense: no space after the opening one or before the
# closing one (so "$5 and $10" is prose, "$x^2$" is math).
RAW_MATH = re.compile(r"\$\$|\\\(|\\\[|(^|[^\\\w$])\$(?=\S)([^$\n]*?\S)?\$(?!\d)")


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # open elements: (tag, inside code or math)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.raw: list[str] = []
        self.katex = self.katex_errors = self.rust = 0
        self.base, self.in_body = "", False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        self.ids.update(v for k, v in a.items() if k == "id" or (tag == "a" and k == "name"))
        self.urls += [(tag, k, a[k]) for k in ("src", "href") if k in a]
        self.base = a.get("href", "") if tag == "base" else self.base
        self.in_body |= tag == "body"
        self.katex += "katex" in classes
        self.katex_errors += "katex-error" in classes
        self.rust += tag == "code" and "language-rust" in classes and [t for t, _ in self.stack[-1:]] == ["pre"]
        if tag not in VOID:
            skip = bool(NOT_PROSE & (classes | {tag})) or (bool(self.stack) and self.stack[-1][1])
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.in_body and not (self.stack and self.stack[-1][1]) and RAW_MATH.search(data):
            self.raw.append(data.strip()[:80])


# --- what the markdown promises ----------------------------------------------------------------

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^\n`]*)$")


def markdown_expectations(md: str) -> tuple[int, int]:
    """Returns (math spans, ```rust blocks) of a chapter's markdown, code excluded."""
    prose, rust_blocks = [], 0
    fence = None
    for line in md.splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(2)
            rust_blocks += m.group(3).strip().split(",")[0].split()[:1] == ["rust"]
            continue
        if fence is not None:
            if m and m.group(2).startswith(fence[0] * len(fence)) and not m.group(3).strip():
                fence = None
            continue
        if line.startswith("    ") and not line.strip().startswith(("-", "*", "$")):
            continue  # indented code block (a rough but safe rule for our chapters)
        prose.append(line)
    text = re.sub(r"(`+)(?:(?!\1).)+?\1", "", "\n".join(prose), flags=re.S)  # inline code
    text = text.replace("\\$", "")
    display = re.findall(r"\$\$.+?\$\$", text, flags=re.S)
    # mdbook-katex treats every unescaped pair of dollars as math (a literal dollar is `\$`).
    inline = re.findall(r"\$[^$]+?\$", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S))
    return len(display) + len(inline), rust_blocks


def chapter_sources(src: Path) -> dict[str, Path]:
    """Maps each html page (relative path) to the markdown it was rendered from."""
    pages: dict[str, Path] = {}
    for md in src.rglob("*.md"):
        rel = md.relative_to(src)
        if rel != Path("SUMMARY.md"):
            html = rel.with_name("index.html") if rel.name == "README.md" else rel.with_suffix(".html")
            pages[html.as_posix()] = md
    summary = src / "SUMMARY.md"
    if "index.html" not in pages and summary.is_file():
        # Without a README.md, mdBook copies the first chapter to index.html.
        first = re.search(r"\]\(\s*<?([^)>#\s]+\.md)", summary.read_text(encoding="utf-8"))
        if first and (src / first.group(1)).is_file():
            pages["index.html"] = src / first.group(1)
    return pages


# --- links ---------------------------------------------------------------------------------------

def check_url(root: Path, pages: dict[str, Page], where: str, url: str, resource: bool,
              later: frozenset[str] = frozenset()) -> str | None:
    """Returns what is wrong with `url`, found in the file `where` (relative to root), if anything.
    A file in `later` (relative to root) may be missing: scripts/book writes it only with an option."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") or parts.netloc:
        return f"loads {url} from the web (the book must work offline)" if resource else None
    if parts.scheme:
        return None  # mailto:, data:, javascript:
    path = unquote(parts.path)
    if path:
        path = posixpath.normpath(path[1:] if path.startswith("/") else posixpath.join(posixpath.dirname(where), path))
    else:
        path = where
    if path.startswith("../") or path == "..":
        return f"{url} points outside the book"
    file = root / path
    if file.is_dir():
        path, file = posixpath.join(path, "index.html"), file / "index.html"
    if not file.is_file():
        return None if path in later else f"{url}: no such file ({path})"
    if parts.fragment and path in pages and unquote(parts.fragment) not in pages[path].ids:
        return f"{url}: {path} has no #{unquote(parts.fragment)}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the HTML output directory (book/book/html)")
    parser.add_argument("--src", type=Path, required=True, help="the book's markdown directory")
    parser.add_argument("--src-ko", type=Path, help="the Korean edition's chapters (book/ko), for html/ko/")
    parser.add_argument("--built-later", action="append", default=[], metavar="PATH",
                        help="a file of the site that is only built with an option (the PDFs of scripts/book "
                        "--pdf), relative to HTML: a link to it is not an error while it is missing")
    args = parser.parse_args()
    root = args.html

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    if not files:
        print(f"error: no HTML pages under {root}; build the book first", file=sys.stderr)
        return 2
    pages = {rel: Page((root / rel).read_text(encoding="utf-8")) for rel in files}
    sources = chapter_sources(args.src)
    if args.src_ko:
        sources |= {f"ko/{rel}": md for rel, md in chapter_sources(args.src_ko).items()}
    failed = 0
    for rel, page in pages.items():
        problems = [f"math left unrendered: {text!r}" for text in page.raw[:5]]
        if page.katex_errors:
            problems.append(f"{page.katex_errors} KaTeX error(s) (.katex-error) on the page")
        where = posixpath.join(page.base.lstrip("/"), posixpath.basename(rel)) if page.base else rel
        for tag, attr, url in page.urls:
            problem = check_url(root, pages, where, url, attr == "src" or tag == "link", frozenset(args.built_later))
            problems += [problem] if problem else []
        summary = f"{page.katex} math, {page.rust} rust"
        if rel in sources:
            math, rust = markdown_expectations(sources[rel].read_text(encoding="utf-8"))
            summary += f" (markdown: {math} math, {rust} rust)"
            if page.katex < math:
                problems.append(f"{sources[rel].name} has {math} math span(s), the page renders {page.katex}")
            if page.rust < rust:
                problems.append(f"{sources[rel].name} has {rust} ```rust block(s), the page shows {page.rust}")
        failed += bool(problems)
        print(("FAIL " if problems else "ok   ") + rel + "  " + summary)
        for problem in dict.fromkeys(problems):
            print(f"       - {problem}")

    for css in sorted(root.rglob("*.css")):
        rel = css.relative_to(root).as_posix()
        text = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8"), flags=re.S)
        urls = re.findall(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", text)
        problems = list(dict.fromkeys(filter(None, (check_url(root, pages, rel, u, True) for u in urls))))
        failed += bool(problems)
        for problem in problems:
            print(f"FAIL {rel}\n       - {problem}")

    print(f"{len(pages)} pages checked (static HTML), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
