import { withServedBrowser } from "./browser.mjs";
await withServedBrowser("/tmp/wt/book/book/html", async ({ context, origin }) => {
  for (const [ed, q] of [["ko/", "풀링"], ["", "padding"]]) {
    const page = await context.newPage();
    await page.goto(`${origin}/${ed}ch03-conv-layer.html`);
    await page.screenshot({ path: `/tmp/pfx/menu-${ed ? "ko" : "en"}.png`, clip: { x: 0, y: 0, width: 1280, height: 120 } });
    await page.keyboard.press("/");
    await page.keyboard.type(q);
    await page.waitForFunction((q) => document.querySelector("#book-search").dataset.query === q, q);
    await page.keyboard.press("ArrowDown");
    await page.screenshot({ path: `/tmp/pfx/search-${ed ? "ko" : "en"}.png` });
  }
});
