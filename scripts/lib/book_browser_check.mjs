// Opens every page of a built mdBook in headless Chromium and fails on what only a browser sees
// (scripts/lib/book_static_check.py checks the HTML itself). Used by scripts/book:
//
//   node scripts/lib/book_browser_check.mjs HTML_DIR [--screenshots DIR]
//
// Per page it fails on: a page that does not load or shows no text; an image that does not load
// or decode; a font that fails to load, or math on the page with no KaTeX font loaded; any request
// to something other than the local server (the book works offline: no CDN), a failed request or
// an HTTP error; a JavaScript exception or console error; a Rust block highlight.js left alone; a
// language picker (book/theme/language-picker.js) missing from the menu bar, or not leading to this same page in each
// edition (English at the root, Korean under ko/); and on a Korean page, Hangul drawn as
// missing-glyph boxes (no Korean font: the page would be unreadable); and the end-of-chapter
// questions, each answered wrong and right with the keyboard (book_quiz_check.mjs).
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { guardPage, withServedBrowser } from "./browser.mjs";
import { checkQuizzes } from "./book_quiz_check.mjs";

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
    picker: [...document.querySelectorAll(".language-picker a")].map((a) => ({
      lang: a.lang, href: a.href, current: a.getAttribute("aria-current") === "page" })),
    menuBar: document.querySelector(".right-buttons") !== null, // toc.html (the sidebar's frame) has none
    lang: document.documentElement.lang,
    boxes: document.documentElement.lang === "ko" ? hangulAsBoxes() : false,
  };
  // Draws Hangul and a code point no font has (U+0378, unassigned) in the page's text font: if the
  // two pictures are the same, Hangul came out as the missing-glyph box (or not at all).
  function hangulAsBoxes() {
    const font = `32px ${getComputedStyle(document.querySelector("main") || document.body).fontFamily}`;
    const draw = (text) => {
      const canvas = document.createElement("canvas");
      canvas.width = 160;
      canvas.height = 48;
      const g = canvas.getContext("2d");
      g.font = font;
      g.fillText(text, 4, 36);
      return g.getImageData(0, 0, canvas.width, canvas.height).data.join(",");
    };
    return draw("합성곱") === draw("\u0378\u0378\u0378");
  }
}

// The page `rel` in the edition of `lang` (English at the root, Korean under ko/).
const inEdition = (rel, lang) => (lang === "ko" ? "ko/" : "") + rel.replace(/^ko\//, "");

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
      const quizzes = await checkQuizzes(page, rel);
      info.quizzes = quizzes.count;
      problems.push(...quizzes.problems);
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
      if (info.boxes) problems.push("Korean text renders as missing-glyph boxes (install fonts-noto-cjk)");
      const langs = info.picker.map((p) => p.lang).join(",");
      if (info.menuBar && langs !== "en,ko") problems.push(`language picker: expected links English, 한국어, found [${langs}]`);
      for (const { lang, href, current } of info.picker) {
        const want = inEdition(rel, lang);
        const got = decodeURIComponent(new URL(href).pathname.slice(1));
        if (got !== want) problems.push(`language picker: ${lang} leads to /${got}, not /${want}`);
        else if (!pages.includes(want)) problems.push(`language picker: ${lang} leads to /${want}, which is no page`);
        if (current !== (lang === (info.lang === "ko" ? "ko" : "en"))) {
          problems.push(`language picker: ${lang} marked current on a page in ${info.lang}`);
        }
      }
    }
    failed += problems.length > 0;
    const what = info ? `  ${info.images} img, ${info.fontsLoaded.length} fonts, ${info.math} math` +
      (info.quizzes ? `, ${info.quizzes} questions answered` : "") : "";
    console.log(`${problems.length ? "FAIL" : "ok  "} ${rel}${what}`);
    for (const problem of [...new Set(problems)]) console.log(`       - ${problem}`);
  }
  return browser.version();
});

console.log(`${pages.length} pages checked in Chromium ${version}, ${failed} failed` +
  (opts.screenshots ? `; screenshots in ${opts.screenshots}` : ""));
process.exit(failed ? 1 : 0);
