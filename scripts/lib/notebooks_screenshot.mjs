// Screenshots of notebooks run in JupyterLab, as a reader runs them: a developer's check of how the
// generated notebooks look (Hangul, math, figures), not part of CI.
//
//   scripts/notebooks --screenshots DIR [NOTEBOOK.ipynb ...]
//       (default: notebooks/en/01-convolution.ipynb notebooks/ko/03-conv-layer.ipynb)
//
// scripts/notebooks sets up the kernel and JupyterLab (as --setup does) and runs this with
// LENET_VENV (.venv-notebooks), LENET_ROOT and JUPYTER_PATH set. For each notebook it starts
// JupyterLab on 127.0.0.1 (a random token, the repository as its root, its settings and workspaces
// in a temporary folder, notebook windowing off so that every cell is in the page), opens the
// notebook in Debian's Chromium (playwright-core, scripts/lib/browser.mjs), clicks Run > Run All
// Cells, waits until every code cell has its execution count, then grows the window to the whole
// notebook's height (the notebook scrolls inside JupyterLab's page) and writes it, whole, to
// DIR/<en|ko>-<name>.png and, in screenfuls of 1600 px to read, to DIR/<en|ko>-<name>-NN.png.
// It prints per notebook: how long the first cell (`:dep`) and the whole run took, the rendered
// math, markdown images that did not load, output images, error outputs and requests that left
// 127.0.0.1. Exit status 1 when a cell failed, an image did not load or math stayed raw ($…$).
// Environment: NOTEBOOK_RUN_TIMEOUT (seconds per notebook, default 1800).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { launchChromium } from "./browser.mjs";

const [outDir, ...given] = process.argv.slice(2);
const root = resolve(process.env.LENET_ROOT ?? ".");
const venv = process.env.LENET_VENV ?? join(root, ".venv-notebooks");
const runTimeout = 1000 * Number(process.env.NOTEBOOK_RUN_TIMEOUT ?? 1800);
if (!outDir) {
  console.error("usage: notebooks_screenshot.mjs DIR [NOTEBOOK.ipynb ...]");
  process.exit(2);
}
const notebooks = (given.length ? given : ["notebooks/en/01-convolution.ipynb", "notebooks/ko/03-conv-layer.ipynb"])
  .map((path) => relative(root, resolve(path)));
mkdirSync(outDir, { recursive: true });

