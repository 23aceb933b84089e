//! The `lenet-tutor` binary: the main job works on the bundled sample, and every bad input is one
//! clear line on stderr with a non-zero exit.

mod common;

use std::collections::HashMap;

use common::{
    assert_one_line_error, assert_same_run, bits, lenet_tutor, stderr, stdout, tensors_of, write_small_mnist,
};
use lenet_tutor::{DType, Device, Tensor};

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
    // One line per image: the file, the digit, its probability, then all ten.
    let line = stdout(&out);
    assert!(
        line.starts_with(&format!("{}: ", png.display())) && line.contains("9:") && line.lines().count() == 1,
        "{line}"
    );
    // The book's trained model reads the stroke as a one.
    let out = lenet_tutor(
        &["predict", "--model", book_model().to_str().unwrap(), png.to_str().unwrap()],
        dir.path(),
    );
    assert!(stdout(&out).starts_with(&format!("{}: 1 (", png.display())), "{}", stdout(&out));
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
    // With a model that exists, the picture itself is the problem.
    assert_one_line_error(
        &lenet_tutor(&["predict", "--model", book_model().to_str().unwrap(), "note.png"], d),
        "note.png: not an image this program can read",
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
    let out = lenet_tutor(&["train", "--help"], dir.path());
    assert!(out.status.success() && stdout(&out).contains("--candle-ops"));
}

