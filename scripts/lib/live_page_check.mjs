// Checks the book's "Try it: draw a digit" page (book/src/try-it.md, book/src/live/) in headless
// Chromium, on the built book served from 127.0.0.1:
//
//   node scripts/lib/live_page_check.mjs --book book/book/html --vectors DIR/test-vectors.json \
//        --second-model OTHER.safetensors [--screenshots OUTDIR] [--page try-it.html] [--lang en]
//
// One edition per run: the English page (the defaults), or the Korean one with
// `--page ko/try-it.html --lang ko` (scripts/book runs both). Elements are found by id and data
// attributes, never by their text, so every check runs on both.
//
// --vectors comes from `lenet-tutor export-web --model M --out DIR --test-vectors 20`, for the model
// the book ships (live/lenet-ch06.safetensors); --second-model is any other exported model.
// It fails (exit 1, with what went wrong) unless:
//   1. the page loads its model with no console error, no exception and no request off 127.0.0.1;
//   2. the page's JavaScript forward pass gives every layer of every test vector within 1e-4;
//   3. digits drawn on the canvas with real pointer events (each case's input, thresholded, traced
//      row by row) are read as their labels, most of them, and every feature map shows something;
//      Clear blanks them again; the feature maps and buttons work from the keyboard;
//   4. the second model, loaded through the file picker, gives other logits for the same drawing;
//      broken files (random bytes, a wrong shape, a missing tensor) show an error and leave the
//      second model predicting;
//   5. one forward pass takes at most 5 ms (median of 50, in the page);
//   6. the widget speaks the page's language (<html lang>, which must be --lang): every label
//      try-it.md gives a key (data-text, data-aria-label) shows the text of lenet-live-page.js's
//      table, which for English is the fallback written in try-it.md and for Korean is Korean (the
//      Clear button reads 지우기); the prediction, kernel caption, map labels, status messages and
//      announcements are Korean on the Korean page and free of Korean on the English one; with
//      JavaScript off, the <noscript> message is the one of the page's language.
// With --screenshots it saves the page empty and with a digit, at desktop and at phone width.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { guardPage, withServedBrowser } from "./browser.mjs";

const { values: opts } = parseArgs({
  options: {
    book: { type: "string" },
    vectors: { type: "string" },
    "second-model": { type: "string" },
    screenshots: { type: "string" },
    page: { type: "string", default: "try-it.html" },
    lang: { type: "string", default: "en" },
  },
});
if (!opts.book || !opts.vectors || !opts["second-model"]) {
  console.error(
    "usage: live_page_check.mjs --book HTML_DIR --vectors test-vectors.json --second-model OTHER.safetensors " +
      "[--screenshots DIR] [--page try-it.html] [--lang en|ko]",
  );
  process.exit(2);
}
if (!["en", "ko"].includes(opts.lang)) {
  console.error(`error: --lang ${opts.lang}: the page speaks en or ko`);
  process.exit(2);
}

const TOLERANCE = 1e-4; // max |page - crate| per activation
const MAX_FORWARD_MS = 5;
const DRAWN_CASES = 10; // how many test digits are drawn with the mouse
const MIN_DRAWN_CORRECT = 0.7; // share of them that must be read as their label
const LAYERS = ["conv1", "pool1", "conv2", "pool2", "fc1", "logits", "log_probs"];
/** Texts the check expects in each language (the rest is checked against the page's own table). */
const EXPECT = {
  en: { clear: "Clear", kernel: "conv1 kernel 1", mapLabel: "conv2 map 1", noscript: "This page needs JavaScript" },
  ko: { clear: "지우기", kernel: "conv1 커널 1", mapLabel: "conv2 특징 맵 1", noscript: "JavaScript가 필요합니다" },
}[opts.lang];
const HANGUL = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/;
/** Whether `text` is in the page's language: with Hangul on the Korean page, without on the English. */
const speaks = (text) => (opts.lang === "ko" ? HANGUL.test(text) : !HANGUL.test(text));
const LANGUAGE_NAME = { en: "English", ko: "Korean" }[opts.lang];

