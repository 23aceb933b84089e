// Opens every page of a built mdBook in headless Chromium and fails on what only a browser sees
// (scripts/lib/book_static_check.py checks the HTML itself). Used by scripts/book:
//
//   node scripts/lib/book_browser_check.mjs HTML_DIR [--screenshots DIR]
//
// Per page it fails on: a page that does not load or shows no text; an image that does not load
// or decode; a font that fails to load, or math on the page with no KaTeX font loaded; any request
// to something other than the local server (the book works offline: no CDN), a failed request or
// an HTTP error; a JavaScript exception or console error; a Rust block highlight.js left alone.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { guardPage, withServedBrowser } from "./browser.mjs";

const { values: opts, positionals } = parseArgs({ allowPositionals: true,
  options: { screenshots: { type: "string" } } });
if (positionals.length !== 1) {
  console.error("usage: book_browser_check.mjs HTML_DIR [--screenshots DIR]");
  process.exit(2);
}
const dir = positionals[0];
const pages = readdirSync(dir, { recursive: true }).filter((p) => p.endsWith(".html")).sort();
if (pages.length === 0) {
  console.error(`error: no HTML pages under ${dir}; build the book first`);
  process.exit(2);
}
if (opts.screenshots) mkdirSync(opts.screenshots, { recursive: true });

// Runs in the page once `load` has fired.
async function inspect() {
  await document.fonts.ready;
  const images = [...document.images];
  await Promise.all(images.map((i) => i.decode().catch(() => null)));
  const fonts = [...document.fonts];
  return {
    images: images.length,
    brokenImages: images.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.currentSrc || i.src),
    fontsLoaded: fonts.filter((f) => f.status === "loaded").map((f) => f.family),
    fontErrors: fonts.filter((f) => f.status === "error").map((f) => f.family),
    math: document.querySelectorAll(".katex").length,
    unhighlighted: document.querySelectorAll("pre code.language-rust:not(.hljs)").length,
    text: document.body.innerText.trim().length,
  };
}

let failed = 0;
const version = await withServedBrowser(dir, async ({ browser, context, origin }) => {
  const page = await context.newPage();
  const problems = guardPage(page, origin);
  for (const rel of pages) {
    problems.length = 0;
    let info = null;
    try {
      const response = await page.goto(`${origin}/${rel}`, { waitUntil: "load", timeout: 30_000 });
      if (!response?.ok()) problems.push(`page answered HTTP ${response?.status()}`);
      info = await page.evaluate(inspect);
      if (opts.screenshots) {
        await page.screenshot({ path: join(opts.screenshots, `${rel.slice(0, -5).replaceAll("/", "__")}.png`),
          fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 20_000 } });
      }
    } catch (error) {
      problems.push(error.message.split("\n")[0]);
    }
    if (info) {
      if (info.text === 0) problems.push("the page shows no text");
      for (const src of info.brokenImages) problems.push(`image did not load: ${src.replace(origin, "")}`);
      for (const family of info.fontErrors) problems.push(`font failed to load: ${family}`);
      if (info.math && !info.fontsLoaded.some((f) => f.startsWith("KaTeX"))) {
        problems.push(`${info.math} math span(s) but no KaTeX font loaded`);
      }
      if (info.unhighlighted) problems.push(`${info.unhighlighted} Rust block(s) not syntax-highlighted`);
    }
    failed += problems.length > 0;
    const what = info ? `  ${info.images} img, ${info.fontsLoaded.length} fonts, ${info.math} math` : "";
    console.log(`${problems.length ? "FAIL" : "ok  "} ${rel}${what}`);
    for (const problem of [...new Set(problems)]) console.log(`       - ${problem}`);
  }
  return browser.version();
});

console.log(`${pages.length} pages checked in Chromium ${version}, ${failed} failed` +
  (opts.screenshots ? `; screenshots in ${opts.screenshots}` : ""));
process.exit(failed ? 1 : 0);
