// lenet-live-page.js: the "Try it: draw a digit" page. Wires the drawing pad, the picture and model
// pickers, the probability bars, the feature maps and the kernel panel to lenet-live.js.
//
// It exposes `window.lenetLive` for the browser check (scripts/lib/live_page_check.mjs) and for
// readers who open the console: `lenetLive.forward(input)` runs the current model on 784 normalised
// numbers and returns every layer.
"use strict";

(() => {
  const L = window.LeNetLive;
  const root = document.getElementById("lenet-live");
  if (!L || !root) return;
  const $ = (id) => document.getElementById(id);

  const DEFAULT_MODEL_URL = "live/lenet-ch06.safetensors";
  const PEN_WIDTH = 22; // pixels of the 280x280 pad: strokes about as thick as MNIST's
  /** The feature-map rows, in forward order; `kernel` is the conv layer whose kernel made the map. */
  const LAYERS = [
    { key: "conv1", channels: 10, side: 24, kernel: "conv1", what: "conv1's 10 kernels slid over the input, before ReLU" },
    { key: "pool1", channels: 10, side: 12, kernel: "conv1", what: "conv1's maps after 2×2 max pooling and ReLU" },
    { key: "conv2", channels: 20, side: 8, kernel: "conv2", what: "conv2's 20 kernels slid over pool1's 10 maps, before ReLU" },
    { key: "pool2", channels: 20, side: 4, kernel: "conv2", what: "conv2's maps after 2×2 max pooling and ReLU: the 320 numbers fc1 reads" },
  ];

  const pad = $("ll-pad");
  const padContext = pad.getContext("2d", { willReadFrequently: true });
  const status = $("ll-status");
  const announcer = $("ll-announce");

  let model = null; // the model in use (L.readModel's result)
  let source = "empty"; // what the network looks at: "empty", "pad" (the drawing) or "picture"
  let digitBytes = null; // the 784 preprocessed bytes of the current drawing or picture
  let result = null; // { bytes, input, layers } of the last forward pass
  let selected = null; // { layer, channel } whose kernel the kernel panel shows
  let pending = false; // a redraw is scheduled for the next animation frame

  // ---- the drawing pad ---------------------------------------------------------------------------

  function clearPad() {
    padContext.fillStyle = "#fff"; // opaque white paper, so a saved PNG looks like what is shown
    padContext.fillRect(0, 0, pad.width, pad.height);
  }

  /** Pointer position in pad pixels (the pad is 280x280 whatever size CSS gives it; the border
   *  around it is not part of it). */
  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    const x = event.clientX - rect.left - pad.clientLeft;
    const y = event.clientY - rect.top - pad.clientTop;
    return [(x * pad.width) / pad.clientWidth, (y * pad.height) / pad.clientHeight];
  }

  let last = null; // the previous point of the stroke being drawn, or null
  function strokeTo([x, y]) {
    padContext.strokeStyle = padContext.fillStyle = "#000";
    padContext.lineWidth = PEN_WIDTH;
    padContext.lineCap = padContext.lineJoin = "round";
    padContext.beginPath();
    if (last === null) {
      padContext.arc(x, y, PEN_WIDTH / 2, 0, 2 * Math.PI); // a tap makes a dot
      padContext.fill();
    } else {
      padContext.moveTo(last[0], last[1]);
      padContext.lineTo(x, y);
      padContext.stroke();
    }
    last = [x, y];
  }

  pad.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    source = "pad"; // also when drawing over an opened picture: then the pad (picture + strokes) is looked at
    last = null;
    strokeTo(padPoint(event));
    scheduleUpdate();
  });
  pad.addEventListener("pointermove", (event) => {
    if (last === null) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of events.length > 0 ? events : [event]) strokeTo(padPoint(e));
    scheduleUpdate();
  });
  const endStroke = () => {
    if (last === null) return;
    last = null;
    scheduleUpdate(true);
  };
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  $("ll-clear").addEventListener("click", () => {
    clearPad();
    source = "empty";
    digitBytes = null;
    update();
    announce("Cleared. Draw a digit in the box.");
  });

  $("ll-save").addEventListener("click", () => {
    pad.toBlob((blob) => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "my-digit.png";
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, "image/png");
  });

  // ---- opening a picture -------------------------------------------------------------------------

  $("ll-open-picture").addEventListener("click", () => $("ll-picture-file").click());
  $("ll-picture-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      // `predict` greys an image without alpha with other weights than one with alpha; a picture
      // whose pixels are all opaque is taken to have none (a JPEG, most PNGs of scans).
      const hasAlpha = data.some((v, i) => i % 4 === 3 && v < 255);
      digitBytes = L.digitFromRgba(data, canvas.width, canvas.height, hasAlpha);
      // Show it on the pad, fitted inside, over white paper.
      clearPad();
      const fit = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
      const [w, h] = [bitmap.width * fit, bitmap.height * fit];
      padContext.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
      source = "picture";
      setStatus(`Opened ${file.name} (${bitmap.width}×${bitmap.height}); the network sees it as shown.`);
      update(true);
    } catch (error) {
      setStatus(`Cannot use ${file.name}: ${error.message}`, true);
    }
  });

  // ---- models ------------------------------------------------------------------------------------

  function setStatus(text, isError = false) {
    status.textContent = text;
    status.classList.toggle("ll-error", isError);
  }

  function announce(text) {
    announcer.textContent = text;
  }

  /** One line about the model: its file, data set and the provenance's fields. */
  function describeModel(m) {
    const parts = [];
    if (m.dataset) parts.push(m.dataset);
    const p = m.provenance;
    if (p && typeof p === "object" && !Array.isArray(p)) {
      for (const [key, value] of Object.entries(p)) {
        const text = typeof value === "object" ? JSON.stringify(value) : String(value);
        parts.push(`${key.replace(/_/g, " ")}: ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`);
      }
    } else if (p) {
      parts.push(String(p).slice(0, 120));
    }
    return parts.join(" · ");
  }

  function useModel(m) {
    model = m;
    $("ll-model-name").textContent = m.name;
    $("ll-provenance").textContent = describeModel(m);
    buildBars();
    update();
    showKernel();
  }

  async function loadDefaultModel() {
    let buffer;
    try {
      const response = await fetch(DEFAULT_MODEL_URL);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      buffer = await response.arrayBuffer();
    } catch (error) {
      const fromDisk = location.protocol === "file:";
      setStatus(
        `Could not load the book's model (${DEFAULT_MODEL_URL}: ${error.message}).` +
          (fromDisk
            ? " Browsers do not let a page opened from disk read files next to it: serve the book" +
              " (`mdbook serve book`) or choose the file live/lenet-ch06.safetensors with “Load your own model”."
            : " Choose a model file with “Load your own model”."),
        true,
      );
      throw error;
    }
    try {
      useModel(L.readModel(buffer, "lenet-ch06.safetensors"));
      setStatus("");
    } catch (error) {
      setStatus(error.message, true);
      throw error;
    }
  }

  $("ll-load-model").addEventListener("click", () => $("ll-model-file").click());
  $("ll-model-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      const m = L.readModel(await file.arrayBuffer(), file.name);
      useModel(m);
      setStatus(`Loaded ${file.name}.`);
    } catch (error) {
      // The model in use stays: a bad file changes nothing but this message.
      const keep = model ? ` Still using ${model.name}.` : "";
      const why = error instanceof L.ModelError ? error.message : `${file.name} could not be read (${error.message})`;
      setStatus(`${why}.${keep}`, true);
    }
  });

  // ---- running the network and showing the result ------------------------------------------------

  function scheduleUpdate(finished = false) {
    if (finished) {
      update(true);
      return;
    }
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      update();
    });
  }

  /** Preprocesses what is on the pad (or the opened picture), runs the network, redraws everything. */
  function update(finished = false) {
    result = null;
    if (source === "pad") {
      const { data } = padContext.getImageData(0, 0, pad.width, pad.height);
      try {
        digitBytes = L.digitFromRgba(data, pad.width, pad.height, true);
      } catch {
        digitBytes = null; // nothing drawn (yet)
      }
    }
    if (model && source !== "empty" && digitBytes) {
      const input = L.normalise(digitBytes, model.mean, model.std);
      result = { bytes: digitBytes, input, layers: L.forward(model, input) };
    }
    drawInput();
    drawBars();
    drawMaps();
    if (finished && result) {
      const [best, p] = top(result);
      announce(`The network reads ${model.classes[best]}, probability ${(100 * p).toFixed(1)} percent.`);
    }
  }

  function top(r) {
    let best = 0;
    r.layers.logProbs.forEach((v, i) => {
      if (v > r.layers.logProbs[best]) best = i;
    });
    return [best, Math.exp(r.layers.logProbs[best])];
  }

  /** Paints `values` (maps of side x side) into a canvas, or clears it (transparent) for null. */
  function paintCanvas(canvas, values, colorMap, range) {
    const context = canvas.getContext("2d");
    if (values === null) {
      context.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const image = context.createImageData(canvas.width, canvas.height);
    L.colormap.paint(image.data, values, colorMap, range);
    context.putImageData(image, 0, 0);
  }

  function drawInput() {
    const values = result ? result.input : null;
    paintCanvas($("ll-input"), values, "gray", values && L.colormap.rangeOf("gray", values));
  }

  let bars = []; // per class: { row, fill, value }
  function buildBars() {
    const list = $("ll-probs");
    list.replaceChildren();
    bars = model.classes.map((name) => {
      const row = document.createElement("li");
      const label = document.createElement("span");
      label.className = "ll-prob-label";
      label.textContent = name;
      const bar = document.createElement("span");
      bar.className = "ll-prob-bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.className = "ll-prob-fill";
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "ll-prob-value";
      row.append(label, bar, value);
      list.append(row);
      return { row, fill, value };
    });
  }

  function drawBars() {
    const prediction = $("ll-prediction");
    if (!result) {
      bars.forEach(({ row, fill, value }) => {
        row.classList.remove("ll-top");
        fill.style.width = "0";
        value.textContent = "";
      });
      prediction.textContent = model ? "Draw a digit in the box." : "No model loaded yet.";
      prediction.removeAttribute("data-class");
      return;
    }
    const [best, p] = top(result);
    result.layers.logProbs.forEach((logP, i) => {
      const prob = Math.exp(logP);
      bars[i].fill.style.width = `${(100 * prob).toFixed(2)}%`;
      bars[i].value.textContent = `${(100 * prob).toFixed(1)} %`;
      bars[i].row.classList.toggle("ll-top", i === best);
    });
    prediction.replaceChildren();
    const name = document.createElement("strong");
    name.textContent = model.classes[best];
    prediction.append(name, ` ${(100 * p).toFixed(1)} %`);
    prediction.dataset.class = String(best);
  }

  // ---- feature maps -----------------------------------------------------------------------------

  const maps = {}; // layer key -> array of canvases
  function buildMaps() {
    const container = $("ll-maps");
    for (const layer of LAYERS) {
      const row = document.createElement("div");
      row.className = `ll-map-row ll-${layer.key}`;
      row.setAttribute("role", "group");
      const title = document.createElement("div");
      title.className = "ll-map-title";
      title.id = `ll-title-${layer.key}`;
      title.innerHTML = `<strong>${layer.key}</strong> <span>${layer.channels}×${layer.side}×${layer.side}</span>`;
      title.title = layer.what;
      row.setAttribute("aria-labelledby", title.id);
      const list = document.createElement("div");
      list.className = "ll-map-list";
      maps[layer.key] = [];
      for (let c = 0; c < layer.channels; c++) {
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = layer.side;
        canvas.className = "ll-map";
        canvas.tabIndex = c === 0 && layer.key === "conv1" ? 0 : -1;
        canvas.setAttribute("role", "img");
        canvas.dataset.layer = layer.key;
        canvas.dataset.channel = String(c);
        const select = () => selectMap(layer.key, c);
        canvas.addEventListener("pointerenter", (e) => e.pointerType === "mouse" && select());
        canvas.addEventListener("pointerdown", select);
        canvas.addEventListener("focus", select);
        canvas.addEventListener("keydown", (e) => moveFocus(e, layer.key, c));
        list.append(canvas);
        maps[layer.key].push(canvas);
      }
      row.append(title, list);
      container.append(row);
    }
  }

  /** Arrow keys move between maps (left/right in a row, up/down between rows), Home/End to a row's
   *  ends; only one map is in the Tab order. The keys stay here: mdBook's arrows turn pages. */
  function moveFocus(event, key, channel) {
    const rowIndex = LAYERS.findIndex((l) => l.key === key);
    let [r, c] = [rowIndex, channel];
    switch (event.key) {
      case "ArrowRight": c += 1; break;
      case "ArrowLeft": c -= 1; break;
      case "ArrowDown": r += 1; break;
      case "ArrowUp": r -= 1; break;
      case "Home": c = 0; break;
      case "End": c = Infinity; break;
      default: return;
    }
    event.preventDefault();
    event.stopPropagation();
    r = Math.max(0, Math.min(LAYERS.length - 1, r));
    c = Math.max(0, Math.min(LAYERS[r].channels - 1, c));
    focusMap(LAYERS[r].key, c);
  }

  function focusMap(key, channel) {
    for (const list of Object.values(maps)) list.forEach((m) => (m.tabIndex = -1));
    maps[key][channel].tabIndex = 0;
    maps[key][channel].focus();
  }

  function drawMaps() {
    for (const layer of LAYERS) {
      const canvases = maps[layer.key];
      const values = result ? result.layers[layer.key] : null;
      const colorMap = values ? L.colormap.colorMapFor(values) : "gray";
      const size = layer.side * layer.side;
      canvases.forEach((canvas, c) => {
        const map = values ? values.subarray(c * size, (c + 1) * size) : null;
        // Each map on its own colour scale (the crate's Normalization::PerMap), so weak ones show.
        const range = map && L.colormap.rangeOf(colorMap, map);
        paintCanvas(canvas, map, colorMap, range);
        const shape = `${layer.side}×${layer.side}`;
        const about = map
          ? `values from ${format(Math.min(...map))} to ${format(Math.max(...map))}`
          : "empty until you draw";
        canvas.setAttribute("aria-label", `${layer.key} map ${c} of ${layer.channels}, ${shape}, ${about}; shows its kernel below`);
      });
    }
  }

  const format = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)).replace("-", "−");

  // ---- the kernel panel -------------------------------------------------------------------------

  function selectMap(key, channel) {
    if (selected && selected.layer === key && selected.channel === channel) return;
    selected = { layer: key, channel };
    for (const list of Object.values(maps)) list.forEach((m) => m.classList.remove("ll-selected"));
    maps[key][channel].classList.add("ll-selected");
    showKernel();
  }

  /** Shows the kernel that made the selected map: conv1's 1×5×5, or conv2's ten 5×5 slices, all on
   *  the layer's shared blue–white–red scale (as report::conv1_kernels / conv2_kernels draw them). */
  function showKernel() {
    const caption = $("ll-kernel-caption");
    const holder = $("ll-kernel-maps");
    holder.replaceChildren();
    if (!selected || !model) {
      caption.textContent = "Hover over, tap or focus (Tab, then arrow keys) a feature map to see the kernel that made it.";
      return;
    }
    const layer = LAYERS.find((l) => l.key === selected.layer);
    const k = selected.channel;
    const weight = model.weights[`${layer.kernel}.weight`];
    const bias = model.weights[`${layer.kernel}.bias`][k];
    const inputs = layer.kernel === "conv1" ? 1 : 10;
    const range = L.colormap.rangeOf("diverging", weight); // shared by all kernels of the layer
    const pooled = layer.key.startsWith("pool") ? `${layer.key} map ${k} is ${layer.kernel} map ${k} pooled and rectified. ` : "";
    const slices = inputs === 1 ? "1×5×5 weights" : "10 slices of 5×5, one per pool1 map it reads (0–9, left to right)";
    caption.textContent =
      `${pooled}${layer.kernel} kernel ${k}: ${slices}, bias ${format(bias)}. ` +
      `Blue negative, red positive, white 0; scale ±${format(range.high)}, shared by all of ${layer.kernel}'s kernels.`;
    for (let c = 0; c < inputs; c++) {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 5;
      canvas.className = "ll-kernel-map";
      const at = (k * inputs + c) * 25;
      paintCanvas(canvas, weight.subarray(at, at + 25), "diverging", range);
      figure.append(canvas);
      if (inputs > 1) {
        const label = document.createElement("figcaption");
        label.textContent = String(c);
        figure.append(label);
      }
      holder.append(figure);
    }
  }

  // ---- start ------------------------------------------------------------------------------------

  clearPad();
  buildMaps();
  drawMaps();
  showKernel();
  const ready = loadDefaultModel();
  ready.catch(() => {}); // the page shows the message; the check awaits `ready` itself

  window.lenetLive = {
    /** Resolves when the book's model is loaded (rejects when it cannot be). */
    ready,
    /** Every layer of the current model for `input` (784 normalised numbers, [1,28,28] row-major). */
    forward: (input) => L.forward(model, Float32Array.from(input)),
    /** The current model (weights, mean, std, classes, provenance, name). */
    model: () => model,
    /** The last result shown: { bytes (784 preprocessed), input, layers }, or null. */
    result: () => result,
  };
})();