if (!existsSync(join(opts.book, opts.page))) {
  console.error(`error: ${join(opts.book, opts.page)} does not exist; build the book first (scripts/book)`);
  process.exit(2);
}
const vectors = JSON.parse(readFileSync(opts.vectors, "utf8"));
if (!Array.isArray(vectors.cases) || vectors.cases.length === 0) {
  console.error(`error: ${opts.vectors} has no "cases"`);
  process.exit(2);
}
const secondModel = readFileSync(opts["second-model"]);
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.log(`  FAIL ${message}`);
};
const log = (message) => console.log(`live page (${opts.lang}): ${message}`);
/** Fails unless `text` (what the page shows as `what`) is in the page's language. */
const inLanguage = (what, text) => speaks(text) || fail(`${what} is not ${LANGUAGE_NAME}: "${text}"`);

// ---- helpers run in the page ---------------------------------------------------------------------

/** Whether each feature-map canvas (and the input) has any painted pixel. */
function paintedCanvases() {
  const painted = (canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  };
  const maps = [...document.querySelectorAll("canvas.ll-map")];
  return {
    maps: maps.length,
    paintedMaps: maps.filter(painted).length,
    blankMaps: maps.filter((c) => !painted(c)).map((c) => `${c.dataset.layer}[${c.dataset.channel}]`),
    input: painted(document.getElementById("ll-input")),
    prediction: document.getElementById("ll-prediction").dataset.class ?? null,
  };
}

// ---- drawing with the mouse -------------------------------------------------------------------------

/** The case's 28x28 input as bytes (undoing the normalisation, with the shipped mean and std). */
function caseBytes(input, mean, std) {
  return input.map((v) => Math.round((v * std + mean) * 255));
}

/** Horizontal strokes over the bright pixels of `bytes`, row by row: [[c0, r], [c1, r]] in pixels. */
function strokesOf(bytes, threshold = 128) {
  const strokes = [];
  for (let r = 0; r < 28; r++) {
    let start = -1;
    for (let c = 0; c <= 28; c++) {
      const on = c < 28 && bytes[r * 28 + c] >= threshold;
      if (on && start < 0) start = c;
      if (!on && start >= 0) {
        strokes.push([[start, r], [c - 1, r]]);
        start = -1;
      }
    }
  }
  return strokes;
}

async function clearPad(page) {
  await page.click("#ll-clear");
}

/** Draws `bytes` on the pad with page.mouse (real pointer events), after clearing it. */
async function drawDigit(page, bytes) {
  await clearPad(page);
  const box = await page.locator("#ll-pad").boundingBox();
  const at = ([c, r]) => [box.x + ((c + 0.5) / 28) * box.width, box.y + ((r + 0.5) / 28) * box.height];
  for (const [from, to] of strokesOf(bytes)) {
    await page.mouse.move(...at(from));
    await page.mouse.down();
    await page.mouse.move(...at(to), { steps: Math.max(1, to[0] - from[0]) });
    await page.mouse.up();
  }
  // The page redraws on the next animation frame; after pointerup it redraws at once.
  await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok())));
}

/** Draws `bytes` with touch events (CDP), as a finger would on a phone. */
async function drawDigitByTouch(page, bytes) {
  await clearPad(page);
  const box = await page.locator("#ll-pad").boundingBox();
  const at = ([c, r]) => ({ x: box.x + ((c + 0.5) / 28) * box.width, y: box.y + ((r + 0.5) / 28) * box.height });
  const cdp = await page.context().newCDPSession(page);
  for (const [from, to] of strokesOf(bytes)) {
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [at(from)] });
    const steps = Math.max(1, to[0] - from[0]);
    for (let s = 1; s <= steps; s++) {
      const c = from[0] + ((to[0] - from[0]) * s) / steps;
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [at([c, from[1]])] });
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  }
  await cdp.detach();
  await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok())));
}