const freePort = () => new Promise((ok, fail) => {
  const server = createServer().once("error", fail).listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** JupyterLab on 127.0.0.1 with settings of its own; resolves to { origin, token, stop() }. */
async function startJupyterLab() {
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const scratch = mkdtempSync(join(tmpdir(), "lenet-jupyterlab-"));
  const settings = join(scratch, "settings");
  // Every cell rendered (JupyterLab 4 renders only the visible ones by default) and no empty space
  // after the last (it would grow with the window), no autosave (the
  // committed notebooks stay as they are), no news or update checks (they would reach the web).
  for (const [plugin, value] of [
    ["@jupyterlab/notebook-extension/tracker", { windowingMode: "none", scrollPastEnd: false }],
    ["@jupyterlab/docmanager-extension/plugin", { autosave: false }],
    ["@jupyterlab/apputils-extension/notification", { fetchNews: "false", checkForUpdates: false }],
  ]) {
    mkdirSync(join(settings, dirname(plugin)), { recursive: true });
    writeFileSync(join(settings, `${plugin}.jupyterlab-settings`), JSON.stringify(value));
  }
  const args = ["lab", "--no-browser", "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`,
    "--ServerApp.port_retries=0", `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`,
    // The checkpoint JupyterLab makes when it opens a notebook: not in notebooks/*/.ipynb_checkpoints.
    `--FileCheckpoints.checkpoint_dir=${join(scratch, "checkpoints")}`];
  if (process.getuid?.() === 0) args.push("--allow-root");
  const server = spawn(join(venv, "bin", "jupyter"), args, {
    env: { ...process.env, JUPYTERLAB_SETTINGS_DIR: settings, JUPYTERLAB_WORKSPACES_DIR: join(scratch, "workspaces") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  server.stderr.on("data", (chunk) => { log = (log + chunk).slice(-20000); });
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    server.kill("SIGTERM");
    await Promise.race([new Promise((ok) => server.once("exit", ok)), sleep(10000)]);
    rmSync(scratch, { recursive: true, force: true });
  };
  for (const started = Date.now(); Date.now() - started < 60000; await sleep(500)) {
    if (server.exitCode !== null) break;
    try {
      if ((await fetch(`${origin}/api/status?token=${token}`)).ok) return { origin, token, stop, log: () => log };
    } catch { /* not listening yet */ }
  }
  await stop();
  throw new Error(`JupyterLab did not start:\n${log.slice(-3000)}`);
}

/** Runs one notebook in JupyterLab and screenshots it; returns a list of problems. */
async function shoot(browser, path) {
  const lab = await startJupyterLab();
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const offsite = [];
  await page.route((url) => url.origin !== lab.origin, (route) => {
    offsite.push(route.request().url());
    return route.abort("blockedbyclient");
  });
  page.on("pageerror", (error) => problems.push(`JavaScript exception: ${error.message}`));
  const name = `${path.split("/").at(-2)}-${basename(path, ".ipynb")}`;
  try {
    await page.goto(`${lab.origin}/lab/tree/${path}?token=${lab.token}`);
    const notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook");
    await notebook.waitFor({ timeout: 120000 });
    // Every code cell of the file in the page, and the kernel the notebook names ("rust",
    // registered by scripts/notebooks) started and idle.
    const codeCells = JSON.parse(readFileSync(join(root, path), "utf8")).cells
      .filter((cell) => cell.cell_type === "code").length;
    for (const started = Date.now(); (await notebook.locator(".jp-CodeCell").count()) < codeCells;) {
      if (Date.now() - started > 60000) throw new Error(`fewer than ${codeCells} code cells in the page`);
      await sleep(250);
    }
    await page.locator(".jp-StatusBar-Widget", { hasText: /Rust \(lenet-tutor\) \| Idle/ })
      .first().waitFor({ timeout: 180000 });
    // Room for the notebook: close the left side bar (the file browser) if it is open.
    if (await page.locator("#jp-left-stack").isVisible()) {
      await page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click();
    }

    // The committed outputs go first (Edit > Clear Outputs of All Cells), so that what the
    // screenshots show is this run's; then Run > Run All Cells, as a reader does it.
    const menu = async (top, item) => {
      await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${top}$`) }).click();
      await page.locator(".lm-Menu-itemLabel", { hasText: new RegExp(`^${item}$`) }).click();
    };
    const prompts = () => notebook.locator(".jp-CodeCell .jp-InputArea-prompt").allInnerTexts();
    await menu("Edit", "Clear Outputs of All Cells");
    for (let i = 0; (await prompts()).some((t) => /\d/.test(t)); i++) {
      if (i > 50) throw new Error("Edit > Clear Outputs of All Cells left execution counts");
      await sleep(100);
    }
    const started = Date.now();
    await menu("Run", "Run All Cells");
    let firstDone = null;
    for (;;) {
      const texts = await prompts();
      const done = texts.filter((t) => /\[\d+\]/.test(t)).length;
      const queued = texts.some((t) => t.includes("*"));
      if (firstDone === null && /\[\d+\]/.test(texts[0] ?? "")) firstDone = (Date.now() - started) / 1000;
      if (done === codeCells && !queued) break;
      // A cell that failed stops Run All: the cells after it are no longer queued.
      if (!queued && done > 0) break;
      if (await page.locator(".jp-Dialog").isVisible()) {
        problems.push(`a dialog opened: ${(await page.locator(".jp-Dialog").innerText()).replace(/\s+/g, " ")}`);
        break;
      }
      if (Date.now() - started > runTimeout) {
        problems.push(`not done after ${runTimeout / 1000}s (${done} of ${codeCells} code cells ran)`);
        break;
      }
      await sleep(1000);
    }
    const took = (Date.now() - started) / 1000;
    await sleep(2000); // MathJax typesets after the cells render

    const report = await page.evaluate(() => {
      const nb = document.querySelector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook");
      const markdown = [...nb.querySelectorAll(".jp-MarkdownCell .jp-RenderedMarkdown")];
      // Text outside code and outside typeset math that still has a `$`: math that did not render.
      const rawMath = [];
      for (const cell of markdown) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node; (node = walker.nextNode());) {
          if (node.parentElement.closest("code, pre, mjx-container, .MathJax")) continue;
          if (node.textContent.includes("$")) rawMath.push(node.textContent.trim().slice(0, 80));
        }
      }
      const images = [...nb.querySelectorAll(".jp-RenderedMarkdown img")];
      return {
        math: nb.querySelectorAll(".jp-RenderedMarkdown mjx-container, .jp-RenderedMarkdown .MathJax").length,
        rawMath,
        images: images.length,
        brokenImages: images.filter((img) => !img.complete || img.naturalWidth === 0)
          .map((img) => img.getAttribute("src")),
        outputImages: nb.querySelectorAll(".jp-OutputArea-output img, .jp-OutputArea-output svg").length,
        errors: [...nb.querySelectorAll(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
          .map((el) => el.innerText.trim().slice(0, 300)).filter((text) => text),
        unrun: [...nb.querySelectorAll(".jp-CodeCell .jp-InputArea-prompt")]
          .filter((el) => !/\[\d+\]/.test(el.innerText)).length,
      };
    });
    if (report.unrun) problems.push(`${report.unrun} code cell(s) did not run`);
    for (const error of report.errors) problems.push(`error output: ${error}`);
    for (const src of report.brokenImages) problems.push(`image did not load: ${src}`);
    for (const text of report.rawMath) problems.push(`math not rendered: ${text}`);
    for (const url of offsite) problems.push(`request left 127.0.0.1 (blocked): ${url}`);

    // The whole notebook in one tall window (JupyterLab scrolls the notebook inside the page, so
    // Playwright's fullPage would show one screenful): grow the window to the notebook's height
    // until it stops changing, write it whole, then in screenfuls for reading.
    const scroller = await notebook.evaluateHandle((nb) => {
      const outer = nb.querySelector(".jp-WindowedPanel-outer"); // JupyterLab 4
      if (outer) return outer;
      for (let el = nb; el; el = el.parentElement) {
        if (el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== "visible") return el;
      }
      return nb;
    });
    let windowHeight = 1600;
    for (let i = 0; i < 8; i++) {
      const { scroll, client } = await scroller.evaluate((el) => ({ scroll: el.scrollHeight, client: el.clientHeight }));
      if (scroll <= client + 1) break;
      windowHeight = Math.min(windowHeight + scroll - client + 8, 30000);
      await page.setViewportSize({ width: 1280, height: windowHeight });
      await sleep(1500);
    }
    const files = [join(outDir, `${name}.png`)];
    await page.screenshot({ path: files[0] });
    for (let y = 0, n = 1; y < windowHeight; y += 1600, n++) {
      const file = join(outDir, `${name}-${String(n).padStart(2, "0")}.png`);
      await page.screenshot({ path: file, clip: { x: 0, y, width: 1280, height: Math.min(1600, windowHeight - y) } });
      files.push(file);
    }
    console.log(`${problems.length ? "FAIL" : "ok  "} ${path}: ${codeCells} code cells, first cell done ` +
      `${firstDone?.toFixed(1) ?? "-"}s and all ${took.toFixed(1)}s after Run All; ${report.math} math ` +
      `element(s), ${report.images} markdown image(s), ${report.outputImages} output image(s); ` +
      `${windowHeight} px tall: ${files[0]}, and in ${files.length - 1} screenfuls ${join(outDir, name)}-NN.png`);
  } catch (error) {
    problems.push(`${error.message}\n${lab.log().slice(-2000)}`);
    await page.screenshot({ path: join(outDir, `${name}-error.png`) }).catch(() => {});
    console.log(`FAIL ${path}`);
  } finally {
    await context.close();
    await lab.stop();
  }
  for (const problem of problems) console.log(`       ${problem.replace(/\n/g, "\n       | ")}`);
  return problems;
}

const browser = await launchChromium();
let failed = 0;
try {
  for (const path of notebooks) failed += (await shoot(browser, path)).length > 0;
} finally {
  await browser.close();
}
console.log(`${notebooks.length - failed} notebook(s) ok, ${failed} with problems`);
process.exit(failed ? 1 : 0);
