// Checks the book's search (book/theme/search.js over Pagefind's index) in headless Chromium, the
// way a reader uses it: on each edition's first page, press `/`, type a query, read the results.
// Used by scripts/book:
//
//   node scripts/lib/book_search_check.mjs HTML_DIR QUERIES_JSON
//
// QUERIES_JSON (book/search-queries.json) holds, per edition ("en", "ko"), a list of
//   { "query": "풀링", "page": "ch05-pooling.html", "top": 1, "particle": true }
// "page" must be among the first `top` results (default 3). With "particle", the words the
// expected page matched must include the query with a Korean particle attached (풀링은, 풀링과…):
// the word is found from its stem. Every result must be a page of the query's own edition. It also fails when `/` does not open the search
// box, when Esc does not close it, or on the usual page problems (guardPage: a JS error, a
// request that failed or left 127.0.0.1).
import { readFileSync } from "node:fs";
import { guardPage, withServedBrowser } from "./browser.mjs";

const [dir, queriesFile] = process.argv.slice(2);
if (!dir || !queriesFile) {
  console.error("usage: book_search_check.mjs HTML_DIR QUERIES_JSON");
  process.exit(2);
}
const queries = JSON.parse(readFileSync(queriesFile, "utf8"));
const EDITION_DIR = { en: "", ko: "ko/" };
const PARTICLES = "을|를|은|는|이|가|과|와|의|에|에서|으로|로|도|만";

let failed = 0, checked = 0;
const version = await withServedBrowser(dir, async ({ browser, context, origin }) => {
  for (const [lang, list] of Object.entries(queries)) {
    if (!(lang in EDITION_DIR)) throw new Error(`${queriesFile}: unknown edition "${lang}" (en, ko)`);
    const base = `${origin}/${EDITION_DIR[lang]}`;
    const page = await context.newPage();
    const problems = guardPage(page, origin);
    const fail = (what) => { failed++; console.log(`FAIL ${lang}: ${what}`); };
    await page.goto(`${base}index.html`, { waitUntil: "load" });
    for (const { query, page: want, top = 3, particle } of list) {
      checked++;
      // Opened from the keyboard, like a reader: `/` anywhere on the page.
      await page.locator("body").click({ position: { x: 5, y: 300 } }).catch(() => {});
      await page.keyboard.press("/");
      const box = page.locator("#book-search input[type=search]");
      try {
        await box.waitFor({ state: "visible", timeout: 5_000 });
      } catch {
        fail(`"/" did not open the search box`);
        break;
      }
      await box.fill("");
      await box.pressSequentially(query, { delay: 10 });
      let results;
      try {
        await page.waitForFunction((q) => {
          const d = document.querySelector("#book-search");
          return d.dataset.state === "error" || (d.dataset.state === "done" && d.dataset.query === q);
        }, query, { timeout: 15_000 });
        results = await page.evaluate(() => ({
          state: document.querySelector("#book-search").dataset.state,
          status: document.querySelector("#book-search-status").textContent,
          urls: [...document.querySelectorAll("#book-search .book-search-result")].map((li) => li.dataset.url),
          titles: [...document.querySelectorAll("#book-search .book-search-title")].map((a) => a.textContent),
          words: [...document.querySelectorAll("#book-search .book-search-result")].map((li) => li.dataset.words.split(" ")),
        }));
      } catch (error) {
        fail(`"${query}": no answer from the search (${error.message.split("\n")[0]})`);
        continue;
      }
      // The pages, relative to the edition's root (the dialog's links are absolute paths).
      const editionPath = new URL(base).pathname;
      const rels = results.urls.map((u) => (u.startsWith(editionPath) ? u.slice(editionPath.length) : `(other edition) ${u}`));
      const rank = rels.indexOf(want) + 1;
      const why = [];
      if (results.state === "error") why.push(`search failed: ${results.status}`);
      else if (rank === 0 || rank > top) why.push(`expected ${want} in the top ${top}, got ${rels.slice(0, 3).join(", ") || "nothing"}${rank ? ` (it is #${rank})` : ""}`);
      const foreign = rels.filter((r) => r.startsWith("(other edition)") || (lang === "en" && r.startsWith("ko/")));
      if (foreign.length) why.push(`results from another edition: ${foreign.join(", ")}`);
      const withParticle = new RegExp(`^${query}(${PARTICLES})[^\\p{L}]*$`, "u");
      const matched = rank ? results.words[rank - 1] : [];
      const inflected = [...new Set(matched.filter((w) => withParticle.test(w)))].slice(0, 6);
      if (particle && rank && !inflected.length) {
        why.push(`${want} matched no "${query}" with a particle (matched: ${matched.slice(0, 8).join(", ")})`);
      }
      if (why.length) fail(`"${query}": ${why.join("; ")}`);
      else {
        console.log(`ok   ${lang}: "${query}" -> ${want} #${rank} (top 3: ${rels.slice(0, 3).join(", ")})` +
          (particle ? `; found ${inflected.join(", ")}` : ""));
      }
      await page.keyboard.press("Escape");
      if (await page.locator("#book-search").evaluate((d) => d.open)) fail(`Esc did not close the search box`);
    }
    // ↓ from the box moves to the first result, Enter follows it.
    if (list.length) {
      await page.keyboard.press("s");
      await page.locator("#book-search input[type=search]").fill(list[0].query);
      await page.waitForFunction((q) => document.querySelector("#book-search").dataset.query === q, list[0].query);
      await page.keyboard.press("ArrowDown");
      const focused = await page.evaluate(() => document.activeElement?.closest(".book-search-result") !== null);
      if (!focused) fail(`↓ in the search box did not move to the first result`);
      await Promise.all([page.waitForURL((u) => u.pathname.endsWith(".html") && !u.pathname.endsWith("/index.html")), page.keyboard.press("Enter")])
        .catch(() => fail(`Enter on the first result did not open it`));
    }
    for (const problem of new Set(problems)) fail(problem);
    await page.close();
  }
  return browser.version();
});

console.log(`${checked} search queries checked in Chromium ${version}, ${failed} failed`);
process.exit(failed ? 1 : 0);