const lastLogits = (page) => page.evaluate(() => Array.from(window.lenetLive.result()?.layers.logits ?? []));
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function openPage(context, origin) {
  const page = await context.newPage();
  const problems = guardPage(page, origin);
  await page.goto(`${origin}/${opts.page}`, { waitUntil: "load" });
  const ready = await page.evaluate(async () => {
    if (!window.lenetLive) return "window.lenetLive is not defined (did lenet-live-page.js run?)";
    try {
      await window.lenetLive.ready;
      return "ok";
    } catch (error) {
      return `${error.message}; the page says: ${document.getElementById("ll-status").textContent}`;
    }
  });
  if (ready !== "ok") throw new Error(`the page did not load its model: ${ready}`);
  return { page, problems };
}

// ---- the checks ---------------------------------------------------------------------------------------

async function checkForward(page) {
  log(`forward pass against ${vectors.cases.length} test vectors (model ${vectors.model ?? "?"})`);
  const report = await page.evaluate(
    ({ cases, layers }) => {
      const worst = Object.fromEntries(layers.map((l) => [l, { diff: 0, case: -1 }]));
      const problems = [];
      cases.forEach((c, i) => {
        const out = window.lenetLive.forward(c.input);
        for (const layer of layers) {
          const mine = layer === "log_probs" ? out.logProbs : out[layer];
          const theirs = c[layer];
          if (!theirs) continue;
          if (!mine || mine.length !== theirs.length) {
            problems.push(`case ${i} ${layer}: ${mine?.length} values, the vectors have ${theirs.length}`);
            continue;
          }
          for (let k = 0; k < theirs.length; k++) {
            const d = Math.abs(mine[k] - theirs[k]);
            if (!(d <= worst[layer].diff)) worst[layer] = { diff: Number.isNaN(d) ? Infinity : d, case: i, index: k };
          }
        }
      });
      return { worst, problems, model: window.lenetLive.model().name };
    },
    { cases: vectors.cases, layers: LAYERS },
  );
  report.problems.forEach(fail);
  for (const layer of LAYERS) {
    const w = report.worst[layer];
    if (w.case < 0) {
      fail(`the vectors have no "${layer}"`);
      continue;
    }
    const line = `${layer.padEnd(9)} max |page − crate| = ${w.diff.toExponential(2)} (case ${w.case}, index ${w.index})`;
    if (w.diff > TOLERANCE) fail(`${line} > ${TOLERANCE}`);
    else log(`  ${line}`);
  }
  if (vectors.model && basename(vectors.model) !== report.model) {
    log(`  note: the vectors name model ${vectors.model}, the page loaded ${report.model}`);
  }
  if (LAYERS.some((l) => report.worst[l].diff > 1)) {
    log(
      "  hint: differences this large mean another model, not rounding: the vectors must be written " +
        "(export-web --test-vectors) from the model the book ships as live/lenet-ch06.safetensors",
    );
  }
}

/**
 * Optional: vectors.pictures = [{ width, height, channels: 1 (grey) or 4 (RGBA), pixels: [u8],
 * digit: [784 u8] }], each `digit` what the crate's digit_from_picture makes of the picture. The
 * page's preprocessing must give the same bytes (at most 1 level apart, from f32 rounding).
 */