#[test]
fn training_gives_the_same_bits_with_one_thread_or_two() {
    // The convolutions share work between threads by groups of images that depend only on the
    // sizes, and sum over groups in a fixed order (chapter 8), so the thread count must not change a
    // single bit of the trained weights or of the optimiser's velocity — over a real run: two
    // epochs of 20 batches of 64 (four groups each for conv1 and conv2) with momentum 0.9.
    let dir = tempfile::tempdir().unwrap();
    write_small_mnist(dir.path(), 1280, 200);
    let data_dir = dir.path().to_str().unwrap();
    let mut checkpoints = Vec::new();
    for threads in ["1", "2"] {
        let ckpt = dir.path().join(format!("threads-{threads}.safetensors"));
        let out = lenet_tutor(
            &[
                "--threads",
                threads,
                "train",
                "--dataset",
                "mnist",
                "--data-dir",
                data_dir,
                "--offline",
                "--epochs",
                "2",
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
        checkpoints.push(ckpt);
    }
    let velocity =
        tensors_of(&checkpoints[0]).keys().filter(|n| n.starts_with("optimizer.velocity.")).count();
    assert_eq!(velocity, 8, "momentum keeps a velocity per parameter");
    assert_same_run(&checkpoints[0], &checkpoints[1]);
}

#[test]
fn resume_refuses_flags_that_contradict_the_run_and_keeps_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    write_small_mnist(dir.path(), 256, 64);
    let d = dir.path().to_str().unwrap();
    let ckpt = dir.path().join("run.safetensors");
    let ck = ckpt.to_str().unwrap();
    let data = ["--dataset", "mnist", "--data-dir", d, "--offline"];
    let train = |extra: &[&str]| lenet_tutor(&[&["train"], &data[..], extra].concat(), dir.path());
    let out =
        train(&["--epochs", "1", "--momentum", "0.9", "--lr", "0.02", "--batch-size", "16", "--save", ck]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The bug this guards: `--resume ck --epochs 2` after a momentum run went on with plain SGD.
    let out = train(&["--resume", ck, "--epochs", "2", "--save", ck]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tensors = tensors_of(&ckpt);
    let hyper = tensors["meta.hyper"].to_vec1::<f64>().unwrap();
    assert_eq!(hyper, [0.02, 0.9], "lr and momentum of the run");
    assert_eq!(tensors["meta.batch_size"].to_vec1::<u32>().unwrap(), [16]);
    assert_eq!(tensors["meta.epoch"].to_vec1::<u32>().unwrap(), [2]);

    // A flag that says otherwise is refused, naming the flag, the run's value and what to do.
    let out = train(&["--resume", ck, "--epochs", "3", "--lr", "0.1"]);
    assert_one_line_error(&out, "learning rate 0.1 (the run's is 0.02)");
    assert!(stderr(&out).contains("drop the flag, or start a new run"), "{}", stderr(&out));
    let out = train(&["--resume", ck, "--epochs", "3", "--momentum", "0", "--batch-size", "32"]);
    assert_one_line_error(&out, "momentum 0 (the run's is 0.9), batch size 32 (the run's is 16)");
    let out = train(&["--resume", ck, "--epochs", "3", "--seed", "2"]);
    assert_one_line_error(&out, "seed 2 (the run's is 1)");
    let out =
        lenet_tutor(&["train", "--resume", ck, "--epochs", "3", "--dataset", "mnist-sample"], dir.path());
    assert_one_line_error(&out, "resuming it on mnist-sample would be another run");
    // The same values as the run's are no contradiction.
    let out = train(&["--resume", ck, "--epochs", "3", "--lr", "0.02", "--seed", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn checkpoints_of_another_model_or_damaged_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = lenet_tutor(&["train", "--dry-run", "--momentum", "0.9", "--save", "good.safetensors"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = tensors_of(&d.join("good.safetensors"));
    let write = |name: &str, tensors: &HashMap<String, Tensor>| {
        lenet_tutor::candle_core::safetensors::save(tensors, d.join(name)).unwrap();
    };
    // Another architecture: a wider conv1, and a model without fc2.
    let mut wide = good.clone();
    wide.insert("conv1.weight".into(), Tensor::zeros((32, 1, 5, 5), DType::F32, &Device::Cpu).unwrap());
    write("wide.safetensors", &wide);
    assert_one_line_error(
        &lenet_tutor(&["eval", "--model", "wide.safetensors"], d),
        "`conv1.weight` has shape [32, 1, 5, 5], expected [10, 1, 5, 5]",
    );
    let mut partial = good.clone();
    partial.remove("fc2.bias");
    write("partial.safetensors", &partial);
    assert_one_line_error(
        &lenet_tutor(&["eval", "--model", "partial.safetensors"], d),
        "`fc2.bias` is missing",
    );
    // An extra tensor is ignored: a checkpoint holds the optimiser's state besides the model.
    let mut extra = good.clone();
    extra.insert("notes.extra".into(), Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap());
    write("extra.safetensors", &extra);
    assert!(lenet_tutor(&["eval", "--model", "extra.safetensors"], d).status.success());
    // A truncated file.
    let bytes = std::fs::read(d.join("good.safetensors")).unwrap();
    std::fs::write(d.join("cut.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(
        &lenet_tutor(&["eval", "--model", "cut.safetensors"], d),
        "not a readable safetensors file",
    );
    assert_one_line_error(
        &lenet_tutor(&["train", "--resume", "cut.safetensors", "--epochs", "2"], d),
        "not a readable safetensors file",
    );
    // An optimiser state that does not fit the model.
    let mut velocity = good.clone();
    velocity
        .insert("optimizer.velocity.fc1.bias".into(), Tensor::zeros(7, DType::F32, &Device::Cpu).unwrap());
    write("velocity.safetensors", &velocity);
    assert_one_line_error(
        &lenet_tutor(&["train", "--resume", "velocity.safetensors", "--epochs", "2"], d),
        "the optimizer state does not fit the model: shape: optimizer velocity for `fc1.bias` has shape [7]",
    );
    // A model file without a run is no checkpoint to resume.
    let mut model_only = good.clone();
    model_only.retain(|name, _| {
        !name.starts_with("meta.") && !name.starts_with("history.") && !name.starts_with("optimizer.")
    });
    write("model.safetensors", &model_only);
    assert!(lenet_tutor(&["eval", "--model", "model.safetensors"], d).status.success());
    assert_one_line_error(
        &lenet_tutor(&["train", "--resume", "model.safetensors", "--epochs", "2"], d),
        "this is a model file, not a training checkpoint",
    );
}

/// The book's chapter-6 model (momentum, 10 epochs on the sample), written by `examples/figures`.
fn book_model() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/live/lenet-ch06.safetensors")
}

#[test]
fn predict_reads_real_digits_however_they_are_drawn() {
    use image::{GrayImage, Luma, Rgb, RgbImage, imageops};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = book_model();
    let model = model.to_str().unwrap();
    let splits =
        lenet_tutor::data::load(lenet_tutor::data::DatasetName::MnistSample, &Default::default()).unwrap();
    let test = splits.test;
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for i in 0..10 {
        let digit = GrayImage::from_raw(28, 28, test.image(i).to_vec()).unwrap();
        let path = d.join(format!("digit-{i}.png"));
        digit.save(&path).unwrap();
        files.push(path.to_string_lossy().into_owned());
        labels.push(test.label(i));
    }
    let predicted = |args: &[String]| -> Vec<u8> {
        let mut all = vec!["predict".to_string(), "--model".into(), model.to_string()];
        all.extend_from_slice(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = lenet_tutor(&all, d);
        assert!(out.status.success(), "{}", stderr(&out));
        // "digit-3.png: 7 (99.1%)  [0:0.000 …]"
        stdout(&out)
            .lines()
            .map(|l| l.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap())
            .collect()
    };
    let right = predicted(&files).iter().zip(&labels).filter(|(p, l)| p == l).count();
    assert!(right >= 9, "{right}/10 real digits read right");

    // The same digits dark on light (as drawn on paper), at photo size, and as colour JPEGs.
    let mut more = Vec::new();
    for i in 0..3 {
        let mut digit = GrayImage::from_raw(28, 28, test.image(i).to_vec()).unwrap();
        imageops::invert(&mut digit);
        let inverted = d.join(format!("inverted-{i}.png"));
        digit.save(&inverted).unwrap();
        let big = imageops::resize(&digit, 300, 300, imageops::FilterType::Triangle);
        let photo = d.join(format!("photo-{i}.png"));
        big.save(&photo).unwrap();
        let colour = RgbImage::from_fn(300, 300, |x, y| {
            let v = big.get_pixel(x, y).0[0];
            Rgb([v, v.saturating_sub(40), 255 - (255 - v) / 2]) // blue ink on cream paper
        });
        let jpeg = d.join(format!("colour-{i}.jpg"));
        colour.save(&jpeg).unwrap();
        more.extend([inverted, photo, jpeg].map(|p| p.to_string_lossy().into_owned()));
    }
    let got = predicted(&more);
    let expected: Vec<u8> = (0..3).flat_map(|i| [labels[i]; 3]).collect();
    assert_eq!(got, expected, "inverted, 300×300 and colour JPEG versions of the first three digits");
    let _ = Luma([0u8]);
}

#[test]
fn empty_truncated_and_huge_pictures_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = book_model();
    let model = model.to_str().unwrap();
    std::fs::write(d.join("empty.png"), b"").unwrap();
    assert_one_line_error(&lenet_tutor(&["predict", "--model", model, "empty.png"], d), "empty.png");
    let mut png = Vec::new();
    image::GrayImage::from_pixel(64, 64, image::Luma([200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(d.join("cut.png"), &png[..png.len() / 2]).unwrap();
    assert_one_line_error(
        &lenet_tutor(&["predict", "--model", model, "cut.png"], d),
        "not an image this program can read",
    );
    // A valid PNG header that declares 100,000 × 100,000 pixels: refused before decoding.
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes()); // IHDR width
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes()); // IHDR height
    let crc = crc32(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(d.join("huge.png"), &huge).unwrap();
    assert_one_line_error(&lenet_tutor(&["predict", "--model", model, "huge.png"], d), "too large");
    // A picture with nothing on it.
    image::GrayImage::from_pixel(40, 40, image::Luma([255])).save(d.join("blank.png")).unwrap();
    assert_one_line_error(&lenet_tutor(&["predict", "--model", model, "blank.png"], d), "blank.png");
}

/// The CRC-32 of PNG chunks (ISO 3309), so the test can forge a header PNG readers accept.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn every_command_that_prints_stops_quietly_when_its_reader_goes_away() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = lenet_tutor(&["train", "--dry-run", "--save", "m.safetensors"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let digit = image::GrayImage::from_fn(28, 28, |x, _| image::Luma([if x == 14 { 255 } else { 0 }]));
    let mut images = Vec::new();
    for i in 0..400 {
        let name = format!("d{i}.png");
        digit.save(d.join(&name)).unwrap();
        images.push(name);
    }
    let mut predict: Vec<&str> = vec!["predict", "--model", "m.safetensors"];
    predict.extend(images.iter().map(String::as_str));
    let commands: Vec<Vec<&str>> = vec![
        vec!["train", "--dry-run", "--log-interval", "1"],
        vec!["eval", "--model", "m.safetensors"],
        predict,
        vec!["visualize", "--model", "m.safetensors", "--out", "figs"],
        vec!["export-web", "--model", "m.safetensors", "--out", "web", "--test-vectors", "2"],
    ];
    for args in commands {
        // `lenet-tutor … | head -1`: read one line, then close the pipe.
        let mut child = common::lenet_tutor_command(&args, d)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        use std::os::unix::process::ExitStatusExt;
        let quiet = out.status.success() || out.status.signal() == Some(13); // SIGPIPE
        assert!(quiet, "{args:?} ended with {:?}: {err}", out.status);
        assert!(!first.is_empty(), "{args:?} printed nothing");
    }
}

#[test]
fn export_web_writes_the_checkpoints_numbers_and_says_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = lenet_tutor(&["train", "--dry-run", "--momentum", "0.9", "--save", "m.safetensors"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    let out =
        lenet_tutor(&["export-web", "--model", "m.safetensors", "--out", "web", "--test-vectors", "3"], d);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    // The exported numbers are the checkpoint's, bit for bit, with the web format's metadata.
    let file = d.join("web/lenet-web.safetensors");
    let web = lenet_tutor::web::read(&file, &std::fs::read(&file).unwrap(), &Device::Cpu).unwrap();
    assert_eq!(web.dataset, lenet_tutor::data::DatasetName::MnistSample);
    assert_eq!(web.provenance["epochs"], 1);
    let checkpoint = tensors_of(&d.join("m.safetensors"));
    for (name, t) in web.model.tensors() {
        assert_eq!(bits(&t), bits(&checkpoint[&name]), "{name}");
    }
    let vectors: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("web/test-vectors.json")).unwrap()).unwrap();
    assert_eq!(vectors["cases"].as_array().unwrap().len(), 3);
    // Errors: a missing model, and an output directory that cannot be made.
    assert_one_line_error(
        &lenet_tutor(&["export-web", "--model", "none.safetensors", "--out", "web"], d),
        "train a model first",
    );
    std::fs::write(d.join("a-file"), b"").unwrap();
    assert_one_line_error(
        &lenet_tutor(&["export-web", "--model", "m.safetensors", "--out", "a-file/web"], d),
        "a-file/web",
    );
}

/// Runs `lenet-tutor` and returns its stderr, exit status and peak memory (max RSS, in MiB).
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also reports its peak memory
fn run_measuring_memory(args: &[&str], cwd: &std::path::Path) -> (String, i32, f64) {
    use std::io::Read;
    let mut child = common::lenet_tutor_command(args, cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child, once (the `Child` is not waited on again).
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    (err, status, usage.ru_maxrss as f64 / 1024.0)
}

/// A gzip stream of `header` followed by `zeros` zero bytes.
fn gzip_bomb(header: &[u8], zeros: usize) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(header).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros / chunk.len() {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn a_gzip_bomb_in_the_data_dir_is_a_clear_error_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_small_mnist(d, 10, 10);
    let images =
        |count: u32| -> Vec<u8> { [0x803u32, count, 28, 28].iter().flat_map(|v| v.to_be_bytes()).collect() };
    let model = book_model();
    let eval =
        ["eval", "--model", model.to_str().unwrap(), "--dataset", "mnist", "--data-dir", ".", "--offline"];
    // Honest about its size (100 images, 78 kB) but inflating to 1 GiB: refused after one byte more.
    let bomb = gzip_bomb(&images(100), 1 << 30);
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), &bomb).unwrap();
    let (err, status, peak) = run_measuring_memory(&eval, d);
    eprintln!(
        "gzip bomb ({} kB inflating to 1 GiB, header: 100 images): peak memory {peak:.0} MiB",
        bomb.len() / 1024
    );
    assert_ne!(status, 0);
    assert!(err.contains("unpacks to more than the 78416 bytes its IDX header promises"), "{err}");
    assert!(peak < 150.0, "peak memory {peak:.0} MiB");
    // A header that promises a billion pixels cannot unlock the bomb: the fixed ceiling holds.
    let bomb = gzip_bomb(&images(1_000_000), 1 << 30);
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), &bomb).unwrap();
    let (err, status, peak) = run_measuring_memory(&eval, d);
    eprintln!("gzip bomb (header: 1,000,000 images): peak memory {peak:.0} MiB");
    assert_ne!(status, 0);
    assert!(err.contains("134217728-byte ceiling"), "{err}");
    assert!(peak < 300.0, "peak memory {peak:.0} MiB");
}
