// Prints an edition of the built book to PDF with headless Chromium (playwright-core driving the
// system's chromium, like the other checks) and checks the PDF with poppler-utils. Used by
// scripts/book:
//
//   node scripts/lib/book_pdf.mjs HTML_DIR --lang en|ko --out FILE.pdf [--pages 1-12]
//
// The PDF is the edition's print.html (every chapter in one page, mdBook's print stylesheet plus
// book/theme/print.css): A4, math as KaTeX rendered it, figures, highlighted code, the exercises'
// solutions open, page numbers in the footer ("7 / 131"), an outline (bookmarks) from the
// headings, tagged for screen readers.
// --pages prints only those pages (the quick check of a plain scripts/book run).
//
// It fails on: an image that did not load or a font that failed; a KaTeX error on the page; a
// font in the PDF that is not embedded (pdffonts); in the PDF's text (pdftotext) a "KaTeX parse
// error", math left raw ($…$, $$, \( or \[ outside the code blocks), no Hangul when the page has
// some (it must be text, not pictures), or a page whose footer does not show its number; a PDF
// without an outline, or with a link to the temporary server it was printed from.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { guardPage, withServedBrowser } from "./browser.mjs";

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: {
  lang: { type: "string", default: "en" }, out: { type: "string" }, pages: { type: "string" } } });
if (positionals.length !== 1 || !opts.out || !["en", "ko"].includes(opts.lang)) {
  console.error("usage: book_pdf.mjs HTML_DIR --lang en|ko --out FILE.pdf [--pages 1-12]");
  process.exit(2);
}
const [dir] = positionals;
const rel = `${opts.lang === "ko" ? "ko/" : ""}print.html`;
const problems = [];
const started = Date.now();

// The footer: the book's title on the left, "page / pages" on the right. Chromium draws it in
// its own small page, so it is styled here (its default font size is unreadably small).
const FOOTER = `<div style="width: 100%; margin: 0 14mm; display: flex; justify-content: space-between;
  font: 8pt 'Open Sans', 'Noto Sans CJK KR', sans-serif; color: #777;">
  <span class="title"></span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>`;

mkdirSync(dirname(opts.out), { recursive: true });
const info = await withServedBrowser(dir, async ({ context, origin }) => {
  const page = await context.newPage();
  const pageProblems = guardPage(page, origin);
  // print.html calls window.print() once loaded; headless, that is ours to do.
  await page.addInitScript(() => { window.print = () => {}; });
  await page.goto(`${origin}/${rel}`, { waitUntil: "load", timeout: 60_000 });
  const seen = await page.evaluate(async () => {
    // Paper cannot be clicked: the exercises' solutions (<details>) print open.
    for (const details of document.querySelectorAll("main details")) details.open = true;
    // A link within the book is a link within the PDF (print.html links chapters by #anchor);
    // one to another file of the site (a script, the PDF itself) would lead to this temporary
    // server from the PDF: it prints as plain text.
    let unlinked = 0;
    for (const a of document.querySelectorAll("main a[href]")) {
      const url = new URL(a.href, location.href);
      if (url.origin === location.origin && url.pathname !== location.pathname) {
        a.removeAttribute("href");
        unlinked++;
      }
    }
    await document.fonts.ready;
    const images = [...document.images];
    await Promise.all(images.map((i) => i.decode().catch(() => null)));
    // Lines of the code blocks that hold a dollar: those may show one in the PDF.
    const codeLines = [...document.querySelectorAll("pre, code")]
      .flatMap((c) => c.textContent.split("\n")).map((l) => l.trim()).filter((l) => l.includes("$"));
    return {
      title: document.title,
      images: images.length,
      brokenImages: images.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.getAttribute("src")),
      fontErrors: [...document.fonts].filter((f) => f.status === "error").map((f) => f.family),
      katexErrors: document.querySelectorAll(".katex-error").length,
      math: document.querySelectorAll(".katex").length,
      hangul: /[\uac00-\ud7a3]/.test(document.querySelector("main")?.innerText ?? ""),
      codeLines,
      unlinked,
    };
  });
  await page.pdf({
    path: opts.out,
    format: "A4",
    printBackground: true,
    margin: { top: "16mm", bottom: "18mm", left: "14mm", right: "14mm" },
    displayHeaderFooter: true,
    headerTemplate: "<span></span>",
    footerTemplate: FOOTER,
    outline: true, // PDF bookmarks from the headings
    tagged: true,
    ...(opts.pages ? { pageRanges: opts.pages } : {}),
  });
  problems.push(...new Set(pageProblems));
  return seen;
});