async function checkPictures(page) {
  const pictures = vectors.pictures ?? [];
  if (pictures.length === 0) {
    log("preprocessing: the vectors have no \"pictures\", so it is not compared with the crate's");
    return;
  }
  const results = await page.evaluate((pictures) =>
    pictures.map((p) => {
      const rgba = new Uint8ClampedArray(p.width * p.height * 4);
      for (let i = 0; i < p.width * p.height; i++) {
        const px = p.channels === 4 ? p.pixels.slice(4 * i, 4 * i + 4) : [p.pixels[i], p.pixels[i], p.pixels[i], 255];
        rgba.set(px, 4 * i);
      }
      try {
        const mine = window.LeNetLive.digitFromRgba(rgba, p.width, p.height, p.channels === 4);
        let max = 0;
        let count = 0;
        mine.forEach((v, k) => {
          const d = Math.abs(v - p.digit[k]);
          max = Math.max(max, d);
          if (d > 0) count++;
        });
        return { max, count };
      } catch (error) {
        return { error: error.message };
      }
    }), pictures);
  results.forEach((r, i) => {
    const p = pictures[i];
    const what = `picture ${i} (${p.width}×${p.height}, ${p.channels === 4 ? "RGBA" : "grey"})`;
    if (r.error) fail(`${what}: the page's preprocessing failed: ${r.error}`);
    else if (r.max > 1) fail(`${what}: ${r.count} of 784 bytes differ from the crate's, by up to ${r.max}`);
    else log(`  ${what}: ${r.count === 0 ? "same 784 bytes as the crate" : `${r.count} bytes off by 1`}`);
  });
}

async function checkDrawing(page) {
  const { mean, std } = await page.evaluate(() => ({ mean: window.lenetLive.model().mean, std: window.lenetLive.model().std }));
  const cases = vectors.cases.slice(0, DRAWN_CASES);
  log(`drawing ${cases.length} test digits with the mouse`);
  let correct = 0;
  let firstCorrect = -1;
  const lines = [];
  for (const [i, c] of cases.entries()) {
    const bytes = caseBytes(c.input, mean, std);
    await drawDigit(page, bytes);
    const state = await page.evaluate(paintedCanvases);
    const seen = await page.evaluate(() => Array.from(window.lenetLive.result()?.bytes ?? []));
    // How close the page's 28x28 is to the original digit (cosine similarity of the bytes).
    const dot = seen.reduce((s, v, k) => s + v * bytes[k], 0);
    const norm = (a) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    const cosine = seen.length ? dot / (norm(seen) * norm(bytes)) : 0;
    const ok = state.prediction === String(c.label);
    if (ok) {
      correct++;
      if (firstCorrect < 0) firstCorrect = i;
    }
    lines.push(`case ${i}: label ${c.label}, shown ${state.prediction ?? "nothing"}${ok ? "" : " ✗"} (input cosine ${cosine.toFixed(3)})`);
    if (state.paintedMaps !== state.maps || !state.input) {
      fail(`case ${i}: after drawing, blank canvases: ${state.input ? "" : "input "}${state.blankMaps.join(" ")}`);
    }
  }
  lines.forEach((l) => log(`  ${l}`));
  const needed = Math.ceil(MIN_DRAWN_CORRECT * cases.length);
  if (correct < needed) fail(`only ${correct} of ${cases.length} drawn digits were read as their label (need ${needed})`);
  else log(`  ${correct} of ${cases.length} drawn digits read as their label (need ${needed})`);

  inLanguage("the announcement of a prediction", await page.textContent("#ll-announce"));
  await clearPad(page);
  inLanguage("the announcement of Clear", await page.textContent("#ll-announce"));
  inLanguage("the prediction after Clear", await page.textContent("#ll-prediction"));
  const cleared = await page.evaluate(paintedCanvases);
  if (cleared.paintedMaps !== 0 || cleared.input || cleared.prediction !== null) {
    fail(`Clear left ${cleared.paintedMaps} feature maps painted, input ${cleared.input ? "painted" : "blank"}, prediction ${cleared.prediction}`);
  } else {
    log(`  Clear blanks all ${cleared.maps} feature maps, the input and the prediction`);
  }
  return Math.max(firstCorrect, 0);
}

