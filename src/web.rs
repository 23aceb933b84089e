//! The book's live page, "Try it: draw a digit": a trained LeNet as a small file the page's
//! JavaScript reads, and test vectors that check the page computes what the crate computes.
//!
//! The file is safetensors (`lenet-tutor export-web --model PATH --out DIR` writes
//! `DIR/lenet-web.safetensors`): an 8-byte length, a JSON header with every tensor's name, shape
//! and byte range, then the numbers as little-endian `f32`. One standard format instead of a
//! manifest and a separate data file: the page loads one file (the reader's own, through a file
//! picker), the crate reads it back with the same code as any model ([`LeNet::load`]), and the
//! JavaScript reader is twenty lines. The header's `__metadata__` carries what the page needs
//! besides the weights:
//!
//! | key | value |
//! |---|---|
//! | `format`, `format_version` | `lenet-tutor-web`, `1` |
//! | `architecture` | `lenet` (the notes' Net; the tensors of [`PARAMETERS`]) |
//! | `dataset`, `classes` | the data set it was trained on, its ten class names (a JSON array) |
//! | `normalize_mean`, `normalize_std` | the normalisation of its inputs |
//! | `provenance` | a JSON object: source file, epochs, accuracy, seed, exporting program |

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde_json::{Value, json};

use crate::atomic_file;
use crate::data::{Dataset, DatasetName, images_tensor};
use crate::error::{Error, Result};
use crate::model::{LeNet, PARAMETERS};
use crate::train::checkpoint::Checkpoint;

/// The `format` metadata value of a web model file.
pub(crate) const FORMAT: &str = "lenet-tutor-web";
/// The `format_version` this crate writes and reads.
pub(crate) const FORMAT_VERSION: &str = "1";
/// The file `export-web` writes into its output directory.
pub const MODEL_FILE: &str = "lenet-web.safetensors";
/// The test vectors `export-web --test-vectors N` writes next to it.
pub const VECTORS_FILE: &str = "test-vectors.json";
/// The most test vectors `export-web` writes (the page's check uses 20).
pub const MAX_TEST_VECTORS: usize = 100;

/// A web model file read back: the model and what its metadata says.
#[derive(Debug)]
pub struct WebModel {
    pub model: LeNet,
    pub dataset: DatasetName,
    /// The `provenance` JSON object.
    pub provenance: Value,
}

/// Where a model came from, for the page to show: what `export-web` finds in a checkpoint.
pub fn provenance(checkpoint: &Checkpoint) -> Value {
    let mut provenance = json!({
        "source": checkpoint.path().file_name().map(|n| n.to_string_lossy().into_owned()),
        "exported_by": concat!("lenet-tutor ", env!("CARGO_PKG_VERSION")),
    });
    // A checkpoint carries its run; a bare model file (or a web file) has none.
    if let Some(meta) = checkpoint.meta() {
        provenance["epochs"] = json!(meta.epoch);
        provenance["seed"] = json!(meta.seed);
        provenance["lr"] = json!(meta.optimizer.lr);
        provenance["momentum"] = json!(meta.optimizer.momentum);
        if let Some(last) = meta.history.last_validation() {
            provenance["validation_accuracy"] = json!(format!("{}/{}", last.correct, last.total));
        }
    }
    provenance
}

/// Writes `model` as a web model file at `path` (trained on `dataset`), whole or not at all.
pub fn write(model: &LeNet, dataset: DatasetName, provenance: &Value, path: &Path) -> Result<()> {
    let bytes = to_bytes(model, dataset, provenance)?;
    // The header's metadata comes out in hash-map order, different on every run: leave a file with
    // the same tensors and metadata alone, so that rerunning the figures does not churn the book.
    if std::fs::read(path).is_ok_and(|old| same_content(&old, &bytes)) {
        return Ok(());
    }
    atomic_file::write(path, &bytes)
}

/// A web model file's bytes.
pub fn to_bytes(model: &LeNet, dataset: DatasetName, provenance: &Value) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Tensor)> = model
        .named_vars()
        .iter()
        .map(|(name, var)| Ok((name.clone(), var.as_tensor().to_dtype(DType::F32)?.to_device(&Device::Cpu)?)))
        .collect::<Result<_>>()?;
    let (mean, std) = dataset.normalization();
    let classes = serde_json::to_string(&dataset.class_names()[..]).map_err(json_error)?;
    let metadata: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("architecture", "lenet".to_string()),
        ("dataset", dataset.to_string()),
        ("classes", classes),
        ("normalize_mean", mean.to_string()),
        ("normalize_std", std.to_string()),
        ("provenance", provenance.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
        .map_err(|e| Error::InvalidArgument(format!("cannot serialise the web model: {e}")))
}

