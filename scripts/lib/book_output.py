#!/usr/bin/env python3
"""The book's output check (src/book_output.rs), in Python, for the notebooks.

A listing's printed output must be the ```text block the chapter shows after it: line by line, each
line's trailing whitespace ignored, exactly, except spans matching one of the listing's `varies`
regular expressions (the list passed to `book_output::check` in its hidden line). The rules are the
ones `compare` in src/book_output.rs applies; `python3 scripts/lib/book_output.py --self-test` runs
the cases of its unit tests.

Standard library only: scripts/notebooks --check and the generator import it without the venv.
"""

from __future__ import annotations

import difflib
import re
import sys

MASK = "\u2039varies\u203a"  # ‹varies›, as in src/book_output.rs


def rust_lines(text: str) -> list[str]:
    """`str::lines()` of Rust: split at \\n, a final empty piece dropped, a trailing \\r removed."""
    if not text:
        return []
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    return [p[:-1] if p.endswith("\r") else p for p in pieces]


def differences(expected: str, printed: str, varies: list[str]) -> list[tuple[int, str | None, str | None]]:
    """The lines that differ, as (line number from 1, book's line or None, printed line or None).

    `expected` is the body of the output block (as the chapter has it), `printed` what the listing
    printed. Mirrors `compare` in src/book_output.rs: `expected.lines()`, `printed` without its
    trailing newlines, both trimmed at the end of each line; a pair of lines is the same when equal,
    or equal once every `varies` match in each is replaced by ‹varies›.
    """
    patterns = [re.compile(p) for p in varies]
    book = [line.rstrip() for line in rust_lines(expected)]
    got = [line.rstrip() for line in rust_lines(printed.rstrip("\n"))]

    def masked(line: str) -> str:
        for pattern in patterns:
            line = pattern.sub(lambda _m: MASK, line)
        return line

    diff = []
    for i in range(max(len(book), len(got))):
        b = book[i] if i < len(book) else None
        g = got[i] if i < len(got) else None
        same = b is not None and g is not None and (b == g or masked(b) == masked(g))
        if not same:
            diff.append((i + 1, b, g))
    return diff


def compare(expected: str, printed: str, varies: list[str], here: str,
            printed_name: str = "printed") -> str | None:
    """None when `printed` agrees with the book; otherwise a message naming `here` (chapter and
    listing), the differing lines as src/book_output.rs lists them, and a unified diff."""
    diff = differences(expected, printed, varies)
    if not diff:
        return None
    book_lines = [line.rstrip() for line in rust_lines(expected)]
    got_lines = [line.rstrip() for line in rust_lines(printed.rstrip("\n"))]
    total = max(len(book_lines), len(got_lines))
    listed = "\n".join(f"  line {n}:\n    book:    {b if b is not None else '(no line)'}\n"
                       f"    printed: {g if g is not None else '(no line)'}" for n, b, g in diff)
    unified = "\n".join(difflib.unified_diff(book_lines, got_lines, fromfile=f"book ({here})",
                                             tofile=printed_name, lineterm=""))
    note = ("; spans matching " + ", ".join(f"`{p}`" for p in varies) + " may vary") if varies else ""
    return (f"{here}: the output is not the book's output block ({len(diff)} of {total} lines "
            f"differ{note}):\n{listed}\n{unified}")


def self_test() -> int:
    """The cases of src/book_output.rs's unit tests, on the comparison itself."""
    timing = [r"\d+\.\d+ s"]
    expected = "24 × 24\ntook 0.9 s\n"
    checks = [
        ("a varying span marked", compare(expected, "24 × 24\ntook 1.5 s\n", timing, "ch.md, listing 1") is None),
        ("the same span unmarked", "line 2" in (compare(expected, "24 × 24\ntook 1.5 s\n", [], "ch.md, listing 1") or "")),
        ("an edited line", "line 1:\n    book:    24 × 25\n    printed: 24 × 24"
         in (compare("24 × 25\ntook 0.9 s\n", "24 × 24\ntook 1.5 s\n", timing, "ch.md, listing 1") or "")),
        ("a missing line", "printed: (no line)" in (compare(expected, "24 × 24\n", timing, "x") or "")),
        ("an extra line", "book:    (no line)" in (compare(expected, expected + "more\n", [], "x") or "")),
        ("trailing spaces and newlines", compare("a  \nb\n", "a\nb  \n\n\n", [], "x") is None),
        ("a unified diff", "-24 × 25\n+24 × 24" in (compare("24 × 25\n", "24 × 24\n", [], "x") or "")),
        ("an empty block, nothing printed", compare("", "", [], "x") is None),
        ("a CRLF line", compare("a\r\nb\n", "a\nb\n", [], "x") is None),
    ]
    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    print(__doc__)
    sys.exit(2)