/** "Save drawing as PNG", then "Open a picture…" with that file: the same 784 bytes, the same logits. */
async function checkSavedPicture(page, caseIndex) {
  const c = vectors.cases[caseIndex];
  const { mean, std } = await page.evaluate(() => window.lenetLive.model());
  await drawDigit(page, caseBytes(c.input, mean, std));
  const drawn = await page.evaluate(() => {
    const r = window.lenetLive.result();
    return { bytes: Array.from(r.bytes), logits: Array.from(r.layers.logits), probs: Array.from(r.layers.logProbs, Math.exp) };
  });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#ll-save")]);
  const png = readFileSync(await download.path());
  if (!png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))) {
    fail(`"Save drawing as PNG" saved ${download.suggestedFilename()}, which is not a PNG`);
    return;
  }
  await page.setInputFiles("#ll-picture-file", { name: "my-digit.png", mimeType: "image/png", buffer: png });
  await page.waitForFunction(() => document.getElementById("ll-status").dataset.message === "opened", null, { timeout: 5000 }).catch(() => {});
  const opened = await page.evaluate(() => {
    const r = window.lenetLive.result();
    return r && { bytes: Array.from(r.bytes), logits: Array.from(r.layers.logits) };
  });
  if (!opened) {
    fail(`opening the saved PNG showed no result; status "${await page.textContent("#ll-status")}"`);
    return;
  }
  const bytesDiff = maxAbsDiff(opened.bytes, drawn.bytes);
  const logitsDiff = maxAbsDiff(opened.logits, drawn.logits);
  if (bytesDiff !== 0 || logitsDiff !== 0) {
    fail(`the saved PNG, opened again, differs from the drawing: bytes by up to ${bytesDiff}, logits by ${logitsDiff}`);
  } else {
    log(`saved the drawing of case ${caseIndex} as PNG and opened it again: same 784 bytes, same logits`);
  }
  inLanguage("the status after opening a picture", await page.textContent("#ll-status"));
  if (opts.screenshots) {
    mkdirSync(opts.screenshots, { recursive: true });
    writeFileSync(join(opts.screenshots, "my-digit.png"), png);
    // The line `lenet-tutor predict --model M my-digit.png` prints, for comparing by eye.
    const best = drawn.probs.indexOf(Math.max(...drawn.probs));
    const all = drawn.probs.map((p, d) => `${d}:${p.toFixed(3)}`).join(" ");
    log(`  the page on ${join(opts.screenshots, "my-digit.png")}: ${best} (${(100 * drawn.probs[best]).toFixed(1)}%)  [${all}]`);
  }
}

async function checkKeyboard(page) {
  const before = failures.length;
  // Tab order: the buttons are real buttons; one feature map is in the Tab order, arrows move.
  const url = page.url();
  await page.focus("canvas.ll-map[data-layer=conv1][data-channel='0']");
  const step = async (key) => {
    await page.keyboard.press(key);
    return page.evaluate(() => ({
      at: `${document.activeElement.dataset.layer}[${document.activeElement.dataset.channel}]`,
      caption: document.getElementById("ll-kernel-caption").textContent,
      slices: document.querySelectorAll("#ll-kernel-maps canvas").length,
      label: document.activeElement.getAttribute("aria-label") ?? "",
    }));
  };
  const right = await step("ArrowRight");
  const down = await step("ArrowDown");
  const down2 = await step("ArrowDown");
  if (right.at !== "conv1[1]" || !right.caption.includes(EXPECT.kernel) || right.slices !== 1) {
    fail(`ArrowRight from conv1[0]: focus ${right.at}, ${right.slices} kernel canvases, caption "${right.caption}"`);
  }
  if (down.at !== "pool1[1]" || !down.caption.includes(EXPECT.kernel)) fail(`ArrowDown: focus ${down.at}, caption "${down.caption}"`);
  if (down2.at !== "conv2[1]" || down2.slices !== 10) fail(`ArrowDown to conv2: focus ${down2.at}, ${down2.slices} kernel slices (want 10)`);
  if (!down2.label.startsWith(EXPECT.mapLabel)) fail(`conv2[1]'s aria-label is "${down2.label}"`);
  [right, down, down2].forEach((at) => inLanguage(`the kernel caption of ${at.at}`, at.caption));
  inLanguage("conv2[1]'s aria-label", down2.label);
  if (page.url() !== url) fail(`the arrow keys left the page (now ${page.url()}): mdBook's chapter keys were not held back`);
  const buttons = await page.evaluate(() =>
    ["ll-clear", "ll-load-model", "ll-open-picture", "ll-save"].map((id) => document.getElementById(id)?.tagName ?? "missing"),
  );
  if (buttons.some((t) => t !== "BUTTON")) fail(`clear/load/open/save should be buttons: ${buttons}`);
  if (failures.length === before) log("keyboard: maps focusable, arrows move between maps and show their kernels; controls are buttons");
}