/// Whether two safetensors files hold the same metadata and the same tensors, whatever the order.
fn same_content(a: &[u8], b: &[u8]) -> bool {
    let (Ok(ta), Ok(tb)) =
        (safetensors::SafeTensors::deserialize(a), safetensors::SafeTensors::deserialize(b))
    else {
        return false;
    };
    let (Ok((_, ma)), Ok((_, mb))) =
        (safetensors::SafeTensors::read_metadata(a), safetensors::SafeTensors::read_metadata(b))
    else {
        return false;
    };
    let mut names = ta.names();
    names.sort();
    let mut other = tb.names();
    other.sort();
    ma.metadata() == mb.metadata()
        && names == other
        && names.iter().all(|n| match (ta.tensor(n), tb.tensor(n)) {
            (Ok(x), Ok(y)) => x.dtype() == y.dtype() && x.shape() == y.shape() && x.data() == y.data(),
            _ => false,
        })
}

/// Reads a web model file from its bytes; `path` names it in errors. Anything that is not a web
/// model of this format, or has a tensor missing or of the wrong shape, is an error that says so.
pub fn read(path: &Path, bytes: &[u8], device: &Device) -> Result<WebModel> {
    let bad = |what: String| Error::Checkpoint { path: path.to_path_buf(), what };
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            bad(format!(
                "no `{key}` in its metadata: not a web model (write one with `lenet-tutor export-web`)"
            ))
        })
    };
    if field("format")? != FORMAT {
        return Err(bad(format!("its format is `{}`, not `{FORMAT}`", field("format")?)));
    }
    if field("format_version")? != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} is not the one this program reads ({FORMAT_VERSION})",
            field("format_version")?
        )));
    }
    let dataset: DatasetName = field("dataset")?.parse()?;
    let provenance = serde_json::from_str(field("provenance")?)
        .map_err(|e| bad(format!("its provenance is not JSON ({e})")))?;
    let tensors = candle_core::safetensors::load_buffer(bytes, device)
        .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
    for p in PARAMETERS {
        if tensors.get(p.name).is_some_and(|t| t.dtype() != DType::F32) {
            return Err(bad(format!("`{}` is not f32", p.name)));
        }
    }
    let model = LeNet::from_tensors(&tensors, 0, device).map_err(|e| bad(format!("not a LeNet: {e}")))?;
    Ok(WebModel { model, dataset, provenance })
}

/// Writes test vectors (from [`test_vectors`]) to `path`, whole or not at all.
pub fn write_vectors(vectors: &Value, path: &Path) -> Result<()> {
    atomic_file::write(path, vectors.to_string().as_bytes())
}

/// Test vectors for the live page: for the first `n` images of `dataset`, the normalised input
/// and every layer's output (`conv1` and `conv2` before pooling, `pool1` and `pool2` after max-pool
/// and ReLU, `fc1` after ReLU, `logits` before `log_softmax`, `log_probs` after), all flattened
/// row-major. The page's JavaScript must reproduce them within 1e-4.
///
/// At most [`MAX_TEST_VECTORS`] (each case is about 180 kB of JSON).
pub fn test_vectors(model: &LeNet, dataset: &Dataset, n: usize, model_file: &str) -> Result<Value> {
    if n == 0 || n > MAX_TEST_VECTORS {
        return Err(Error::InvalidArgument(format!(
            "test vectors: asked for {n}; give 1 to {MAX_TEST_VECTORS} (each is about 180 kB of JSON)"
        )));
    }
    if n > dataset.len() {
        return Err(Error::InvalidArgument(format!(
            "test vectors: asked for {n}, but the {} test set has {} images",
            dataset.name(),
            dataset.len()
        )));
    }
    let mut cases = Vec::with_capacity(n.min(dataset.len()));
    for i in 0..n.min(dataset.len()) {
        let x = images_tensor(
            dataset.image(i),
            dataset.rows(),
            dataset.cols(),
            dataset.name().normalization(),
            model.device(),
        )?;
        let a = model.activations(&x)?;
        let log_probs = candle_nn::ops::log_softmax(&a.logits, candle_core::D::Minus1)?;
        let flat = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
        cases.push(json!({
            "label": dataset.label(i),
            "input": flat(&x)?,
            "conv1": flat(&a.conv1)?,
            "pool1": flat(&a.pool1)?,
            "conv2": flat(&a.conv2)?,
            "pool2": flat(&a.pool2)?,
            "fc1": flat(&a.fc1)?,
            "logits": flat(&a.logits)?,
            "log_probs": flat(&log_probs)?,
        }));
    }
    Ok(json!({
        "model": model_file,
        "dataset": dataset.name().to_string(),
        "cases": cases,
        "pictures": pictures(dataset, n.min(dataset.len()).min(3))?,
    }))
}

