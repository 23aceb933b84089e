// Writes the book's search index with Pagefind (npm package `pagefind`, pinned in package.json),
// one per edition, after mdBook has built both (scripts/book):
//
//   node scripts/lib/book_search_index.mjs HTML_DIR
//
// English: every page under HTML_DIR except ko/, written to HTML_DIR/pagefind/; Korean: every page
// under HTML_DIR/ko/, written to HTML_DIR/ko/pagefind/. Each edition gets its own index so that its
// search (book/theme/search.js) only ever answers in its own language. Indexed: each page's <main>
// (not the menu, the sidebar or the page navigation), without the TeX source KaTeX keeps for
// MathML and without the hidden lines of Rust blocks; not print.html (all chapters in one page),
// toc.html or 404.html, nor index.html (mdBook's copy of the first chapter). Each page's section
// headings go with it as the metadata "sections", which search.js ranks (see withSections). The
// URLs are relative to the edition's root ("/ch01-convolution.html"); search.js sets Pagefind's
// baseUrl to where that root is served.
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import * as pagefind from "pagefind";

const [dir] = process.argv.slice(2);
if (!dir || !statSync(join(dir, "index.html"), { throwIfNoEntry: false })) {
  console.error("usage: book_search_index.mjs HTML_DIR (a built book: HTML_DIR/index.html)");
  process.exit(2);
}
const NOT_INDEXED = new Set(["print.html", "toc.html", "404.html"]);
const editions = [{ lang: "en", root: dir, skip: (rel) => rel === "ko" || rel.startsWith("ko/") }];
if (statSync(join(dir, "ko", "index.html"), { throwIfNoEntry: false })) {
  editions.push({ lang: "ko", root: join(dir, "ko"), skip: () => false });
}

let failed = false;
for (const { lang, root, skip } of editions) {
  // mdBook copies the first chapter to index.html: a page whose <main> is another's is left out
  // (index.html last, so that the chapter's own name is the one kept).
  const pages = readdirSync(root, { recursive: true })
    .filter((rel) => rel.endsWith(".html") && !NOT_INDEXED.has(rel) && !skip(rel) &&
      !rel.startsWith("pagefind/"))
    .sort((a, b) => (a === "index.html") - (b === "index.html") || a.localeCompare(b));
  const seen = new Set();
  const { index, errors } = await pagefind.createIndex({
    rootSelector: "main",
    excludeSelectors: [".katex-mathml", ".boring", "pre > .buttons", "script", "style"],
    forceLanguage: lang,
    keepIndexUrl: true, // "index.html" stays: the book also works from a plain file server
  });
  if (!index) throw new Error(`pagefind: ${errors.join("; ")}`);
  let indexed = 0;
  for (const rel of pages) {
    const content = readFileSync(join(root, rel), "utf8");
    const main = /<main>[\s\S]*<\/main>/.exec(content)?.[0] ?? content;
    if (seen.has(main)) continue;
    seen.add(main);
    const added = await index.addHTMLFile({ url: `/${rel}`, content: withSections(content) });
    if (added.errors.length) {
      console.error(`FAIL search index, ${lang}: ${rel}: ${added.errors.join("; ")}`);
      failed = true;
    }
    indexed++;
  }
  const out = join(root, "pagefind");
  rmSync(out, { recursive: true, force: true });
  const written = await index.writeFiles({ outputPath: out });
  if (written.errors.length) {
    console.error(`FAIL search index, ${lang}: ${written.errors.join("; ")}`);
    failed = true;
  }
  // Pagefind's own search UIs: search.js uses its JavaScript API (pagefind.js) only.
  for (const file of readdirSync(out)) {
    if (/^pagefind-(ui|modular-ui|component-ui|highlight)\.(js|css)$/.test(file)) rmSync(join(out, file));
  }
  console.log(`search index (${lang}): ${indexed} pages -> ${out}`);
}
await pagefind.close();
process.exit(failed ? 1 : 0);

// The page's section headings (its <h2>s) as Pagefind metadata, "sections": search.js ranks a
// match there above one in the text (Pagefind's ranking.metaWeights), so the chapter with a
// section on "활성화 맵" comes before the chapters that only use the words many times.
function withSections(html) {
  const text = (h) => h.replace(/<[^>]+>/g, "").replace(/&[#\w]+;/g, " ").replace(/[\s:"]+/g, " ").trim();
  const headings = [...html.matchAll(/<h2\b[^>]*>([\s\S]*?)<\/h2>/g)].map((m) => text(m[1])).filter(Boolean);
  if (!headings.length) return html;
  return html.replace("<main>", `<main><span data-pagefind-meta="sections:${headings.join(" / ")}"></span>`);
}