async function checkModels(page, caseIndex) {
  const c = vectors.cases[caseIndex];
  const { mean, std, name: firstName } = await page.evaluate(() => window.lenetLive.model());
  const bytes = caseBytes(c.input, mean, std);
  await drawDigit(page, bytes);
  const first = await lastLogits(page);
  const secondName = basename(opts["second-model"]);
  log(`loading ${secondName} through the file picker (case ${caseIndex} drawn)`);
  const statusOf = () =>
    page.evaluate(() => {
      const s = document.getElementById("ll-status");
      return { text: s.textContent, error: s.classList.contains("ll-error"), model: document.getElementById("ll-model-name").textContent };
    });
  await page.setInputFiles("#ll-model-file", { name: secondName, mimeType: "application/octet-stream", buffer: secondModel });
  await page.waitForFunction((n) => document.getElementById("ll-model-name").textContent === n, secondName, { timeout: 5000 }).catch(() => {});
  let s = await statusOf();
  if (s.model !== secondName || s.error) fail(`after loading ${secondName}: model "${s.model}", status "${s.text}"`);
  inLanguage(`the status after loading ${secondName}`, s.text);
  const second = await lastLogits(page);
  const differ = first.length && second.length ? maxAbsDiff(first, second) : 0;
  if (!(differ > 1e-3)) fail(`the second model gave the same logits for the same drawing (max diff ${differ})`);
  else log(`  logits changed by up to ${differ.toFixed(3)}; status "${s.text}"`);

  // Broken files: each must show an error and leave the second model in place.
  const [random, wrongShape, missing] = [randomBytes(4096), editHeader(secondModel, (h) => {
    h["fc2.weight"].shape = [50, 10];
  }), editHeader(secondModel, (h) => {
    delete h["fc2.bias"];
  })];
  random.writeBigUInt64LE(123456789n, 0); // not left to chance: a header length past the end
  const broken = [
    ["random.safetensors", random, /not a safetensors/i],
    ["wrong-shape.safetensors", wrongShape, /fc2\.weight has shape \[50,10\], expected \[10,50\]/],
    ["missing.safetensors", missing, /fc2\.bias is missing/],
    ["checkpoint.safetensors", editHeader(secondModel, (h) => delete h.__metadata__), /not a model for this page/],
  ];
  for (const [name, buffer, expected] of broken) {
    await page.setInputFiles("#ll-model-file", { name, mimeType: "application/octet-stream", buffer });
    await page.waitForFunction((n) => document.getElementById("ll-status").textContent.includes(n), name, { timeout: 5000 }).catch(() => {});
    s = await statusOf();
    // lenet-live.js's own message (in English) is part of the Korean one too.
    if (!s.error || !expected.test(s.text)) fail(`${name}: expected an error matching ${expected}, the page says "${s.text}"`);
    else log(`  ${name}: "${s.text}"`);
    inLanguage(`the error for ${name}`, s.text);
    if (s.model !== secondName) fail(`${name}: the model in use changed to "${s.model}"`);
  }
  const live = await page.evaluate(() => document.getElementById("ll-status").getAttribute("aria-live"));
  if (live !== "polite") fail(`the status message is not an aria-live region (aria-live="${live}")`);
  await drawDigit(page, bytes);
  const again = await lastLogits(page);
  if (!(again.length && maxAbsDiff(again, second) === 0)) fail("after the broken files, the same drawing no longer gives the second model's logits");
  else log(`  after the broken files, ${secondName} still predicts (same logits for the same drawing)`);
  return firstName;
}

