// lenet-live-page.js: the "Try it: draw a digit" page. Wires the drawing pad, the picture and model
// pickers, the probability bars, the feature maps and the kernel panel to lenet-live.js.
//
// Its words are in English or Korean, as the page is (see STRINGS below).
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

  // ---- the widget's words, in the page's language --------------------------------------------------

  // mdbook-gettext translates the chapters' Markdown but neither the HTML block of try-it.md nor this
  // script, so the widget carries its own words: every string a reader sees or hears, per language.
  // The Korean edition is built with book.language = "ko", which mdBook writes as <html lang="ko">;
  // any other page gets English. Strings with values are functions. The static labels of try-it.md
  // name their key (data-text, data-aria-label) and keep the English as a fallback for when this
  // script does not run. Keep the two tables' keys the same: a missing one is a console error,
  // which fails the browser check (scripts/lib/live_page_check.mjs).
  const STRINGS = {
    en: {
      // try-it.md's static labels
      padTitle: "Your drawing",
      padLabel: "Drawing area: draw one digit with a mouse, finger or pen",
      padHelp: "One digit, large, in the middle or anywhere: the page crops and centres it.",
      clear: "Clear",
      openPicture: "Open a picture…",
      save: "Save drawing as PNG",
      sideLabel: "What the network sees and what it reads",
      seenTitle: "What the network sees",
      inputLabel: "The 28×28 input: your drawing cropped, scaled to 20 pixels and centred, as in MNIST",
      predictionTitle: "Prediction",
      loadingModel: "Loading the model…",
      probsLabel: "Probability of each class",
      mapsTitle: "Feature maps",
      kernelTitle: "Kernel",
      modelTitle: "Model",
      modelLoading: "(loading)",
      loadModel: "Load your own model…",
      // the prediction and what a screen reader announces
      drawDigit: "Draw a digit in the box.",
      noModel: "No model loaded yet.",
      cleared: "Cleared. Draw a digit in the box.",
      reads: (name, percent) => `The network reads ${name}, probability ${percent} percent.`,
      // feature maps (a row's tooltip, a map's aria-label) and the kernel panel
      layerWhat: {
        conv1: "conv1's 10 kernels slid over the input, before ReLU",
        pool1: "conv1's maps after 2×2 max pooling and ReLU",
        conv2: "conv2's 20 kernels slid over pool1's 10 maps, before ReLU",
        pool2: "conv2's maps after 2×2 max pooling and ReLU: the 320 numbers fc1 reads",
      },
      mapLabel: (layer, c, count, shape, about) => `${layer} map ${c} of ${count}, ${shape}, ${about}; shows its kernel below`,
      mapValues: (low, high) => `values from ${low} to ${high}`,
      mapEmpty: "empty until you draw",
      kernelHelp: "Hover over, tap or focus (Tab, then arrow keys) a feature map to see the kernel that made it.",
      pooled: (layer, k, kernel) => `${layer} map ${k} is ${kernel} map ${k} pooled and rectified. `,
      slicesOne: "1×5×5 weights",
      slicesTen: "10 slices of 5×5, one per pool1 map it reads (0–9, left to right)",
      kernelCaption: (pooled, kernel, k, slices, bias, scale) =>
        `${pooled}${kernel} kernel ${k}: ${slices}, bias ${bias}. ` +
        `Blue negative, red positive, white 0; scale ±${scale}, shared by all of ${kernel}'s kernels.`,
      // status messages (lenet-live.js's own error messages, the `detail`s, stay in English)
      opened: (name, width, height) => `Opened ${name} (${width}×${height}); the network sees it as shown.`,
      pictureUnreadable: (name, detail) => `Cannot use ${name}: ${detail}`,
      pictureNoInk: (name, detail) => `Cannot use ${name}: ${detail}`,
      loaded: (name) => `Loaded ${name}.`,
      modelError: (detail, current) => `${detail}.${current ? ` Still using ${current}.` : ""}`,
      modelUnreadable: (name, detail, current) => `${name} could not be read (${detail}).${current ? ` Still using ${current}.` : ""}`,
      bookModelBroken: (detail) => detail,
      bookModelMissing: (url, detail, fromDisk) =>
        `Could not load the book's model (${url}: ${detail}).` +
        (fromDisk
          ? " Browsers do not let a page opened from disk read files next to it: serve the book" +
            " (`mdbook serve book`) or choose the file live/lenet-ch06.safetensors with “Load your own model”."
          : " Choose a model file with “Load your own model”."),
    },
    ko: {
      padTitle: "내 그림",
      padLabel: "그리기 영역: 마우스, 손가락 또는 펜으로 숫자 하나를 그리세요",
      padHelp: "숫자 하나를 크게 그리세요. 가운데가 아니어도 됩니다. 페이지가 잘라 내어 가운데에 맞춥니다.",
      clear: "지우기",
      openPicture: "그림 열기…",
      save: "그림을 PNG로 저장",
      sideLabel: "네트워크가 보는 것과 읽어 낸 것",
      seenTitle: "네트워크가 보는 것",
      inputLabel: "28×28 입력: MNIST처럼 그림을 잘라 20픽셀로 줄이고 가운데에 놓은 것",
      predictionTitle: "예측",
      loadingModel: "모델을 불러오는 중…",
      probsLabel: "클래스별 확률",
      mapsTitle: "특징 맵",
      kernelTitle: "커널",
      modelTitle: "모델",
      modelLoading: "(불러오는 중)",
      loadModel: "내 모델 불러오기…",
      drawDigit: "상자 안에 숫자를 그려 보세요.",
      noModel: "아직 불러온 모델이 없습니다.",
      cleared: "지웠습니다. 상자 안에 숫자를 그려 보세요.",
      // No particle right after a value: whether it takes 은 or 는 depends on how it is read.
      reads: (name, percent) => `예측은 ${name}, 확률은 ${percent}퍼센트입니다.`,
      layerWhat: {
        conv1: "conv1의 커널 10개를 입력 위로 미끄러뜨린 결과, ReLU 전",
        pool1: "conv1의 맵에 2×2 최대 풀링과 ReLU를 적용한 것",
        conv2: "conv2의 커널 20개를 pool1의 맵 10개 위로 미끄러뜨린 결과, ReLU 전",
        pool2: "conv2의 맵에 2×2 최대 풀링과 ReLU를 적용한 것: fc1이 읽는 수 320개",
      },
      mapLabel: (layer, c, count, shape, about) => `${layer} 특징 맵 ${c} (${count}개 중), ${shape}, ${about}. 아래에 이 맵의 커널이 나옵니다`,
      mapValues: (low, high) => `값은 ${low}부터 ${high}까지`,
      mapEmpty: "그리기 전까지 비어 있음",
      kernelHelp: "특징 맵 위에 마우스를 올리거나, 맵을 탭하거나, 키보드로 포커스를 주면(Tab 다음 화살표 키) 그 맵을 만든 커널이 여기에 나옵니다.",
      pooled: (layer, k, kernel) => `${layer} 맵 ${k}: ${kernel} 맵 ${k}에 풀링과 ReLU를 적용한 것입니다. `,
      slicesOne: "가중치 1×5×5",
      slicesTen: "5×5 슬라이스 10개, 읽는 pool1 맵마다 하나(왼쪽부터 0–9)",
      kernelCaption: (pooled, kernel, k, slices, bias, scale) =>
        `${pooled}${kernel} 커널 ${k}: ${slices}, 편향 ${bias}. ` +
        `파랑은 음수, 빨강은 양수, 흰색은 0입니다. 척도(±${scale})는 ${kernel}의 모든 커널이 함께 씁니다.`,
      opened: (name, width, height) => `${name} (${width}×${height}) 파일을 열었습니다. 네트워크가 보는 것은 위에 나온 그대로입니다.`,
      pictureUnreadable: (name, detail) => `${name} 파일을 그림으로 열 수 없습니다: ${detail}`,
      pictureNoInk: (name) =>
        `${name} 파일에서 숫자를 찾지 못했습니다. 그림이 (거의) 한 가지 색입니다. ` +
        "밝은 종이에 어두운 숫자를, 또는 어두운 바탕에 밝은 숫자를 쓴 그림을 여세요.",
      loaded: (name) => `${name} 모델을 불러왔습니다.`,
      modelError: (detail, current) => `모델로 쓸 수 없는 파일입니다: ${detail}.${current ? ` 계속 ${current} 모델을 사용합니다.` : ""}`,
      modelUnreadable: (name, detail, current) =>
        `${name} 파일을 읽을 수 없습니다(${detail}).${current ? ` 계속 ${current} 모델을 사용합니다.` : ""}`,
      bookModelBroken: (detail) => `책의 모델 파일을 쓸 수 없습니다: ${detail}`,
      bookModelMissing: (url, detail, fromDisk) =>
        `책의 모델을 불러오지 못했습니다(${url}: ${detail}).` +
        (fromDisk
          ? " 브라우저는 디스크에서 연 페이지가 그 옆의 파일을 읽지 못하게 합니다. 책을 서버로 여세요(`mdbook serve book`)." +
            " 아니면 “내 모델 불러오기”로 live/lenet-ch06.safetensors 파일을 고르세요."
          : " “내 모델 불러오기”로 모델 파일을 고르세요."),
    },
  };
  const LANGUAGE = document.documentElement.lang.split("-")[0] === "ko" ? "ko" : "en";
  const T = STRINGS[LANGUAGE];
  for (const [a, b] of [["en", "ko"], ["ko", "en"]]) {
    const missing = Object.keys(STRINGS[a]).filter((key) => !(key in STRINGS[b]));
    if (missing.length > 0) console.error(`lenet-live-page.js: STRINGS.${b} lacks ${missing.join(", ")}`);
  }
  /** The string `key` of the page's language; the English one (and a console error) if it has none. */
  function say(key, ...values) {
    let text = T[key];
    if (text === undefined) {
      console.error(`lenet-live-page.js: no ${LANGUAGE} text for "${key}"`);
      text = STRINGS.en[key] ?? key;
    }
    return typeof text === "function" ? text(...values) : text;
  }
  // The static labels: try-it.md names the key, the text comes from here.
  for (const element of root.querySelectorAll("[data-text]")) element.textContent = say(element.dataset.text);
  for (const element of root.querySelectorAll("[data-aria-label]")) element.setAttribute("aria-label", say(element.dataset.ariaLabel));

  const DEFAULT_MODEL_URL = "live/lenet-ch06.safetensors";
  const PEN_WIDTH = 22; // pixels of the 280x280 pad: strokes about as thick as MNIST's
  /** The feature-map rows, in forward order; `kernel` is the conv layer whose kernel made the map. */
  const LAYERS = [
    { key: "conv1", channels: 10, side: 24, kernel: "conv1" },
    { key: "pool1", channels: 10, side: 12, kernel: "conv1" },
    { key: "conv2", channels: 20, side: 8, kernel: "conv2" },
    { key: "pool2", channels: 20, side: 4, kernel: "conv2" },
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
    announce(say("cleared"));
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
    let bitmap, data;
    try {
      bitmap = await createImageBitmap(file);
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      ({ data } = context.getImageData(0, 0, canvas.width, canvas.height));
    } catch (error) {
      setError("pictureUnreadable", file.name, error.message);
      return;
    }
    try {
      // `predict` greys an image without alpha with other weights than one with alpha; a picture
      // whose pixels are all opaque is taken to have none (a JPEG, most PNGs of scans).
      const hasAlpha = data.some((v, i) => i % 4 === 3 && v < 255);
      digitBytes = L.digitFromRgba(data, bitmap.width, bitmap.height, hasAlpha);
    } catch (error) {
      // Its one error: no ink (lenet-live.js says so in English; the table says it in Korean too).
      setError("pictureNoInk", file.name, error.message);
      return;
    }
    // Show it on the pad, fitted inside, over white paper.
    clearPad();
    const fit = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const [w, h] = [bitmap.width * fit, bitmap.height * fit];
    padContext.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    source = "picture";
    setStatus("opened", file.name, bitmap.width, bitmap.height);
    update(true);
  });

  // ---- models ------------------------------------------------------------------------------------

  /** Shows the status message `key` (of STRINGS, with its values), or none for "". data-message
   *  names it, so the browser check can wait for a message whatever the language. */
  function setStatus(key, ...values) {
    status.textContent = key ? say(key, ...values) : "";
    status.dataset.message = key;
    status.classList.remove("ll-error");
  }

  function setError(key, ...values) {
    setStatus(key, ...values);
    status.classList.add("ll-error");
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
      setError("bookModelMissing", DEFAULT_MODEL_URL, error.message, location.protocol === "file:");
      throw error;
    }
    try {
      useModel(L.readModel(buffer, "lenet-ch06.safetensors"));
      setStatus("");
    } catch (error) {
      setError("bookModelBroken", error.message);
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
      setStatus("loaded", file.name);
    } catch (error) {
      // The model in use stays: a bad file changes nothing but this message.
      const current = model ? model.name : null;
      if (error instanceof L.ModelError) setError("modelError", error.message, current);
      else setError("modelUnreadable", file.name, error.message, current);
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
      announce(say("reads", model.classes[best], (100 * p).toFixed(1)));
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
      prediction.textContent = say(model ? "drawDigit" : "noModel");
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
      title.title = say("layerWhat")[layer.key];
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
        const about = map ? say("mapValues", format(Math.min(...map)), format(Math.max(...map))) : say("mapEmpty");
        canvas.setAttribute("aria-label", say("mapLabel", layer.key, c, layer.channels, shape, about));
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
      caption.textContent = say("kernelHelp");
      return;
    }
    const layer = LAYERS.find((l) => l.key === selected.layer);
    const k = selected.channel;
    const weight = model.weights[`${layer.kernel}.weight`];
    const bias = model.weights[`${layer.kernel}.bias`][k];
    const inputs = layer.kernel === "conv1" ? 1 : 10;
    const range = L.colormap.rangeOf("diverging", weight); // shared by all kernels of the layer
    const pooled = layer.key.startsWith("pool") ? say("pooled", layer.key, k, layer.kernel) : "";
    const slices = say(inputs === 1 ? "slicesOne" : "slicesTen");
    caption.textContent = say("kernelCaption", pooled, layer.kernel, k, slices, format(bias), format(range.high));
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
    /** "en" or "ko": the language of the widget's words. */
    language: LANGUAGE,
    /** say(key, ...values): the string `key` of STRINGS in that language. */
    say,
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
