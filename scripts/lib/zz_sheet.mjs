import { readdirSync } from "node:fs";
import { launchChromium, serveDirectory } from "./browser.mjs";
const [dir, prefix, out, cols = "4"] = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".png")).sort();
const server = await serveDirectory(dir);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
await page.goto(`${server.origin}/`).catch(() => {});
const html = `<body style="margin:0;background:#888;display:grid;grid-template-columns:repeat(${cols},auto);gap:6px;width:max-content">` +
  files.map((f) => `<div style="position:relative"><img src="${server.origin}/${f}" style="display:block;border:1px solid #000"><span style="position:absolute;top:0;left:0;background:yellow;font:12px sans-serif">${f}</span></div>`).join("") + "</body>";
await page.setContent(html);
await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth));
await page.screenshot({ path: out, fullPage: true });
await browser.close();
await server.close();
