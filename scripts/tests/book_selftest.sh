#!/usr/bin/env bash
# Self-test of scripts/book: builds a tiny book (math, an image, Rust code, internal links, a
# nested chapter) with the real book's book.toml, theme and vendored KaTeX, and checks that
#   1. it passes;
#   2. a broken internal link fails it (mdbook-linkcheck2);
#   3. a missing image fails it;
#   4. math KaTeX cannot parse fails it;
#   5. an image file that is not an image fails the browser check;
#   6. a stylesheet from a CDN (mdbook-katex's default) fails the browser check (offline book);
#   7. a chapter whose math is not rendered (preprocessor off) fails the browser check.
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
  python3 - "$dir/src/img/dot.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
raw = b"".join(b"\x00" + b"\x80\x20\x20" * 8 for _ in range(8))  # 8x8 RGB
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
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
failures=0
expect() {
  local want=$1 name=$2 dir=$3 log="$work/$2.log"
  local got=pass
  "$ROOT/scripts/book" "${args[@]}" "$dir" >"$log" 2>&1 || got=fail
  if [ "$got" = "$want" ]; then
    echo "ok   $name: ${got}ed as it should: $(sed 's/\x1b\[[0-9;]*m//g' "$log" |
      grep -v 'built against mdbook' | grep -E 'pages checked|error|FAIL|WARN' | tail -n 2 |
      cut -c1-150 | tr '\n' ' ')"
  else
    echo "FAIL $name: expected $want, got $got; log:"
    sed 's/^/     | /' "$log" | tail -n 40
    failures=$((failures + 1))
  fi
}

make_book "$work/good"
expect pass good-book "$work/good"

make_book "$work/badlink"
sed -i 's/(part\/pool.md#max-pooling)/(part\/missing.md)/' "$work/badlink/src/conv.md"
expect fail broken-link "$work/badlink"

make_book "$work/noimage"
rm "$work/noimage/src/img/dot.png"
expect fail missing-image "$work/noimage"

make_book "$work/badmath"
# shellcheck disable=SC2016 # LaTeX, not shell
sed -i 's/\$x^2\$/$\\frac{x$/' "$work/badmath/src/conv.md"
expect fail bad-latex "$work/badmath"

if [[ " ${args[*]} " != *" --no-browser "* ]]; then
  # The file is there (the link check passes) but is not an image: only the browser sees that.
  make_book "$work/badimage"
  echo "not a png" >"$work/badimage/src/img/dot.png"
  expect fail corrupt-image "$work/badimage"

  # mdbook-katex's default <link> to a CDN: the book must not load anything from the web.
  make_book "$work/cdn"
  sed -i 's/^no-css = true/no-css = false/' "$work/cdn/book.toml"
  expect fail cdn-stylesheet "$work/cdn"

  make_book "$work/rawmath"
  # Without the KaTeX preprocessor the dollars reach the page as text; only the browser sees that.
  python3 -c 'import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r"(?ms)^\[preprocessor\.katex\].*?(?=^\[)", "", text))' \
    "$work/rawmath/book.toml"
  expect fail raw-math "$work/rawmath"
fi

checks=4
[[ " ${args[*]} " == *" --no-browser "* ]] || checks=7
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