/** A copy of a safetensors file with its JSON header changed by `edit` (data kept as it is). */
function editHeader(file, edit) {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString("utf8"));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, file.subarray(8 + n)]);
}

/** The widget's words (6. above); `browser` for a page with JavaScript off. */
async function checkLanguage(page, browser, origin) {
  const before = failures.length;
  const { lang, language } = await page.evaluate(() => ({ lang: document.documentElement.lang, language: window.lenetLive.language }));
  if (lang !== opts.lang || language !== opts.lang) {
    fail(`the page is <html lang="${lang}"> and its widget speaks "${language}"; expected "${opts.lang}" (--lang)`);
  }
  // Every labelled element: its English fallback (try-it.md as served), the table's text, the text shown.
  const labels = await page.evaluate(async () => {
    const served = new DOMParser().parseFromString(await (await fetch(location.href)).text(), "text/html");
    const labels = [];
    for (const [attribute, read] of [["data-text", (e) => e.textContent], ["data-aria-label", (e) => e.getAttribute("aria-label")]]) {
      const shown = document.querySelectorAll(`#lenet-live [${attribute}]`);
      served.querySelectorAll(`#lenet-live [${attribute}]`).forEach((e, i) => {
        const key = e.getAttribute(attribute);
        labels.push({ attribute, key, id: e.id, fallback: read(e).trim(), table: window.lenetLive.say(key), shown: shown[i] && read(shown[i]) });
      });
    }
    return labels;
  });
  if (labels.length < 10) fail(`only ${labels.length} elements of the widget name their text with data-text or data-aria-label`);
  for (const l of labels) {
    const what = `[${l.attribute}="${l.key}"]`;
    if (opts.lang === "en" && l.table !== l.fallback) fail(`${what}: the English table says "${l.table}", try-it.md "${l.fallback}"`);
    if (opts.lang === "ko" && l.table === l.fallback) fail(`${what}: the Korean table has the English text "${l.table}"`);
    inLanguage(what, l.table);
    // The prediction and the model's name are rewritten once the model is loaded.
    if (!["ll-prediction", "ll-model-name"].includes(l.id) && l.shown !== l.table) fail(`${what} shows "${l.shown}", not "${l.table}"`);
  }
  const clear = await page.textContent("#ll-clear");
  if (clear !== EXPECT.clear) fail(`the Clear button reads "${clear}", not "${EXPECT.clear}"`);
  // What the script writes before anything is drawn.
  const written = await page.evaluate(() => ({
    prediction: document.getElementById("ll-prediction").textContent,
    caption: document.getElementById("ll-kernel-caption").textContent,
    mapLabel: document.querySelector("canvas.ll-map").getAttribute("aria-label"),
    rowTitles: [...document.querySelectorAll(".ll-map-title")].map((t) => t.title),
  }));
  inLanguage("the prediction before drawing", written.prediction);
  inLanguage("the kernel caption before a map is chosen", written.caption);
  inLanguage("a feature map's aria-label", written.mapLabel);
  written.rowTitles.forEach((t, i) => inLanguage(`feature-map row ${i}'s title`, t));
  // With JavaScript off, only <noscript> speaks: both languages are in it, CSS shows the page's one.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.goto(`${origin}/${opts.page}`, { waitUntil: "load" });
  const noscript = await plain.evaluate(() =>
    [...document.querySelectorAll("#lenet-live noscript *")].filter((e) => e.checkVisibility()).map((e) => e.innerText.trim()));
  await context.close();
  if (noscript.length !== 1 || !noscript[0].includes(EXPECT.noscript) || !speaks(noscript[0])) {
    fail(`with JavaScript off the page shows ${JSON.stringify(noscript)}, not the one ${LANGUAGE_NAME} <noscript> message`);
  }
  if (failures.length === before) {
    log(`language: <html lang="${lang}">, ${labels.length} labels from the ${LANGUAGE_NAME} table (Clear reads "${clear}"), ` +
      `messages ${LANGUAGE_NAME}, <noscript> "${noscript[0]}"`);
  }
}

