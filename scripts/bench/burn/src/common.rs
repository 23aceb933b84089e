//! What both binaries share and Burn does not touch: the arguments, the IDX reader, the shuffling,
//! the thread settings and the JSON line (the format of `examples/bench_lenet.rs` and
//! `scripts/bench/torch_lenet.py`).

use std::io::Read;
use std::path::{Path, PathBuf};

pub struct Args {
    pub dataset: String,
    pub data_dir: Option<PathBuf>,
    pub batch_size: usize,
    pub test_batch_size: usize,
    pub threads: usize,
    pub epochs: usize,
    pub lr: f64,
    pub momentum: f64,
    pub seed: u64,
    /// Which Burn backend (the 0.22 binary: ndarray or flex; the candle binary: candle).
    pub backend: String,
}

pub fn parse_args(default_backend: &str) -> Result<Args, String> {
    let fashion = Path::new(FASHION_MNIST_DEBIAN).join(TRAIN_IMAGES).exists();
    let mut args = Args {
        dataset: if fashion { "fashion-mnist" } else { "mnist-sample" }.to_string(),
        data_dir: None,
        batch_size: 64,
        test_batch_size: 1000,
        threads: 1,
        epochs: 1,
        lr: 0.01,
        momentum: 0.0,
        seed: 1,
        backend: default_backend.to_string(),
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().ok_or(format!("{} needs a value", raw[i]))?;
        let num = |what: &str| format!("{what} needs a number, got {value:?}");
        match raw[i].as_str() {
            "--dataset" => args.dataset = value.clone(),
            "--data-dir" => args.data_dir = Some(PathBuf::from(&value)),
            "--batch-size" => args.batch_size = value.parse().map_err(|_| num("--batch-size"))?,
            "--test-batch-size" => {
                args.test_batch_size = value.parse().map_err(|_| num("--test-batch-size"))?
            }
            "--threads" => args.threads = value.parse().map_err(|_| num("--threads"))?,
            "--epochs" => args.epochs = value.parse().map_err(|_| num("--epochs"))?,
            "--lr" => args.lr = value.parse().map_err(|_| num("--lr"))?,
            "--momentum" => args.momentum = value.parse().map_err(|_| num("--momentum"))?,
            "--seed" => args.seed = value.parse().map_err(|_| num("--seed"))?,
            "--backend" => args.backend = value.clone(),
            other => return Err(format!("unknown argument {other}")),
        }
        i += 2;
    }
    if args.batch_size == 0 || args.test_batch_size == 0 || args.threads == 0 {
        return Err("--batch-size, --test-batch-size and --threads must be at least 1".into());
    }
    Ok(args)
}

/// The thread count, set the way each library reads it and before any of them starts a thread:
/// rayon's global pool (burn-ndarray's and burn-flex's parallel loops, candle's CPU ops), the
/// `matrixmultiply` crate's own pool (burn-ndarray's matmul; it reads `MATMUL_NUM_THREADS` once,
/// else takes every physical core) and candle's `get_num_threads` (it reads `RAYON_NUM_THREADS` /
/// `CANDLE_NUM_THREADS` before every matmul, else counts the cores again each time).
pub fn set_threads(threads: usize) {
    for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS", "MATMUL_NUM_THREADS"] {
        std::env::set_var(var, threads.to_string());
    }
    // Fails only if the pool already exists (it does not: nothing has run yet).
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
}

/// OS threads of this process now (entries of /proc/self/task): what `--threads` left running.
pub fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// CPU time of this process so far (user + system, all threads), seconds, from /proc/self/stat.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest` (0-based 11, 12).
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

// ---- Data: the four IDX files, read as scripts/reference/lenet.py reads them. ----

pub const FASHION_MNIST_DEBIAN: &str = "/usr/share/datasets/fashion-mnist";
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";

pub struct Split {
    /// Normalised pixels, image after image: [n, 1, 28, 28].
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
}