for (const src of info.brokenImages) problems.push(`image did not load: ${src}`);
for (const family of info.fontErrors) problems.push(`font failed to load: ${family}`);
if (info.katexErrors) problems.push(`${info.katexErrors} KaTeX error(s) on ${rel}`);

// --- the PDF itself (poppler-utils) -----------------------------------------------------------
// (poppler warns on stderr about the long names Skia gives its Type 3 fonts: not a problem.)
const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "pipe"] });
const pages = Number(/^Pages:\s+(\d+)/m.exec(run("pdfinfo", [opts.out]))?.[1] ?? 0);
if (!pages) problems.push("pdfinfo reports no pages");

// pdffonts: name, type (may hold a space: "Type 3", "CID TrueType"), encoding, emb, sub, uni, object, id.
const fontRows = run("pdffonts", [opts.out]).split("\n").slice(2).filter((l) => l.trim());
const fonts = fontRows.map((line) => {
  const m = /\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$/.exec(line);
  return { name: line.split(/\s+/)[0], type: line.slice(37, 54).trim(), embedded: m?.[1] === "yes" };
});
const notEmbedded = fonts.filter((f) => !f.embedded);
if (!fonts.length) problems.push("pdffonts lists no fonts");
for (const f of notEmbedded) problems.push(`font not embedded: ${f.name} (${f.type})`);

const text = run("pdftotext", ["-enc", "UTF-8", opts.out, "-"]);
const pageTexts = text.split("\f").slice(0, pages);
if (/KaTeX parse error|ParseError:/.test(text)) problems.push('the PDF says "KaTeX parse error"');
// Math left raw, as book_static_check.py defines it, on a line that is not from a code block.
const RAW_MATH = /\$\$|\\\(|\\\[|(^|[^\\\w$])\$(?=\S)([^$\n]*?\S)?\$(?!\d)/;
const code = new Set(info.codeLines);
const raw = text.split("\n").map((l) => l.trim())
  .filter((l) => RAW_MATH.test(l) && ![...code].some((c) => c.includes(l) || l.includes(c)));
for (const line of raw.slice(0, 5)) problems.push(`math left raw in the PDF: ${JSON.stringify(line.slice(0, 80))}`);
if (info.hangul && !/[\uac00-\ud7a3]/.test(text)) problems.push("the page has Hangul, the PDF's text none (not embedded as text)");
// Page numbers: with --pages a-b the first page printed is page a.
const first = Number(/^(\d+)/.exec(opts.pages ?? "1")?.[1] ?? 1);
// (pdftotext may or may not keep the spaces around the slash of "7 / 131".)
const unnumbered = pageTexts.map((t, i) => i + first).filter((n, i) => !new RegExp(`(^|\\s)${n}\\s*/\\s*\\d+\\s*$`, "m").test(pageTexts[i]));
if (unnumbered.length) problems.push(`no page number in the footer of page(s) ${unnumbered.slice(0, 10).join(", ")}`);
const raw_pdf = readFileSync(opts.out, "latin1");
if (!/\/Outlines\s+\d+\s+0\s+R/.test(raw_pdf)) problems.push("the PDF has no outline (bookmarks)");
const local = [...raw_pdf.matchAll(/\/URI \((https?:\/\/127\.0\.0\.1[^)]*)\)/g)].map((m) => m[1]);
for (const url of new Set(local)) problems.push(`a link in the PDF leads to the temporary server: ${url}`);

const types = [...new Set(fonts.map((f) => f.type))].join(", ");
const size = (statSync(opts.out).size / 2 ** 20).toFixed(1);
const what = `${opts.out}: ${pages} pages${opts.pages ? ` (pages ${opts.pages} of ${rel})` : ""}, ${size} MiB, ` +
  `${fonts.length} fonts (${types}), ${fonts.length - notEmbedded.length} embedded, ` +
  `${info.math} math, ${info.images} images${info.unlinked ? `, ${info.unlinked} link(s) to site files as text` : ""}, ` +
  `${((Date.now() - started) / 1000).toFixed(1)} s`;
if (problems.length) {
  console.log(`FAIL ${what}`);
  for (const p of new Set(problems)) console.log(`       - ${p}`);
  process.exit(1);
}
console.log(`ok   ${what}`);
