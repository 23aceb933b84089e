// lenet-live.js: the chapter-6 LeNet in plain JavaScript, for the book's "Try it" page.
//
// Three parts, no dependencies, no build step:
//   1. readModel:      a model file written by `lenet-tutor export-web` (safetensors) -> weights;
//   2. forward:        the notes' forward pass, layer by layer (a second telling of LeNet::forward_t);
//   3. digitFromRgba:  a picture -> 28x28 bytes, step by step as `lenet-tutor predict` does it
//                      (src/data/preprocess.rs, digit_from_picture), then normalise.
// plus the colour maps of src/viz/colormap.rs, so the page draws maps as the book's figures do.
//
// A classic script (not an ES module) on purpose: browsers refuse modules on file:// pages, and the
// built book should work when opened from disk. Everything is exported as `window.LeNetLive`.
"use strict";

(() => {
  // ---------------------------------------------------------------------------------------------
  // 1. The model file
  // ---------------------------------------------------------------------------------------------

  /** Every tensor the page needs, with its exact shape (PyTorch's layout: weights [out, in, kh, kw]). */
  const TENSORS = {
    "conv1.weight": [10, 1, 5, 5],
    "conv1.bias": [10],
    "conv2.weight": [20, 10, 5, 5],
    "conv2.bias": [20],
    "fc1.weight": [50, 320],
    "fc1.bias": [50],
    "fc2.weight": [10, 50],
    "fc2.bias": [10],
  };
  const FORMAT = "lenet-tutor-web";
  const FORMAT_VERSION = "1";
  const HOW_TO_EXPORT = "export one with `lenet-tutor export-web --model my.safetensors --out web/`";

  /** A model file the page cannot use; the message is meant for the reader. */
  class ModelError extends Error {}

  /**
   * Reads a model file (an ArrayBuffer) written by `lenet-tutor export-web`.
   *
   * safetensors layout: 8 bytes little-endian u64 N, then N bytes of JSON (name -> {dtype, shape,
   * data_offsets}, plus "__metadata__"), then the raw little-endian data the offsets point into.
   * Throws ModelError saying what is wrong; returns {weights, mean, std, classes, dataset,
   * provenance, name}.
   */
  function readModel(buffer, name = "the file") {
    const bytes = new Uint8Array(buffer);
    if (bytes.length < 10) {
      throw new ModelError(`${name} is not a model file: ${bytes.length} bytes is too short for a safetensors file`);
    }
    const headerLength = new DataView(buffer).getBigUint64(0, true);
    if (headerLength < 2n || headerLength > BigInt(bytes.length - 8)) {
      throw new ModelError(
        `${name} is not a safetensors model file: its first 8 bytes give a header of ${headerLength} bytes, ` +
          `but the file has ${bytes.length} bytes`,
      );
    }
    const dataStart = 8 + Number(headerLength);
    let header;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
    } catch {
      throw new ModelError(`${name} is not a safetensors model file: its header is not JSON`);
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) {
      throw new ModelError(`${name} is not a safetensors model file: its header is not a JSON object`);
    }

    const meta = header.__metadata__ ?? {};
    if (meta.format !== FORMAT) {
      throw new ModelError(
        `${name} is a safetensors file but not a model for this page (its metadata "format" is ` +
          `${JSON.stringify(meta.format ?? null)}, not "${FORMAT}"; a training checkpoint?): ${HOW_TO_EXPORT}`,
      );
    }
    if (meta.format_version !== FORMAT_VERSION) {
      throw new ModelError(
        `${name} has format_version ${JSON.stringify(meta.format_version ?? null)}; this page reads version ` +
          `${FORMAT_VERSION}: ${HOW_TO_EXPORT} with the lenet-tutor of this book`,
      );
    }
    if (meta.architecture !== undefined && meta.architecture !== "lenet") {
      throw new ModelError(`${name} holds a "${meta.architecture}" network; this page runs only "lenet"`);
    }
    const mean = Number(meta.normalize_mean);
    const std = Number(meta.normalize_std);
    if (!Number.isFinite(mean) || !Number.isFinite(std) || !(std > 0)) {
      throw new ModelError(
        `${name}: normalize_mean ${JSON.stringify(meta.normalize_mean)} and normalize_std ` +
          `${JSON.stringify(meta.normalize_std)} must be numbers (std > 0)`,
      );
    }
    const classes = parseClasses(meta.classes, name);
    let provenance = meta.provenance ?? "";
    try {
      provenance = JSON.parse(provenance); // free-form: only shown, never needed
    } catch {
      // not JSON: show the string as it is
    }

    // Every tensor present, F32, with its exact shape, its bytes inside the data section.
    const dataLength = bytes.length - dataStart;
    const problems = [];
    const weights = {};
    for (const [tensor, shape] of Object.entries(TENSORS)) {
      const entry = header[tensor];
      if (entry === undefined) {
        problems.push(`${tensor} is missing`);
        continue;
      }
      const size = shape.reduce((a, b) => a * b, 1);
      const [begin, end] = Array.isArray(entry.data_offsets) ? entry.data_offsets : [];
      if (entry.dtype !== "F32") {
        problems.push(`${tensor} is ${entry.dtype}, expected F32`);
      } else if (!Array.isArray(entry.shape) || entry.shape.join() !== shape.join()) {
        problems.push(`${tensor} has shape [${entry.shape}], expected [${shape}]`);
      } else if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLength || end - begin !== 4 * size) {
        problems.push(`${tensor}'s data_offsets [${entry.data_offsets}] do not hold ${size} floats inside the file's ${dataLength} data bytes`);
      } else {
        // slice() copies, so the Float32Array starts at offset 0 (typed arrays need 4-byte alignment).
        // The data is little-endian, as every browser's platform is.
        weights[tensor] = new Float32Array(buffer.slice(dataStart + begin, dataStart + end));
      }
    }
    if (problems.length > 0) {
      throw new ModelError(`${name} does not hold the chapter-6 LeNet: ${problems.join("; ")}`);
    }
    return { weights, mean, std, classes, dataset: String(meta.dataset ?? ""), provenance, name };
  }

  /** The "classes" metadata: a JSON array of 10 names as a string; the digits when absent. */
  function parseClasses(text, name) {
    if (text === undefined) return ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let classes;
    try {
      classes = JSON.parse(text);
    } catch {
      classes = null;
    }
    if (!Array.isArray(classes) || classes.length !== 10) {
      throw new ModelError(`${name}: "classes" must be a JSON array of 10 names, got ${JSON.stringify(text)}`);
    }
    return classes.map(String);
  }

  // ---------------------------------------------------------------------------------------------
  // 2. The forward pass
  // ---------------------------------------------------------------------------------------------
  // Tensors are flat Float32Arrays, row-major: a stack of maps [C,H,W] is C maps of H rows of W.

  /** conv2d: x [cin,h,w] -> [cout, h-k+1, w-k+1]. Cross-correlation (no kernel flip), stride 1,
   *  no padding; weight [cout,cin,k,k], bias [cout]. */
  function conv2d(x, cin, h, w, weight, bias, k) {
    const cout = bias.length;
    const oh = h - k + 1;
    const ow = w - k + 1;
    const y = new Float32Array(cout * oh * ow);
    for (let o = 0; o < cout; o++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let sum = bias[o];
          for (let c = 0; c < cin; c++) {
            for (let u = 0; u < k; u++) {
              for (let v = 0; v < k; v++) {
                // weight[o][c][u][v] * x[c][i+u][j+v]
                sum += weight[((o * cin + c) * k + u) * k + v] * x[(c * h + i + u) * w + j + v];
              }
            }
          }
          y[(o * oh + i) * ow + j] = sum;
        }
      }
    }
    return y;
  }

  /** max_pool2d(2) then ReLU: x [c,h,w] -> [c,h/2,w/2], each value the largest of a 2x2 block,
   *  negatives set to 0 (the notes' F.relu(F.max_pool2d(x, 2))). */
  function maxPool2Relu(x, c, h, w) {
    const oh = h >> 1;
    const ow = w >> 1;
    const y = new Float32Array(c * oh * ow);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const at = (r, s) => x[(ch * h + 2 * i + r) * w + 2 * j + s];
          y[(ch * oh + i) * ow + j] = Math.max(0, at(0, 0), at(0, 1), at(1, 0), at(1, 1));
        }
      }
    }
    return y;
  }

  /** Linear layer: y = W x + b, with W [out,in] row-major. */
  function linear(x, weight, bias) {
    const n = x.length;
    const y = new Float32Array(bias.length);
    for (let o = 0; o < y.length; o++) {
      let sum = bias[o];
      for (let i = 0; i < n; i++) sum += weight[o * n + i] * x[i];
      y[o] = sum;
    }
    return y;
  }

  const relu = (x) => x.map((v) => Math.max(0, v));

  /** log_softmax: z - log(sum(exp(z))), computed as z - max - log(sum(exp(z - max))) so exp never overflows. */
  function logSoftmax(z) {
    const max = Math.max(...z);
    const logSum = Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    return z.map((v) => v - max - logSum);
  }

  /** The notes' forward, in eval mode (dropout off), for one normalised image x [1,28,28] (784 numbers).
   *  Returns every layer, named as in LeNet::activations. */
  function forward(model, x) {
    const w = model.weights;
    const conv1 = conv2d(x, 1, 28, 28, w["conv1.weight"], w["conv1.bias"], 5); // [10,24,24]
    const pool1 = maxPool2Relu(conv1, 10, 24, 24); //                               [10,12,12]
    const conv2 = conv2d(pool1, 10, 12, 12, w["conv2.weight"], w["conv2.bias"], 5); // [20,8,8]
    const pool2 = maxPool2Relu(conv2, 20, 8, 8); //                                  [20,4,4]
    // x.view(-1, 320): pool2 is already flat and channel-major, 20 maps of 4x4 one after the other.
    const fc1 = relu(linear(pool2, w["fc1.weight"], w["fc1.bias"])); //               [50]
    const logits = linear(fc1, w["fc2.weight"], w["fc2.bias"]); //                    [10]
    const logProbs = logSoftmax(logits); //                                           [10]
    return { conv1, pool1, conv2, pool2, fc1, logits, logProbs };
  }

  // ---------------------------------------------------------------------------------------------
  // 3. A picture -> an MNIST-like digit (src/data/preprocess.rs, digit_from_picture)
  // ---------------------------------------------------------------------------------------------
  // The Rust code computes in f32 where it uses f32; Math.fround does the same here, so both give
  // the same bytes. Rust's round() rounds halves away from zero; Math.round rounds them up.

  const SIDE = 28; // MNIST's 28x28
  const BOX = 20; // the longer side of the digit's box
  const f32 = Math.fround;
  const round = (v) => (v < 0 ? -Math.round(-v) : Math.round(v));
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const NO_INK =
    "no digit found: the picture is (nearly) one flat colour; draw a dark digit on light paper " +
    "or a light digit on a dark background";

  /** A grey image: width, height and one byte per pixel, row-major. */
  const grayImage = (width, height, data = new Uint8Array(width * height)) => ({ width, height, data });

  /**
   * The bytes of an MNIST-like digit (784, white ink on black, longer side 20 px, centred by mass)
   * made from RGBA pixels (what a canvas's getImageData gives). `hasAlpha`: whether the picture
   * has an alpha channel (a canvas or a PNG with transparency does; a JPEG does not), which decides
   * how it is turned grey, as in the Rust code. Throws an Error with NO_INK when there is no digit.
   */
  function digitFromRgba(rgba, width, height, hasAlpha = true) {
    // 1. grey, transparent parts over white paper
    const gray = toGrayOnWhite(rgba, width, height, hasAlpha);
    // 2. a light border means dark ink on light paper: invert, so the ink is bright on black
    if (borderMean(gray) > 127) {
      for (let i = 0; i < gray.data.length; i++) gray.data[i] = 255 - gray.data[i];
    }
    // 3. background -> 0, brightest ink -> 255, faint noise -> 0
    const ink = stretchContrast(gray);
    // 4. crop to the ink, scale the longer side to 20 px (bilinear, the image crate's Triangle filter)
    const box = inkBox(ink);
    if (ink === null || box === null) throw new Error(NO_INK);
    const cropped = crop(ink, box);
    const scaled = scaleToBox(cropped);
    // 5. paste into 28x28 with the centre of mass in the middle
    return pasteCentredByMass(scaled);
  }

  /** (byte / 255 - mean) / std for each byte, in f32 as src/data/loader.rs's normalize_pixel. */
  function normalise(bytes, mean, std) {
    const [m, s] = [f32(mean), f32(std)];
    return Float32Array.from(bytes, (b) => f32(f32(f32(b / 255) - m) / s));
  }

  function toGrayOnWhite(rgba, width, height, hasAlpha) {
    const gray = grayImage(width, height);
    const [kr, kg, kb] = [f32(0.299), f32(0.587), f32(0.114)];
    for (let i = 0; i < width * height; i++) {
      const r = rgba[4 * i];
      const g = rgba[4 * i + 1];
      const b = rgba[4 * i + 2];
      const a = rgba[4 * i + 3];
      if (!hasAlpha) {
        // image's to_luma8: Rec. 709 weights in integers, truncated
        gray.data[i] = Math.floor((2126 * r + 7152 * g + 722 * b) / 10000);
      } else {
        // ITU-R 601 luma, then "over" white paper
        const luma = f32(f32(f32(kr * r) + f32(kg * g)) + f32(kb * b));
        const alpha = f32(a / 255);
        gray.data[i] = clamp(round(f32(f32(luma * alpha) + f32(255 * f32(1 - alpha)))), 0, 255);
      }
    }
    return gray;
  }

  /** Mean of the outermost ring of pixels: what the background looks like. */
  function borderMean({ width, height, data }) {
    let sum = 0;
    let count = 0;
    for (let y = 0; y < height; y++) {
      const edgeRow = y === 0 || y === height - 1;
      // every pixel of the top and bottom rows, the first and last of the others
      for (let x = 0; x < width; x += edgeRow ? 1 : Math.max(width - 1, 1)) {
        sum += data[y * width + x];
        count++;
      }
    }
    return f32(sum / Math.max(count, 1));
  }

  /** Background -> 0, brightest -> 255; within a quarter of the way from background to ink -> 0.
   *  null when there is no ink (less than 32 levels between background and brightest). */
  function stretchContrast(gray) {
    const background = borderMean(gray);
    const brightest = gray.data.reduce((a, b) => Math.max(a, b), 0);
    if (f32(brightest - background) < 32) return null;
    const cutoff = f32(background + f32(f32(brightest - background) / 4));
    const scale = f32(255 / f32(brightest - cutoff));
    const out = grayImage(gray.width, gray.height);
    for (let i = 0; i < out.data.length; i++) {
      out.data[i] = round(clamp(f32(f32(gray.data[i] - cutoff) * scale), 0, 255));
    }
    return out;
  }

  /** The inclusive box {x0, y0, x1, y1} around all non-zero pixels, or null. */
  function inkBox(image) {
    if (image === null) return null;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        if (image.data[y * image.width + x] > 0) {
          [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        }
      }
    }
    return x1 < 0 ? null : { x0, y0, x1, y1 };
  }

  function crop(image, { x0, y0, x1, y1 }) {
    const out = grayImage(x1 - x0 + 1, y1 - y0 + 1);
    for (let y = 0; y < out.height; y++) {
      for (let x = 0; x < out.width; x++) out.data[y * out.width + x] = image.data[(y0 + y) * image.width + x0 + x];
    }
    return out;
  }

  /** Longer side -> 20 px, aspect ratio kept (a "1" stays thin). */
  function scaleToBox(image) {
    const longer = Math.max(image.width, image.height);
    const newWidth = clamp(round(f32(f32(image.width * BOX) / longer)), 1, BOX);
    const newHeight = clamp(round(f32(f32(image.height * BOX) / longer)), 1, BOX);
    return resizeTriangle(image, newWidth, newHeight);
  }

  /**
   * image::imageops::resize(.., FilterType::Triangle), for grey bytes: first the columns (into
   * unrounded f32), then the rows (clamped to 0..255 and rounded). Each output pixel is a weighted
   * average of the input pixels under a triangle ("tent") as wide as one output pixel on each side,
   * so shrinking averages away what it drops, as MNIST's anti-aliased digits were made.
   */
  function resizeTriangle(image, newWidth, newHeight) {
    if (newWidth === image.width && newHeight === image.height) {
      return grayImage(image.width, image.height, image.data.slice());
    }
    const { width, height } = image;
    // columns: height -> newHeight
    const tmp = new Float32Array(width * newHeight);
    for (let y = 0; y < newHeight; y++) {
      const { left, weights } = triangleWeights(y, height, newHeight);
      for (let x = 0; x < width; x++) {
        let t = 0;
        weights.forEach((w, i) => (t = f32(t + f32(image.data[(left + i) * width + x] * w))));
        tmp[y * width + x] = t;
      }
    }
    // rows: width -> newWidth
    const out = grayImage(newWidth, newHeight);
    for (let x = 0; x < newWidth; x++) {
      const { left, weights } = triangleWeights(x, width, newWidth);
      for (let y = 0; y < newHeight; y++) {
        let t = 0;
        weights.forEach((w, i) => (t = f32(t + f32(tmp[y * width + left + i] * w))));
        out.data[y * newWidth + x] = round(clamp(t, 0, 255));
      }
    }
    return out;
  }

  /** Which input pixels output pixel `out` of `newSize` reads along one axis, and their weights
   *  (image's horizontal_sample / vertical_sample, f32 throughout). */
  function triangleWeights(out, size, newSize) {
    const ratio = f32(size / newSize);
    const sratio = ratio < 1 ? 1 : ratio; // enlarging keeps the tent one input pixel wide
    const support = sratio; // the triangle filter's support is 1.0
    const centre = f32(f32(out + 0.5) * ratio);
    const left = clamp(Math.floor(f32(centre - support)), 0, size - 1);
    const right = clamp(Math.ceil(f32(centre + support)), left + 1, size);
    const tent = (v) => (Math.abs(v) < 1 ? f32(1 - Math.abs(v)) : 0);
    const weights = [];
    let sum = 0;
    for (let i = left; i < right; i++) {
      const w = tent(f32(f32(i - f32(centre - 0.5)) / sratio));
      weights.push(w);
      sum = f32(sum + w);
    }
    return { left, weights: weights.map((w) => f32(w / sum)) };
  }

  /** Pastes the digit into a black 28x28 field so its centre of mass lands on (14, 14), the average
   *  centre of MNIST's digits, without pushing ink off the field. */
  function pasteCentredByMass(digit) {
    const { width, height, data } = digit;
    let mass = 0;
    let sumX = 0;
    let sumY = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const m = data[y * width + x];
        mass += m;
        sumX += m * x;
        sumY += m * y;
      }
    }
    // Resizing can fade a tiny speck to nothing: then the box centre stands in for the mass centre.
    const [comX, comY] = mass > 0 ? [sumX / mass, sumY / mass] : [(width - 1) / 2, (height - 1) / 2];
    const offset = (com, size) => clamp(round(SIDE / 2 - com), 0, SIDE - size);
    const [dx, dy] = [offset(comX, width), offset(comY, height)];
    const out = new Uint8Array(SIDE * SIDE);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) out[(y + dy) * SIDE + x + dx] = data[y * width + x];
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Colour maps (src/viz/colormap.rs)
  // ---------------------------------------------------------------------------------------------

  const NEGATIVE_RGB = [33, 102, 172]; // ColorBrewer RdBu ends: blue for -scale ...
  const POSITIVE_RGB = [178, 24, 43]; // ... red for +scale, white for 0
  const NOT_FINITE_RGB = [255, 0, 255];

  /** The range a colour map stretches over `values`: [min, max] for "gray", [-m, m] with
   *  m = max |v| for "diverging"; non-finite values left out; none finite gives [0, 0]. */
  function rangeOf(colorMap, values) {
    let low = Infinity;
    let high = -Infinity;
    for (const v of values) {
      if (Number.isFinite(v)) {
        low = Math.min(low, v);
        high = Math.max(high, v);
      }
    }
    if (low > high) return { low: 0, high: 0 };
    if (colorMap === "gray") return { low, high };
    const m = Math.max(Math.abs(low), Math.abs(high));
    return { low: -m, high: m };
  }

  /** [r, g, b] of `value` on `range`. A flat gray range paints black (a dead ReLU channel looks
   *  dead); a zero diverging range paints white. */
  function colorOf(colorMap, value, range) {
    if (!Number.isFinite(value)) return NOT_FINITE_RGB;
    if (colorMap === "gray") {
      const span = range.high - range.low;
      const level = Math.round((span > 0 ? clamp((value - range.low) / span, 0, 1) : 0) * 255);
      return [level, level, level];
    }
    const t = range.high > 0 ? clamp(value / range.high, -1, 1) : 0;
    const end = t < 0 ? NEGATIVE_RGB : POSITIVE_RGB;
    const a = Math.abs(t);
    return end.map((c) => Math.round(255 + (c - 255) * a));
  }

  /** Which map a layer gets (src/viz/layers.rs): diverging if any value is negative (a convolution
   *  before its ReLU), gray otherwise (after ReLU and pooling). */
  const colorMapFor = (values) => (values.some((v) => v < 0) ? "diverging" : "gray");

  /** Paints `values` (height x width, row-major) into an ImageData-like RGBA array. */
  function paint(rgba, values, colorMap, range) {
    values.forEach((v, i) => {
      const [r, g, b] = colorOf(colorMap, v, range);
      rgba.set([r, g, b, 255], 4 * i);
    });
  }

  window.LeNetLive = {
    TENSORS,
    ModelError,
    readModel,
    forward,
    layers: { conv2d, maxPool2Relu, linear, relu, logSoftmax },
    digitFromRgba,
    normalise,
    resizeTriangle,
    colormap: { rangeOf, colorOf, colorMapFor, paint },
  };
})();