/// Pictures of the first `n` digits as a reader would hand them to `predict` — dark ink on light
/// paper, larger than 28×28, grey and RGBA with a transparent background — with what the crate's
/// preprocessing ([`digit_from_picture`](crate::data::digit_from_picture)) makes of them: the
/// page's preprocessing must give the same 784 bytes.
fn pictures(dataset: &Dataset, n: usize) -> Result<Vec<Value>> {
    use image::{DynamicImage, GrayImage, Luma, Rgba, RgbaImage, imageops};
    let mut pictures = Vec::new();
    for i in 0..n {
        let digit = GrayImage::from_raw(28, 28, dataset.image(i).to_vec())
            .ok_or_else(|| Error::Shape("test vectors need 28×28 images".into()))?;
        let mut paper = imageops::resize(&digit, 84, 84, imageops::FilterType::Triangle);
        imageops::invert(&mut paper);
        let gray = DynamicImage::ImageLuma8(paper.clone());
        // Ink on a transparent sheet: black strokes, alpha = how much ink.
        let rgba = RgbaImage::from_fn(84, 84, |x, y| {
            let Luma([v]) = *paper.get_pixel(x, y);
            Rgba([0, 0, 0, 255 - v])
        });
        for (picture, channels, pixels) in
            [(gray, 1, paper.into_raw()), (DynamicImage::ImageRgba8(rgba.clone()), 4, rgba.into_raw())]
        {
            let expected = crate::data::digit_from_picture(&picture).map_err(Error::InvalidArgument)?;
            pictures.push(json!({
                "label": dataset.label(i),
                "width": 84,
                "height": 84,
                "channels": channels,
                "pixels": pixels,
                "digit": expected,
            }));
        }
    }
    Ok(pictures)
}

fn json_error(e: serde_json::Error) -> Error {
    Error::InvalidArgument(format!("JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{self, DataOptions};

    #[test]
    fn a_written_model_reads_back_with_the_same_numbers_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        let model = LeNet::new(3, &Device::Cpu).unwrap();
        let provenance = json!({"source": "test", "epochs": 2});
        write(&model, DatasetName::FashionMnist, &provenance, &path).unwrap();
        let back = read(&path, &std::fs::read(&path).unwrap(), &Device::Cpu).unwrap();
        assert_eq!(back.dataset, DatasetName::FashionMnist);
        assert_eq!(back.provenance, provenance);
        for (name, t) in model.tensors() {
            let b = &back.model.tensors()[&name];
            assert_eq!(
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                "{name}"
            );
        }
        // Writing the same model again leaves the file as it is (its bytes would differ in order).
        let before = std::fs::read(&path).unwrap();
        write(&model, DatasetName::FashionMnist, &provenance, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // The same file is a model file for every command that reads one.
        assert_eq!(LeNet::load(&path, &Device::Cpu).unwrap().num_parameters(), 21_840);
    }

    #[test]
    fn files_that_are_not_web_models_are_clear_errors() {
        let p = Path::new("x.safetensors");
        let err = read(p, b"garbage", &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("not a safetensors file"), "{err}");
        // A plain checkpoint (no metadata): readable, but not a web model.
        let t = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let plain = safetensors::serialize([("w", &t)], None).unwrap();
        let err = read(p, &plain, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("no `format` in its metadata"), "{err}");
        // The right metadata with a wrong shape.
        let meta: HashMap<String, String> = [
            ("format", FORMAT),
            ("format_version", FORMAT_VERSION),
            ("dataset", "mnist"),
            ("provenance", "{}"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let wrong = safetensors::serialize([("conv1.weight", &t)], Some(meta)).unwrap();
        let err = read(p, &wrong, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("not a LeNet") && err.contains("conv1.weight"), "{err}");
    }

    #[test]
    fn test_vectors_hold_every_layer_of_real_digits() {
        let test = data::load_test(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        let model = LeNet::new(1, &Device::Cpu).unwrap();
        let v = test_vectors(&model, &test, 3, MODEL_FILE).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        let len = |k: &str| cases[0][k].as_array().unwrap().len();
        let sizes = [
            ("input", 784),
            ("conv1", 5760),
            ("pool1", 1440),
            ("conv2", 1280),
            ("pool2", 320),
            ("fc1", 50),
            ("logits", 10),
        ];
        for (k, n) in sizes {
            assert_eq!(len(k), n, "{k}");
        }
        assert_eq!(cases[1]["label"], u64::from(test.label(1)));
    }
}
