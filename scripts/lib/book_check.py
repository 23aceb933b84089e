#!/usr/bin/env python3
"""Open every page of a built mdBook in headless Chromium and check that it rendered.

Used by `scripts/book`; standard library only (no npm, no pip). The book is served over HTTP on
127.0.0.1 (an `http.server` in a thread of this process) and Chromium is driven through the
DevTools protocol over `--remote-debugging-pipe` (two file descriptors, NUL-separated JSON), so
no WebSocket library and no open debugging port are needed.

Per page it fails on:
  * an <img> that did not load (not complete, or naturalWidth == 0);
  * a request that failed or answered >= 400 (a missing stylesheet, script or KaTeX font), and
    any request that left 127.0.0.1 (the book must work offline, with no CDN);
  * a font face that failed to load, a JavaScript exception or a console error;
  * math left raw in the text (`$...$`, `$$`, `\\(`, `\\[` outside code) or a `.katex-error`;
  * a chapter whose markdown has math but whose page has fewer `.katex` elements than math spans;
  * a chapter whose markdown has ```rust blocks but whose page has fewer highlighted Rust blocks.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import http.server
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]

PAGE_LOAD_TIMEOUT_S = 30.0

# Runs inside the page once `load` fired; returns plain JSON.
CHECK_JS = r"""
(async () => {
  await document.fonts.ready;
  const imgs = Array.from(document.images);
  // `load` already waited for images; decode() settles any that are still in flight.
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const rawMath = [];
  const skip = 'pre, code, script, style, textarea, .katex, .katex-display, noscript';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  // A pair of single dollars in the Pandoc sense: no space after the opening one or before
  // the closing one (so "$5 and $10" is prose, "$x^2$" is math).
  const raw = /\$\$|\\\(|\\\[|(^|[^\\\w$])\$(?=\S)([^$\n]*?\S)?\$(?!\d)/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    const m = n.textContent.match(raw);
    if (m) rawMath.push(n.textContent.trim().slice(0, 80));
  }
  const rust = Array.from(document.querySelectorAll('pre code.language-rust'));
  const faces = [];
  document.fonts.forEach(f => { if (f.status === 'error') faces.push(f.family); });
  return {
    title: document.title,
    images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    katex: document.querySelectorAll('.katex').length,
    katexErrors: document.querySelectorAll('.katex-error').length,
    rawMath: rawMath,
    rustBlocks: rust.length,
    rustHighlighted: rust.filter(c => c.classList.contains('hljs')).length,
    fontErrors: faces,
    height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
  };
})()
"""


class CdpError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium driven over --remote-debugging-pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="book-check-chromium-")
        # Keep our pipe ends well above 4 so the `3<&N 4>&M` redirections below never clobber them.
        to_chrome_r, to_chrome_w = (_high_fd(fd) for fd in os.pipe())
        from_chrome_r, from_chrome_w = (_high_fd(fd) for fd in os.pipe())
        args = [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        # bash (not sh: dash only redirects single-digit descriptors) puts the pipe on fds 3 and 4.
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.out_fd = to_chrome_w
        self.in_fd = from_chrome_r
        self.buffer = b""
        self.next_id = 0
        self.pending: list[dict] = []  # replies and events not consumed yet

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = PAGE_LOAD_TIMEOUT_S) -> dict:
        self.next_id += 1
        wanted = self.next_id
        message = {"id": wanted, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for i, reply in enumerate(self.pending):
                if reply.get("id") == wanted:
                    del self.pending[i]
                    if "error" in reply:
                        raise CdpError(f"{method}: {reply['error'].get('message')}")
                    return reply.get("result", {})
            self._pump(deadline, method)

    def wait_event(self, method: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.pending):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self.pending[i]
                    return event
            self._pump(deadline, method)

    def take_events(self) -> list[dict]:
        """Returns (and forgets) every event Chromium has sent so far, without waiting."""
        while select.select([self.in_fd], [], [], 0)[0]:
            self._pump(time.monotonic(), "reading events")
        events = [m for m in self.pending if "method" in m]
        self.pending = [m for m in self.pending if "method" not in m]
        return events

    def _pump(self, deadline: float, waiting_for: str) -> None:
        """Reads one chunk from Chromium (waiting at most until `deadline`) into `pending`."""
        ready, _, _ = select.select([self.in_fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise CdpError(f"timed out waiting for {waiting_for}")
        chunk = os.read(self.in_fd, 1 << 20)
        if not chunk:
            raise CdpError("Chromium exited (its pipe closed)")
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\0")
        self.pending.extend(json.loads(m) for m in complete if m)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.out_fd, self.in_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def _high_fd(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (a prefetch cut short by the next
        # navigation); that is not the book's fault, and anything real shows up as a failed request.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


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
            info = m.group(3).strip().split(",")[0].split()[:1]
            rust_blocks += info == ["rust"]
            continue
        if fence is not None:
            if m and m.group(2).startswith(fence[0] * len(fence)) and not m.group(3).strip():
                fence = None
            continue
        if line.startswith("    ") and not line.strip().startswith(("-", "*", "$")):
            continue  # indented code block (a rough but safe rule for our chapters)
        prose.append(line)
    text = "\n".join(prose)
    text = re.sub(r"(`+)(?:(?!\1).)+?\1", "", text, flags=re.S)  # inline code spans
    text = text.replace("\\$", "")
    display = re.findall(r"\$\$.+?\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)
    # mdbook-katex treats every unescaped pair of dollars as math (a literal dollar is `\$`).
    inline = re.findall(r"\$[^$]+?\$", text)
    return len(display) + len(inline), rust_blocks


def chapter_sources(src: Path) -> dict[str, Path]:
    """Maps each html page (relative path) to the markdown it was rendered from."""
    pages: dict[str, Path] = {}
    for md in src.rglob("*.md"):
        rel = md.relative_to(src)
        if rel.name == "SUMMARY.md" and rel.parent == Path("."):
            continue
        html = rel.with_name("index.html") if rel.name == "README.md" else rel.with_suffix(".html")
        pages[html.as_posix()] = md
    summary = src / "SUMMARY.md"
    if "index.html" not in pages and summary.is_file():
        # Without a README.md, mdBook copies the first chapter to index.html.
        first = re.search(r"\]\(\s*<?([^)>#\s]+\.md)", summary.read_text(encoding="utf-8"))
        if first and (src / first.group(1)).is_file():
            pages["index.html"] = src / first.group(1)
    return pages


# --- the check ---------------------------------------------------------------------------------

def check_page(browser: Chromium, session: str, base: str, rel: str, md: Path | None,
               screenshots: Path | None) -> list[str]:
    browser.take_events()
    url = base + rel
    nav = browser.send("Page.navigate", {"url": url}, session)
    if nav.get("errorText"):
        return [f"navigation failed: {nav['errorText']}"]
    browser.wait_event("Page.loadEventFired", session, PAGE_LOAD_TIMEOUT_S)
    result = browser.send("Runtime.evaluate", {
        "expression": CHECK_JS, "awaitPromise": True, "returnByValue": True}, session)
    if "exceptionDetails" in result:
        return [f"check script failed: {result['exceptionDetails'].get('text')}"]
    page = result["result"]["value"]
    problems = []

    requests: dict[str, str] = {}
    for event in browser.take_events():
        params = event.get("params", {})
        method = event["method"]
        if method == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
            target = urlsplit(params["request"]["url"])
            if target.scheme in ("http", "https", "ws", "wss") and target.hostname != "127.0.0.1":
                problems.append(f"external request (the book must work offline): {target.geturl()}")
        elif (method == "Network.responseReceived" and params["response"]["status"] >= 400
              and urlsplit(params["response"]["url"]).path != "/favicon.ico"):
            # (Chromium asks for /favicon.ico on its own for a page that names no icon: toc.html.)
            problems.append(f"HTTP {params['response']['status']}: {_short(params['response']['url'], base)}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            what = _short(requests.get(params["requestId"], "?"), base)
            problems.append(f"request failed ({params.get('errorText')}): {what}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"JavaScript exception: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            if entry.get("source") != "network":  # network errors are reported above
                problems.append(f"console error: {entry.get('text')}")

    for image in page["images"]:
        if not image["ok"]:
            problems.append(f"image did not load: {_short(image['src'], base)}")
    for family in page["fontErrors"]:
        problems.append(f"font failed to load: {family}")
    if page["katexErrors"]:
        problems.append(f"{page['katexErrors']} KaTeX error(s) (.katex-error) on the page")
    for text in page["rawMath"][:5]:
        problems.append(f"math left unrendered: {text!r}")

    math_spans = rust_blocks = 0
    if md is not None:
        math_spans, rust_blocks = markdown_expectations(md.read_text(encoding="utf-8"))
        if page["katex"] < math_spans:
            problems.append(f"{md.name} has {math_spans} math span(s), the page renders "
                            f"{page['katex']} .katex element(s)")
        if page["rustBlocks"] < rust_blocks:
            problems.append(f"{md.name} has {rust_blocks} ```rust block(s), the page shows "
                            f"{page['rustBlocks']}")
        elif page["rustHighlighted"] < rust_blocks:
            problems.append(f"only {page['rustHighlighted']} of {page['rustBlocks']} Rust blocks "
                            f"were syntax-highlighted")

    if screenshots is not None:
        height = min(int(page["height"]) or 900, 20000)
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}}, session)
        target = screenshots / (rel[: -len(".html")].replace("/", "__") + ".png")
        target.write_bytes(base64.b64decode(shot["data"]))

    summary = (f"{len(page['images'])} img, {page['katex']} math, {page['rustBlocks']} rust"
               + (f" (markdown: {math_spans} math, {rust_blocks} rust)" if md is not None else ""))
    print(("FAIL " if problems else "ok   ") + rel + "  " + summary)
    for problem in problems:
        print(f"       - {problem}")
    return problems


def _short(url: str, base: str) -> str:
    return url[len(base):] if url.startswith(base) else url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the HTML output directory (book/book/html)")
    parser.add_argument("--src", type=Path, required=True, help="the book's markdown directory")
    parser.add_argument("--screenshots", type=Path, help="save a full-page PNG per page here")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    args = parser.parse_args()

    pages = sorted(p.relative_to(args.html).as_posix() for p in args.html.rglob("*.html"))
    if not pages:
        print(f"error: no HTML pages under {args.html}; build the book first", file=sys.stderr)
        return 2
    sources = chapter_sources(args.src)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    server, base = serve(args.html)
    browser = Chromium(args.chromium)
    failed = 0
    try:
        browser.send("Browser.getVersion", timeout=60)  # the first start can be slow
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            browser.send(f"{domain}.enable", {}, session)
        browser.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
        browser.send("Emulation.setDeviceMetricsOverride", {
            "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        for rel in pages:
            try:
                problems = check_page(browser, session, base, rel, sources.get(rel), args.screenshots)
            except CdpError as error:
                print(f"FAIL {rel}\n       - {error}")
                problems = [str(error)]
            failed += bool(problems)
    finally:
        browser.close()
        server.shutdown()

    print(f"{len(pages)} pages checked, {failed} failed"
          + (f"; screenshots in {args.screenshots}" if args.screenshots else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
