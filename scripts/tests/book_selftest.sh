#!/usr/bin/env bash
# Self-test of scripts/book and its checkers: builds a tiny book (math, an image, Rust code, internal
# links, a nested chapter) with the real book's book.toml, theme and vendored KaTeX, and checks that
# it passes, and that each of these fails it, for the right reason (a pattern its output must show):
#   build (mdBook, mdbook-katex, mdbook-linkcheck2): a broken link, a missing image, bad LaTeX;
#   the HTML (book_static_check.py): a broken #anchor, math left raw (preprocessor off), a
#     stylesheet from a CDN (mdbook-katex's default), a missing KaTeX font;
#   the browser (book_browser_check.mjs): an image file that is not an image, a JavaScript error,
#     a request to the web made by a script, a page without the language picker, Korean text
#     drawn as missing-glyph boxes (Chromium with no Korean font), an end-of-chapter question
#     without its widget (the good book has one, answered wrong and right with the keyboard);
#   the search (book_search_check.mjs over the Pagefind index): a query whose page is not where
#     search-queries.json expects it;
#   the Korean edition (po/ko.po, book/ko/): an untranslated message, a messages.pot older than
#     the chapters, translated chapters (book/ko/*.md) older than ko.po.
# Usage: scripts/tests/book_selftest.sh [--no-browser]
#        scripts/tests/book_selftest.sh --make-book DIR    (only writes the good book into DIR)
#
# A case that cannot run here (no-korean-font needs one Latin font besides the Korean one) is a
# failure under CI=true, which first installs what it needs; elsewhere it is skipped with a
# "SKIPPED: ..." line on stderr and counted in the summary.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"

