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
