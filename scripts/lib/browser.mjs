// Headless Chromium for the repository's page checks (book_browser_check.mjs, and any other):
// playwright-core (package.json) driving the system's Chromium on pages served from 127.0.0.1.
//   await withServedBrowser(dir, async ({ context, origin }) => {
//     const page = await context.newPage();
//     const problems = guardPage(page, origin); // web requests (blocked), HTTP and JS errors
//     await page.goto(`${origin}/index.html`); ...
//   });
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Launches headless Chromium (CHROMIUM, default /usr/bin/chromium); `options` go to launch(). */
export function launchChromium(options = {}) {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...options });
}

const TYPES = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript",
  ".mjs": "text/javascript", ".json": "application/json", ".svg": "image/svg+xml",
  ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
  ".ico": "image/x-icon", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8", ".wasm": "application/wasm" };

/** Serves `dir` read-only on 127.0.0.1 at a free port; resolves to { origin, close() }. */
export async function serveDirectory(dir) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    let file, stat;
    try {
      file = join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
      stat = statSync(file);
      if (stat.isDirectory()) stat = statSync((file = join(file, "index.html")));
    } catch { stat = null; }
    if (!stat || !(file + sep).startsWith(root + sep)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": stat.size, "Cache-Control": "no-store" });
    createReadStream(file).on("error", () => res.destroy()).pipe(res);
  });
  await new Promise((ok, fail) => server.once("error", fail).listen(0, "127.0.0.1", ok));
  return { origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }) };
}

/**
 * Watches `page`: every request that is not to `origin` is blocked and reported (the pages must
 * work offline), and so are failed requests, HTTP errors, JavaScript exceptions and console
 * errors. Returns the array of problems (strings), which keeps growing; empty it between pages.
 */
export function guardPage(page, origin) {
  const problems = [];
  const short = (url) => (url.startsWith(origin) ? url.slice(origin.length) : url);
  // Chromium asks for /favicon.ico on its own for a page that names no icon.
  const favicon = (url) => url === `${origin}/favicon.ico`;
  page.route((url) => url.origin !== origin, (route) => {
    problems.push(`request to something other than the local server (blocked): ${route.request().url()}`);
    return route.abort("blockedbyclient");
  }).catch((error) => problems.push(`could not watch the page's requests: ${error.message}`));
  page.on("requestfailed", (req) => {
    const why = req.failure()?.errorText ?? "";
    if (!why.includes("ERR_BLOCKED_BY_CLIENT") && !why.includes("ERR_ABORTED")) {
      problems.push(`request failed (${why}): ${short(req.url())}`);
    }
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && !favicon(res.url())) problems.push(`HTTP ${res.status()}: ${short(res.url())}`);
  });
  page.on("pageerror", (error) => problems.push(`JavaScript exception: ${error.message}`));
  page.on("console", (msg) => {
    // "Failed to load resource" repeats a failed request, which is reported above.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  return problems;
}

/** Serves `dir`, launches Chromium and runs `fn({ browser, context, origin })`; cleans up after. */
export async function withServedBrowser(dir, fn, { viewport = { width: 1280, height: 900 } } = {}) {
  const server = await serveDirectory(dir);
  let browser;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    return await fn({ browser, context, origin: server.origin });
  } finally {
    await browser?.close();
    await server.close();
  }
}
