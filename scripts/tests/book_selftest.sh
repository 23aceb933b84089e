#!/usr/bin/env bash
# Self-test of scripts/book and its checkers: builds a tiny book (math, an image, Rust code, internal
# links, a nested chapter) with the real book's book.toml, theme and vendored KaTeX, and checks that
# it passes, and that each of these fails it, for the right reason (a pattern its output must show):
#   build (mdBook, mdbook-katex, mdbook-linkcheck2): a broken link, a missing image, bad LaTeX;
#   the HTML (book_static_check.py): a broken #anchor, math left raw (preprocessor off), a
#     stylesheet from a CDN (mdbook-katex's default), a missing KaTeX font;
#   the browser (book_browser_check.mjs): an image file that is not an image, a JavaScript error,
#     a request to the web made by a script.
# Usage: scripts/tests/book_selftest.sh [--no-browser]
#        scripts/tests/book_selftest.sh --make-book DIR    (only writes the good book into DIR)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

make_book() {
  local dir=$1
  mkdir -p "$dir/src/img" "$dir/src/part"
  cp "$ROOT/book/book.toml" "$dir/"
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
EOF
}

if [ "${1:-}" = --make-book ]; then
  [ $# = 2 ] || { echo "usage: $0 --make-book DIR" >&2; exit 2; }
  make_book "$2"
  exit 0
fi

args=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failures=0
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

if [[ " ${args[*]} " != *" --no-browser "* ]]; then
  # The file is there (the links check out) but is not an image: only a browser sees that.
  make_book "$work/corrupt-image"
  echo "not a png" >"$work/corrupt-image/src/img/dot.png"
  expect fail corrupt-image 'image did not load: /img/dot\.png'

  script() { # script NAME JS: the book runs JS on every page (output.html.additional-js)
    make_book "$work/$1"
    echo "$2" >"$work/$1/extra.js"
    sed -i 's/^\[output\.html\]$/&\nadditional-js = ["extra.js"]/' "$work/$1/book.toml"
  }
  script js-error 'window.addEventListener("load", () => { throw new Error("boom"); });'
  expect fail js-error 'JavaScript exception: boom'

  script web-request 'new Image().src = "https://example.com/pixel.png";'
  expect fail web-request 'other than the local server.*example\.com'
fi

echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
