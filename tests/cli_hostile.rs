//! What a careless or hostile user hands the `lenet-tutor` binary: flags at their limits, saves that
//! must really happen, two runs writing one file, Ctrl-C in the middle of a write, a resume on other
//! data. Every failure is one line on stderr and leaves no partial file; every "saved" is true.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    assert_one_line_error, lenet_tutor, lenet_tutor_command, stderr, stdout, tensors_of, write_small_mnist,
};

/// Files in `dir` whose names start with `.` (the temporaries of a write).
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// `train` on the small MNIST written into `data` (offline), then `extra`.
fn train_on<'a>(data: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--dataset", "mnist", "--data-dir", data.to_str().unwrap(), "--offline"];
    args.extend_from_slice(extra);
    args
}

fn epoch_of(path: &Path) -> u32 {
    tensors_of(path)["meta.epoch"].to_vec1::<u32>().unwrap()[0]
}

#[test]
fn flags_out_of_range_are_usage_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, needle) in [
        (&["train", "--max-seconds", "-1"][..], "0 or more, got -1"),
        (&["train", "--max-seconds", "nan"], "0 or more, got NaN"),
        (&["train", "--max-seconds", "inf"], "0 or more, got inf"),
        (&["--threads", "100000", "train"], "100000 threads: give 1 to 1024"),
        (&["train", "--threads", "0"], "0 threads: give 1 to 1024"),
        (&["train", "--lr", "nan"], "learning rate must be a positive number"),
        (&["train", "--lr", "-0.5"], "learning rate must be a positive number"),
        (&["train", "--momentum", "1"], "momentum must be at least 0 and below 1"),
        (&["train", "--test-batch-size", "0"], "must be at least 1"),
        (&["train", "--epochs", "-3"], "`-3` is not a number"),
        (&["export-web", "--model", "m", "--out", "w", "--test-vectors", "1000000"], "give 1 to 100"),
        (&["eval", "--model", "m", "--test-batch-size", "0"], "must be at least 1"),
    ] {
        let out = lenet_tutor(args, d);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_save_that_is_announced_is_a_file_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_small_mnist(d, 128, 32);
    let train = |extra: &[&str]| lenet_tutor(&train_on(d, extra), d);

    // --epochs 0: the untrained model is saved, and said to be untrained.
    let out = train(&["--epochs", "0", "--save", "e0.safetensors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("saved the untrained model to e0.safetensors"), "{}", stdout(&out));
    assert_eq!(epoch_of(&d.join("e0.safetensors")), 0);

    // A run at epoch 2 resumed with --epochs 1: nothing to train, saved unchanged where asked.
    let out = train(&["--epochs", "2", "--save", "r.safetensors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = train(&["--resume", "r.safetensors", "--epochs", "1", "--save", "r1.safetensors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the run is at epoch 2 and --epochs is 1; saved it unchanged"),
        "{}",
        stdout(&out)
    );
    assert_eq!(epoch_of(&d.join("r1.safetensors")), 2);

    // Resume without --save goes on saving into the file it resumed (as --help says).
    let out = train(&["--resume", "r.safetensors", "--epochs", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("saved to r.safetensors"), "{}", stdout(&out));
    assert_eq!(epoch_of(&d.join("r.safetensors")), 3);
    let help = stdout(&lenet_tutor(&["train", "--help"], d));
    assert!(help.contains("back into this file without it"), "{help}");
    assert!(help.contains("Defaults: --epochs 10 --batch-size 32"), "{help}");

    // Checkpoints are ordinary files (0644), not private temporaries (0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("r.safetensors")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
    assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));
}

#[test]
fn a_diverging_run_stops_with_one_line_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_small_mnist(d, 256, 32);
    let out = lenet_tutor(&train_on(d, &["--lr", "100", "--epochs", "2", "--save", "bad.safetensors"]), d);
    assert_one_line_error(&out, "training diverged and was stopped");
    assert!(!d.join("bad.safetensors").exists(), "the useless model was saved");
}

#[test]
fn resume_on_other_data_under_the_same_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    write_small_mnist(&first, 640, 64);
    write_small_mnist(&second, 320, 64);
    let ckpt = dir.path().join("run.safetensors");
    let c = ckpt.to_str().unwrap();
    let train = |data: &Path, extra: &[&str]| lenet_tutor(&train_on(data, extra), dir.path());
    let out = train(&first, &["--dry-run", "--save", c]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = train(&second, &["--resume", c, "--epochs", "2"]);
    assert_one_line_error(
        &out,
        "this run was trained on other mnist data (640 training / 64 validation images",
    );
    assert_eq!(epoch_of(&ckpt), 1, "the checkpoint is untouched");
    let out = train(&first, &["--resume", c, "--epochs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn two_runs_saving_to_one_path_both_succeed_and_the_file_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_small_mnist(d, 256, 32);
    let args = train_on(d, &["--epochs", "3", "--save", "same.safetensors"]);
    let children: Vec<_> = (0..2)
        .map(|_| {
            lenet_tutor_command(&args, d)
                .env("LENET_TUTOR_TEST_SAVE_PAUSE_MS", "50")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(epoch_of(&d.join("same.safetensors")), 3);
    assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_the_middle_of_a_save_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_small_mnist(d, 128, 32);
    let args = train_on(d, &["--epochs", "2", "--save", "c.safetensors"]);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = lenet_tutor_command(&args, d)
            .env("LENET_TUTOR_TEST_SAVE_PAUSE_MS", "3000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while temporaries(d).is_empty() {
            assert!(child.try_wait().unwrap().is_none(), "the run ended before its first save");
            assert!(start.elapsed() < Duration::from_secs(120), "no save started");
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        assert!(temporaries(d).is_empty(), "left behind: {:?}", temporaries(d));
        assert!(!d.join("c.safetensors").exists(), "the first checkpoint was never finished");
    }
}

#[test]
// MNIST, not Fashion-MNIST: a machine with Debian's dataset-fashion-mnist would find that one
// without --data-dir, and the "without the files" step would not fail.
fn export_web_reads_only_test_files_and_writes_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_small_mnist(&data, 64, 32);
    let data = data.to_str().unwrap();
    let out = lenet_tutor(
        &[
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            data,
            "--offline",
            "--dry-run",
            "--save",
            "f.safetensors",
        ],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The test files alone are enough: the training files go.
    for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        std::fs::remove_file(d.join("data").join(f)).unwrap();
    }
    let export = |extra: &[&str]| {
        lenet_tutor(
            &[&["export-web", "--model", "f.safetensors", "--out", "web", "--offline"][..], extra].concat(),
            d,
        )
    };
    let out = export(&["--test-vectors", "3", "--data-dir", data]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(d.join("web/test-vectors.json").exists());
    std::fs::remove_dir_all(d.join("web")).unwrap();
    // Without the files: one line, and no model file written before the failure.
    let out = export(&["--test-vectors", "3", "--data-dir", d.join("nowhere").to_str().unwrap()]);
    assert_one_line_error(&out, "could not find the mnist data set");
    assert!(!d.join("web").join("lenet-web.safetensors").exists());
    // More test vectors than test images.
    let out = export(&["--test-vectors", "40", "--data-dir", data]);
    assert_one_line_error(&out, "asked for 40, but the mnist test set has 32 images");
    assert!(!d.join("web").join("lenet-web.safetensors").exists());
}

#[test]
fn files_of_the_wrong_kind_and_directories_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("adir")).unwrap();
    assert_one_line_error(&lenet_tutor(&["eval", "--model", "adir"], d), "is a directory");
    assert_one_line_error(&lenet_tutor(&["train", "--dry-run", "--save", "adir"], d), "is a directory");
    assert!(d.join("adir").is_dir() && temporaries(d).is_empty());
}
