//! Kill a training run at any moment, resume it, and end with the weights of a run that was never
//! interrupted, bit for bit: at most the current epoch is lost, a checkpoint is never half written,
//! and what a killed save leaves behind is cleaned up.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{
    TestResult, assert_same_run, lenet_tutor, lenet_tutor_command, stderr, tensors_of, write_small_mnist,
};

const EPOCHS: &str = "4";

/// `train` on the small MNIST in `dir` with momentum, saving to `ckpt` after every epoch.
fn train_args<'a>(dir: &'a str, ckpt: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        dir,
        "--offline",
        "--epochs",
        EPOCHS,
        "--batch-size",
        "32",
        "--momentum",
        "0.9",
        "--seed",
        "3",
        "--save",
        ckpt,
    ]
}

fn epoch_of(ckpt: &Path) -> u32 {
    tensors_of(ckpt)["meta.epoch"].to_vec1::<u32>().unwrap()[0]
}

/// Temporary files a save left next to `ckpt`.
fn temporaries(ckpt: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.", ckpt.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(ckpt.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&prefix))
        .collect()
}

fn wait_until(what: &str, child: &mut Child, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before {what}");
        assert!(start.elapsed() < Duration::from_secs(120), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Resumes the run in `ckpt` to the end and checks it matches the uninterrupted `reference`.
fn resume_and_compare(dir: &Path, ckpt: &Path, reference: &Path) {
    let (d, c) = (dir.to_str().unwrap(), ckpt.to_str().unwrap());
    let mut args = train_args(d, c);
    args.extend(["--resume", c]);
    let out = lenet_tutor(&args, dir);
    assert!(out.status.success(), "resume failed: {}", stderr(&out));
    assert_same_run(ckpt, reference);
    assert!(temporaries(ckpt).is_empty(), "left behind: {:?}", temporaries(ckpt));
}

#[test]
fn a_run_killed_mid_epoch_or_mid_save_resumes_to_the_same_bits() -> TestResult {
    let dir = tempfile::tempdir()?;
    write_small_mnist(dir.path(), 640, 100);
    let d = dir.path().to_str().unwrap();

    let reference = dir.path().join("reference.safetensors");
    let out = lenet_tutor(&train_args(d, reference.to_str().unwrap()), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(epoch_of(&reference), 4);

    // 0. Killed before the first checkpoint exists: nothing is left behind, not even a temporary
    // file, and the run started again from scratch is the same run.
    let ckpt = dir.path().join("early.safetensors");
    let c = ckpt.to_str().unwrap();
    let mut child = lenet_tutor_command(&train_args(d, c), dir.path()).stdout(Stdio::piped()).spawn()?;
    // The first line is printed before training starts; the first save comes after a whole epoch.
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first_line)?;
    child.kill()?;
    child.wait()?;
    assert!(first_line.starts_with("training the notes' LeNet"), "{first_line}");
    assert!(!ckpt.exists() && temporaries(&ckpt).is_empty(), "{:?}", temporaries(&ckpt));
    let out = lenet_tutor(&train_args(d, c), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_run(&ckpt, &reference);

    // 1. Killed in the middle of epoch 2: epoch 1's checkpoint is there, epoch 2's work is lost.
    let ckpt = dir.path().join("mid-epoch.safetensors");
    let c = ckpt.to_str().unwrap();
    let mut child = lenet_tutor_command(&train_args(d, c), dir.path()).stdout(Stdio::null()).spawn()?;
    wait_until("the first checkpoint", &mut child, || ckpt.exists());
    std::thread::sleep(Duration::from_millis(30));
    child.kill()?; // SIGKILL: no destructor, no flush
    child.wait()?;
    let reached = epoch_of(&ckpt);
    assert!(reached < 4, "the run finished before the kill (epoch {reached})");
    resume_and_compare(dir.path(), &ckpt, &reference);

    // 2. Killed while saving: halfway through writing the checkpoint's bytes into the temporary
    // file (held there by the test hook inside the atomic write). What a reader finds is the
    // previous checkpoint, whole; the half-written temporary file is left behind (SIGKILL runs no
    // cleanup), and the next save removes it, since its writer is dead.
    let ckpt = dir.path().join("mid-save.safetensors");
    let c = ckpt.to_str().unwrap();
    let mut child = lenet_tutor_command(&train_args(d, c), dir.path())
        .env("LENET_TUTOR_TEST_SAVE_PAUSE_MS", "400")
        .stdout(Stdio::null())
        .spawn()?;
    wait_until("a checkpoint", &mut child, || ckpt.exists());
    wait_until("the next save", &mut child, || !temporaries(&ckpt).is_empty());
    child.kill()?;
    child.wait()?;
    assert_eq!(epoch_of(&ckpt), 1, "the old checkpoint, whole");
    assert_eq!(temporaries(&ckpt).len(), 1, "the killed save's temporary file");
    resume_and_compare(dir.path(), &ckpt, &reference);

    // 3. Killed at a few moments picked without looking: whatever the moment, the same end.
    for (i, delay) in [15u64, 70, 140].into_iter().enumerate() {
        let ckpt = dir.path().join(format!("random-{i}.safetensors"));
        let c = ckpt.to_str().unwrap();
        let mut child = lenet_tutor_command(&train_args(d, c), dir.path()).stdout(Stdio::null()).spawn()?;
        wait_until("the first checkpoint", &mut child, || ckpt.exists());
        std::thread::sleep(Duration::from_millis(delay));
        child.kill()?;
        child.wait()?;
        if epoch_of(&ckpt) < 4 {
            resume_and_compare(dir.path(), &ckpt, &reference);
        } else {
            assert_same_run(&ckpt, &reference);
        }
    }
    Ok(())
}