make_book() {
  local dir=$1
  mkdir -p "$dir/src/img" "$dir/src/part"
  # The real book.toml, with its helper scripts found from here and the PO files in the book.
  sed -e "s#\.\./scripts/lib/#$ROOT/scripts/lib/#" -e 's#^po-dir = "\.\./po"#po-dir = "po"#' \
    "$ROOT/book/book.toml" >"$dir/book.toml"
  cp -r "$ROOT/book/theme" "$dir/"
  cp -r "$ROOT/book/src/katex" "$dir/src/"
  base64 -d >"$dir/src/img/dot.png" <<'EOF' # an 8x8 PNG
iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mNoUFDAihiGlgQA2dYwAfVjchIAAAAASUVORK5CYII=
EOF
  cat >"$dir/src/SUMMARY.md" <<'EOF'
# Summary

[Introduction](README.md)

- [Convolution](conv.md)
- [Part](part/README.md)
  - [Pooling](part/pool.md)
EOF
  cat >"$dir/src/README.md" <<'EOF'
# Introduction

Plain prose that costs \$5, then [the first chapter](conv.md).
EOF
  cat >"$dir/src/conv.md" <<'EOF'
# Convolution

Inline math $x^2$ and a display:

$$
\frac{a}{b} = \sum_{i=0}^{n} w_i x_i
$$

![a dot](img/dot.png)

```rust
fn main() {
    let kernel = [[1.0f32; 3]; 3];
    println!("{kernel:?}");
}
```

Code with dollars is left alone: `let s = "$x$";`. Next: [pooling](part/pool.md#max-pooling).
EOF
  cat >"$dir/src/part/README.md" <<'EOF'
# Part

An overview with $O(n)$ math.
EOF
  cat >"$dir/src/part/pool.md" <<'EOF'
# Pooling

## Max pooling

Output size $\lfloor (n - k)/s \rfloor + 1$, image from a nested page:

![a dot](../img/dot.png)

Back to [convolution](../conv.md).

{{#quiz selftest-pool}}

How many numbers does a 2×2 max pooling keep of a 4×4 map?

{{#answer 4}}

Two windows across and two down. See [Max pooling](#max-pooling).

{{#end-quiz}}
EOF
  # The search check: one query per edition (the Korean edition's text is the English one here).
  cat >"$dir/search-queries.json" <<'EOF'
{ "en": [{ "query": "pooling", "page": "part/pool.html", "top": 1 }],
  "ko": [{ "query": "convolution", "page": "conv.html", "top": 1 }] }
EOF
  # A Korean edition whose "translation" is the English text (mdbook-gettext's PO reader wants all
  # of these header fields): what is checked is the machinery
  # (messages, ko.po complete, book/ko/ current, the picker, the font), not the language.
  mkdir -p "$dir/po"
  cat >"$dir/po/ko.po" <<'EOF'
msgid ""
msgstr ""
"Project-Id-Version: test\n"
"PO-Revision-Date: 2026-01-01 00:00+0000\n"
"Language-Team: Korean\n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
"Language: ko\n"
"Plural-Forms: nplurals=1; plural=0;\n"
EOF
  translate "$dir"
}

# translate DIR: the Korean edition's messages and chapters brought up to date with the English text
# (after make_book, and after a case edits that text).
translate() {
  "$ROOT/scripts/book" --update-po --no-browser "$1" >"$1.update-po.log" 2>&1 ||
    { cat "$1.update-po.log" >&2; echo "scripts/book --update-po failed on the test book" >&2; exit 1; }
  msgen "$1/po/messages.pot" -o "$1/po/ko.po"
}

if [ "${1:-}" = --make-book ]; then
  [ $# = 2 ] || { echo "usage: $0 --make-book DIR" >&2; exit 2; }
  make_book "$2"
  exit 0
fi

args=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failures=0 skipped=0
# expect pass|fail NAME [REGEX]: scripts/book on the book in $work/NAME passes, or fails and its
# output matches REGEX.
expect() {
  local want=$1 name=$2 pattern=${3:-} log="$work/$2.log" got=pass
  "$ROOT/scripts/book" "${args[@]}" "$work/$name" >"$log" 2>&1 || got=fail
  sed -i 's/\x1b\[[0-9;]*m//g' "$log"
  if [ "$got" = "$want" ] && { [ -z "$pattern" ] || grep -qE -- "$pattern" "$log"; }; then
    echo "ok   $name: ${got}ed as it should: $(grep -E -- "${pattern:-pages checked}" "$log" |
      tail -n 2 | cut -c1-150 | tr -s ' \n' ' ')"
    passed=$((passed + 1))
  else
    echo "FAIL $name: expected $want${pattern:+ showing /$pattern/}, got $got; log:"
    sed 's/^/     | /' "$log" | tail -n 40
    failures=$((failures + 1))
  fi
}

make_book "$work/good"
expect pass good

make_book "$work/broken-link"
sed -i 's/(part\/pool.md#max-pooling)/(part\/missing.md)/' "$work/broken-link/src/conv.md"
expect fail broken-link 'missing\.md'

make_book "$work/missing-image"
rm "$work/missing-image/src/img/dot.png"
expect fail missing-image 'dot\.png'

make_book "$work/bad-latex"
# shellcheck disable=SC2016 # LaTeX, not shell
sed -i 's/\$x^2\$/$\\frac{x$/' "$work/bad-latex/src/conv.md"
expect fail bad-latex 'frac'

make_book "$work/broken-anchor"
sed -i 's/#max-pooling/#min-pooling/' "$work/broken-anchor/src/conv.md"
translate "$work/broken-anchor"
expect fail broken-anchor 'has no #min-pooling'

make_book "$work/raw-math"
# Without the KaTeX preprocessor the dollars reach the page as text.
python3 -c 'import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r"(?ms)^\[preprocessor\.katex\].*?(?=^\[)", "", text))' \
  "$work/raw-math/book.toml"
expect fail raw-math 'math left unrendered'

make_book "$work/cdn-stylesheet"
sed -i 's/^no-css = true/no-css = false/' "$work/cdn-stylesheet/book.toml"
expect fail cdn-stylesheet 'from the web'

make_book "$work/missing-font"
rm "$work/missing-font/src/katex/fonts/KaTeX_Main-Regular.woff2"
expect fail missing-font 'KaTeX_Main-Regular\.woff2: no such file'

make_book "$work/untranslated"
# Drop the translation of one message (a PO entry is a paragraph of its own).
awk -v RS= -v ORS='\n\n' '!/Back to/' "$work/untranslated/po/ko.po" >"$work/untranslated.po"
mv "$work/untranslated.po" "$work/untranslated/po/ko.po"
expect fail untranslated 'ko\.po: every message needs a translation.*untranslated'

make_book "$work/stale-pot"
sed -i 's/^Back to /And back to /' "$work/stale-pot/src/part/pool.md"
expect fail stale-pot 'messages\.pot is not what the chapters say now'

make_book "$work/stale-korean-chapters"
echo "an edit by hand" >>"$work/stale-korean-chapters/ko/conv.md"
expect fail stale-korean-chapters 'book/ko/ is not what ko\.po makes of the chapters'

if [[ " ${args[*]} " != *" --no-browser "* ]]; then
  # The file is there (the links check out) but is not an image: only a browser sees that.
  make_book "$work/corrupt-image"
  echo "not a png" >"$work/corrupt-image/src/img/dot.png"
  expect fail corrupt-image 'image did not load: /img/dot\.png'

  script() { # script NAME JS: the book runs JS on every page (output.html.additional-js)
    make_book "$work/$1"
    echo "$2" >"$work/$1/extra.js"
    sed -i 's/^additional-js = \[/&"extra.js", /' "$work/$1/book.toml"
  }
  script js-error 'window.addEventListener("load", () => { throw new Error("boom"); });'
  expect fail js-error 'JavaScript exception: boom'

  script web-request 'new Image().src = "https://example.com/pixel.png";'
  expect fail web-request 'other than the local server.*example\.com'

  make_book "$work/no-picker"
  sed -i 's#^additional-js = \["theme/language-picker.js", #additional-js = [#' "$work/no-picker/book.toml"
  expect fail no-picker 'language picker: expected links English, 한국어, found \[\]'

  # The question without its widget (theme/quiz.js): no Check button to answer it with.
  make_book "$work/no-quiz-widget"
  sed -i 's#, "theme/quiz.js"\]#]#' "$work/no-quiz-widget/book.toml"
  expect fail no-quiz-widget 'question quiz-selftest-pool: no Check button'

  # The pooling chapter is the first result for "pooling", not the convolution chapter.
  make_book "$work/search-miss"
  sed -i 's#"page": "part/pool.html"#"page": "conv.html"#' "$work/search-miss/search-queries.json"
  expect fail search-miss '"pooling": expected conv\.html in the top 1, got part/pool\.html'

  # Chromium with one Latin font and nothing for Hangul (fontconfig told to look nowhere else).
  latin_font() { fc-list -f '%{file}\n' :lang=en 2>/dev/null | grep -viE 'cjk|kr|korean' | head -n 1 || true; }
  latin=$(latin_font)
  if [ -z "$latin" ] && is_ci; then
    apt_install fonts-dejavu-core >&2 || true # CI installs what the case needs rather than skip it
    latin=$(latin_font)
  fi
  if [ -n "$latin" ]; then
    mkdir -p "$work/fonts"
    ln -s "$latin" "$work/fonts/"
    printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><cachedir>%s</cachedir></fontconfig>\n' \
      "$work/fonts" "$work/fonts-cache" >"$work/fonts.conf"
    make_book "$work/no-korean-font"
    FONTCONFIG_FILE="$work/fonts.conf" expect fail no-korean-font 'Korean text renders as missing-glyph boxes'
  else
    skip_or_fail "no-korean-font: fc-list names no Latin font to draw with (install one, e.g. fonts-dejavu-core)"
    skipped=$((skipped + 1))
  fi
fi

summary="$passed passed, $failures failed"
[ "$skipped" = 0 ] || summary+=", $skipped SKIPPED (see above)"
echo "$summary"
[ "$failures" = 0 ]