async function checkSpeed(page) {
  const input = vectors.cases[0].input;
  const ms = await page.evaluate((x) => {
    const input = Float32Array.from(x);
    for (let i = 0; i < 10; i++) window.lenetLive.forward(input); // warm up the JIT
    const times = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      window.lenetLive.forward(input);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[25];
  }, input);
  const line = `one forward pass: ${ms.toFixed(2)} ms (median of 50)`;
  if (ms > MAX_FORWARD_MS) fail(`${line} > ${MAX_FORWARD_MS} ms`);
  else log(line);
}

async function screenshots(browser, origin, caseIndex) {
  const dir = opts.screenshots;
  mkdirSync(dir, { recursive: true });
  const shots = [
    ["desktop", { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 }],
    ["phone", { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ];
  for (const [name, options] of shots) {
    const context = await browser.newContext(options);
    const { page, problems } = await openPage(context, origin);
    const widget = page.locator("#lenet-live");
    await page.screenshot({ path: join(dir, `try-it-${name}-empty.png`), fullPage: true });
    const { mean, std } = await page.evaluate(() => window.lenetLive.model());
    const bytes = caseBytes(vectors.cases[caseIndex].input, mean, std);
    if (options.hasTouch) await drawDigitByTouch(page, bytes);
    else await drawDigit(page, bytes);
    await page.hover("canvas.ll-map[data-layer=conv2][data-channel='3']").catch(() => {});
    if (options.hasTouch) await page.tap("canvas.ll-map[data-layer=conv2][data-channel='3']");
    const state = await page.evaluate(paintedCanvases);
    if (state.prediction === null || state.paintedMaps !== state.maps) {
      fail(`${name}: drawing (${options.hasTouch ? "touch" : "mouse"}) showed prediction ${state.prediction}, ${state.paintedMaps}/${state.maps} maps`);
    }
    // mdBook's menu bar sticks to the top of the window: scroll back so full-page shots show it once.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(dir, `try-it-${name}-digit.png`), fullPage: true });
    // The widget alone, cut from the full page (an element shot would scroll it under the menu bar).
    const box = await widget.boundingBox();
    await page.screenshot({ path: join(dir, `try-it-${name}-widget.png`), fullPage: true, clip: box });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) fail(`${name}: the page scrolls sideways by ${overflow} px`);
    problems.forEach((p) => fail(`${name} screenshots: ${p}`));
    await context.close();
    log(`screenshots (${name}, ${options.hasTouch ? "touch" : "mouse"} drawing, shown ${state.prediction}) in ${dir}`);
  }
}

// ---- main -------------------------------------------------------------------------------------------

try {
  await withServedBrowser(opts.book, async ({ browser, context, origin }) => {
    const { page, problems } = await openPage(context, origin);
    log(`${origin}/${opts.page} loaded its model`);
    await checkLanguage(page, browser, origin);
    await checkForward(page);
    await checkPictures(page);
    const caseIndex = await checkDrawing(page);
    await checkSavedPicture(page, caseIndex);
    await checkKeyboard(page);
    await checkModels(page, caseIndex);
    await checkSpeed(page);
    problems.forEach(fail);
    if (opts.screenshots) await screenshots(browser, origin, caseIndex);
  });
} catch (error) {
  fail(error.stack ?? String(error));
}
if (failures.length > 0) {
  console.error(`live page check FAILED (${failures.length} problem${failures.length > 1 ? "s" : ""}):`);
  failures.forEach((f) => console.error(`  - ${f}`));
  process.exit(1);
}
log("all checks passed");