/// One IDX file (gzip or plain): (shape, bytes).
fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>), String> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out
    } else {
        raw
    };
    if raw.len() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 {
        return Err(format!("{}: not an unsigned-byte IDX file", path.display()));
    }
    let ndim = raw[3] as usize;
    let header = 4 + 4 * ndim;
    if raw.len() < header {
        return Err(format!("{}: cut short in its header", path.display()));
    }
    let shape: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    if raw.len() - header != shape.iter().product::<usize>() {
        return Err(format!("{}: header shape {shape:?} does not match its size", path.display()));
    }
    Ok((shape, raw[header..].to_vec()))
}

/// The folder of the four files: --data-dir, else the data set's usual place (as lenet.py looks).
fn data_dir(args: &Args) -> Result<PathBuf, String> {
    if let Some(dir) = &args.data_dir {
        return Ok(dir.clone());
    }
    match args.dataset.as_str() {
        "fashion-mnist" => Ok(PathBuf::from(FASHION_MNIST_DEBIAN)),
        "mnist-sample" => {
            // This file is scripts/bench/burn/src/common.rs: the repository root is four folders up.
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
            let candidates = [
                root.join("data/mnist-sample"),
                root.join("shared/data/mnist-sample"),
                root.join("../shared/data/mnist-sample"),
            ];
            candidates
                .iter()
                .find(|c| c.join(TRAIN_IMAGES).exists())
                .cloned()
                .ok_or_else(|| "MNIST sample not found; pass --data-dir DIR".to_string())
        }
        other => Err(format!("unknown data set {other:?}; use mnist-sample or fashion-mnist")),
    }
}

/// A split, normalised with the data set's (mean, std) of x/255 (lenet.py's NORMALIZATION).
pub fn load(args: &Args, split: &str) -> Result<Split, String> {
    let dir = data_dir(args)?;
    let (images, labels) = match split {
        "train" => ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        _ => ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    };
    let (ishape, pixels) = read_idx(&dir.join(images))?;
    let (lshape, labels) = read_idx(&dir.join(labels))?;
    if ishape.len() != 3 || ishape[1..] != [28, 28] || lshape != [ishape[0]] {
        return Err(format!(
            "{}: {split} images {ishape:?} and labels {lshape:?} do not match",
            dir.display()
        ));
    }
    let (mean, std) = if args.dataset == "fashion-mnist" { (0.2860f32, 0.3530f32) } else { (0.1307, 0.3081) };
    Ok(Split {
        images: pixels.iter().map(|&p| (p as f32 / 255.0 - mean) / std).collect(),
        labels: labels.iter().map(|&l| l as i64).collect(),
    })
}

/// A seeded random order of 0..n (Fisher–Yates with splitmix64): the epoch's shuffling.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Copies the images and labels of `index` into one batch (what torch_lenet's `images[index]` does).
pub fn gather(split: &Split, index: &[usize]) -> (Vec<f32>, Vec<i64>) {
    let mut images = Vec::with_capacity(index.len() * 784);
    let mut labels = Vec::with_capacity(index.len());
    for &i in index {
        images.extend_from_slice(&split.images[i * 784..(i + 1) * 784]);
        labels.push(split.labels[i]);
    }
    (images, labels)
}

/// One measurement as a JSON line (bench_lenet's fields, and what Burn/threads it ran with).
#[allow(clippy::too_many_arguments)]
pub fn print_line(
    implementation: &str,
    burn_version: &str,
    phase: &str,
    epoch: usize,
    batch: usize,
    args: &Args,
    seconds: f64,
    cpu_seconds: f64,
    images: usize,
    correct: usize,
) {
    println!(
        "{{\"impl\":\"{implementation}\",\"burn\":\"{burn_version}\",\"phase\":\"{phase}\",\"epoch\":{epoch},\"batch\":{batch},\"threads\":{},\"seconds\":{seconds:.4},\"cpu_seconds\":{cpu_seconds:.4},\"images\":{images},\"accuracy\":{:.2},\"dataset\":\"{}\",\"rayon_threads\":{},\"os_threads\":{}}}",
        args.threads,
        100.0 * correct as f64 / images.max(1) as f64,
        args.dataset,
        rayon::current_num_threads(),
        os_threads(),
    );
}
