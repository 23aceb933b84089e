//! The `lenet-tutor` binary: the main job works on the bundled sample, and every bad input is one
//! clear line on stderr with a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

fn lenet_tutor(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lenet-tutor"))
        .args(args)
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", "2")
        .env("CANDLE_NUM_THREADS", "2")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure, got success: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "error is not one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
}

#[test]
fn dry_run_trains_on_the_bundled_sample_from_any_directory_then_eval_visualize_and_predict_work() {
    // Run from an empty directory: the sample is built into the binary.
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("m.safetensors");
    let out = lenet_tutor(&["train", "--dry-run", "--save", ckpt.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("training loss is") && text.contains("training accuracy is "), "{text}");
    assert!(text.contains("validation accuracy is ") && text.contains("/2000"), "{text}");
    assert!(ckpt.exists());

    let out = lenet_tutor(&["eval", "--model", ckpt.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("validation accuracy is "), "{}", stdout(&out));

    let figs = dir.path().join("figs");
    let out = lenet_tutor(
        &["visualize", "--model", ckpt.to_str().unwrap(), "--out", figs.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for f in [
        "conv1-kernels.png",
        "conv2-kernels.png",
        "feature-maps.png",
        "confusion.svg",
        "mistakes.png",
        "curves.svg",
    ] {
        let bytes = std::fs::read(figs.join(f)).unwrap_or_else(|_| panic!("{f} not written"));
        assert!(bytes.len() > 200, "{f} is {} bytes", bytes.len());
    }

    // A digit drawn as a PNG, dark ink on white paper.
    let mut img = image::GrayImage::from_pixel(56, 56, image::Luma([255]));
    for y in 10..46 {
        for x in 26..31 {
            img.put_pixel(x, y, image::Luma([0]));
        }
    }
    let png = dir.path().join("one.png");
    img.save(&png).unwrap();
    let out = lenet_tutor(&["predict", "--model", ckpt.to_str().unwrap(), png.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("one.png: ") && stdout(&out).contains("9:"), "{}", stdout(&out));
}

#[test]
fn bad_inputs_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_one_line_error(&lenet_tutor(&["train", "--dataset", "cifar"], d), "cifar");
    assert_one_line_error(&lenet_tutor(&["train", "--device", "tpu"], d), "unknown device `tpu`");
    assert_one_line_error(&lenet_tutor(&["train", "--batch-size", "0", "--dry-run"], d), "batch");
    assert_one_line_error(&lenet_tutor(&["train", "--lr=-1", "--dry-run"], d), "learning rate");
    assert_one_line_error(
        &lenet_tutor(&["eval", "--model", "missing.safetensors"], d),
        "train a model first",
    );
    std::fs::write(d.join("junk.safetensors"), b"junk").unwrap();
    assert_one_line_error(
        &lenet_tutor(&["eval", "--model", "junk.safetensors"], d),
        "not a readable safetensors",
    );
    std::fs::write(d.join("note.png"), b"not a png").unwrap();
    let ckpt = d.join("none.safetensors");
    assert_one_line_error(
        &lenet_tutor(&["predict", "--model", ckpt.to_str().unwrap(), "note.png"], d),
        "train a model first",
    );
    assert_one_line_error(
        &lenet_tutor(&["train", "--dataset", "mnist", "--offline", "--data-dir", d.to_str().unwrap()], d),
        "lenet-tutor download",
    );
    assert_one_line_error(&lenet_tutor(&["download", "--dataset", "mnist-sample"], d), "bundled");
}

#[test]
fn usage_errors_are_one_line_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = lenet_tutor(&["train", "--epochs", "many"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "--epochs");
    let out = lenet_tutor(&["--help"], dir.path());
    assert!(out.status.success() && stdout(&out).contains("train"));
}

#[test]
fn training_gives_the_same_bits_with_one_thread_or_two() {
    // The convolutions share work between threads by groups of images that depend only on the
    // sizes, and sum over groups in a fixed order (chapter 8), so the thread count must not change a
    // single bit of the trained weights or of the optimiser's velocity. Batch 64 makes four groups
    // for conv1 and conv2.
    let dir = tempfile::tempdir().unwrap();
    let mut checkpoints = Vec::new();
    for threads in ["1", "2"] {
        let ckpt = dir.path().join(format!("threads-{threads}.safetensors"));
        let out = lenet_tutor(
            &[
                "--threads",
                threads,
                "train",
                "--dry-run",
                "--batch-size",
                "64",
                "--momentum",
                "0.9",
                "--save",
                ckpt.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let tensors = lenet_tutor::candle_core::safetensors::load(&ckpt, &lenet_tutor::Device::Cpu)
            .expect("a checkpoint");
        checkpoints.push(tensors);
    }
    let (one, two) = (&checkpoints[0], &checkpoints[1]);
    // Everything but the history, which holds each epoch's seconds.
    let mut names: Vec<&String> = one.keys().filter(|name| !name.starts_with("history")).collect();
    names.sort();
    assert!(names.iter().any(|n| n.as_str() == "conv1.weight") && names.len() >= 16, "{names:?}");
    for name in names {
        // f32 → f64 is exact, so comparing as f64 bits compares every tensor's own bits.
        let bits = |t: &lenet_tutor::Tensor| -> Vec<u64> {
            let t = t.flatten_all().unwrap().to_dtype(lenet_tutor::DType::F64).unwrap();
            t.to_vec1::<f64>().unwrap().iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(bits(&one[name]), bits(&two[name]), "{name} differs between 1 and 2 threads");
    }
}
