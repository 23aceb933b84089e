import { withServedBrowser } from "/work/main/scripts/lib/browser.mjs";
const [dir, edition, ...queries] = process.argv.slice(2);
const ranking = process.env.RANKING ? JSON.parse(process.env.RANKING) : null;
await withServedBrowser(dir, async ({ context, origin }) => {
  const page = await context.newPage();
  await page.goto(`${origin}/${edition}index.html`);
  for (const q of queries) {
    const out = await page.evaluate(async ({ q, edition, ranking }) => {
      const pf = await import(`/${edition}pagefind/pagefind.js`);
      await pf.options({ baseUrl: `/${edition}`, ...(ranking ? { ranking } : {}) });
      const r = await pf.search(q);
      const rows = [];
      for (const x of r.results.slice(0, 6)) {
        const d = await x.data();
        rows.push(`${x.score.toFixed(3)} ${d.url} "${d.meta.title}" words=${d.word_count} locs=${d.locations.length} w=${JSON.stringify(d.weighted_locations.slice(0,4).map(l=>l.weight))}`);
      }
      return rows;
    }, { q, edition, ranking });
    console.log(`== ${q}\n${out.join("\n")}`);
  }
});
