//! Figures of chapters 6 and 7 ("LeNet on MNIST", "What LeNet learned").
//!
//! Trains the notes' LeNet on the bundled MNIST sample with the crate's defaults (10 epochs, batch 32,
//! lr 0.01, seed 1) twice, with plain SGD and with momentum 0.9, draws both learning curves and prints
//! the numbers the chapters quote; then draws what the momentum model learned.
//!
//! Each run saves a checkpoint after every epoch under `target/figures-lenet/` (so
//! `lenet-tutor visualize --model target/figures-lenet/momentum.safetensors` works afterwards), and
//! the momentum model goes to the live page as `book/src/live/lenet-ch06.safetensors`.
//! Training takes minutes on a small CPU; with `LENET_FIGURES_RESUME=1` a run picks up from those
//! checkpoints instead of starting over (the crate's resume is exact: same batches, same dropout masks).

use std::path::{Path, PathBuf};

use lenet_tutor::ModuleT;
use lenet_tutor::candle_core::Var;
use lenet_tutor::data::{self, DataOptions, Dataset, DatasetName};
use lenet_tutor::model::{Classifier, Dropout2d, LeNet};
use lenet_tutor::ops::{self, InputGrad};
use lenet_tutor::train::checkpoint::Checkpoint;
use lenet_tutor::train::{History, Output, SgdConfig, TrainConfig, Trainer};
use lenet_tutor::viz::{self, MapGrid, model_figures};
use lenet_tutor::web;

use crate::generated::Generated;
use lenet_tutor::{Device, Result, Tensor, rng};

/// Test images whose path through the network chapter 7 draws.
const FEATURE_MAP_DIGITS: [usize; 2] = [0, 1];

pub fn write(out: &Path) -> Result<()> {
    let device = lenet_tutor::device::auto();
    println!("lenet figures on {}", lenet_tutor::device::name(&device));
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default())?;
    save(out, "ch06-sample-digits.png", sample_digits(&splits.train)?)?;

    let plain = train(&splits.train, &splits.test, 0.0, "plain", &device)?;
    let momentum = train(&splits.train, &splits.test, 0.9, "momentum", &device)?;
    save(out, "ch06-curves-plain.svg", viz::curves_svg(&plain.history)?)?;
    save(out, "ch06-curves-momentum.svg", viz::curves_svg(&momentum.history)?)?;
    let mut ch06 = Generated::new("ch06");
    let mut ch07 = Generated::new("ch07");
    print_results("plain SGD", "plain", &plain.history, &mut ch06);
    print_results("momentum 0.9", "momentum", &momentum.history, &mut ch06);
    let candle_pooling = candle_pooling_run(&splits.train, &splits.test, &device)?;
    print_results("plain SGD with candle's max_pool2d", "candle_pooling", &candle_pooling, &mut ch06);
    ch06_claims(&plain.history, &momentum.history, &candle_pooling)?;
    let first_three = |h: &History| -> String {
        h.validation.iter().take(3).map(|s| format!(" {:.2} % |", s.accuracy())).collect()
    };
    // Whole tables, header included: a token standing for table rows would not survive the Korean
    // edition's Markdown rewriting (it sees one cell).
    let (candle_rows, crate_rows) = (first_three(&candle_pooling), first_three(&plain.history));
    ch06.set_words(
        "pooling_table",
        format!(
            "| validation accuracy | epoch 1 | epoch 2 | epoch 3 |\n|---|---|---|---|\n\
             | with candle 0.11's `max_pool2d` |{candle_rows}\n| with the crate's pooling |{crate_rows}"
        ),
        format!(
            "| 검증 정확도 | 에폭 1 | 에폭 2 | 에폭 3 |\n|---|---|---|---|\n\
             | candle 0.11의 `max_pool2d` |{candle_rows}\n| 크레이트의 풀링 |{crate_rows}"
        ),
    );
    let epochs =
        |h: &History| -> String { h.validation.iter().map(|s| format!(" {:.2} |", s.accuracy())).collect() };
    let (plain_row, momentum_row) = (epochs(&plain.history), epochs(&momentum.history));
    let columns = plain.history.validation.len();
    let header = |title: &str| {
        let numbers: String = (1..=columns).map(|e| format!(" {e} |")).collect();
        format!("| {title} |{numbers}\n|---|{}", "---|".repeat(columns))
    };
    ch06.set_words(
        "epochs_table",
        format!(
            "{}\n| Rust, plain SGD |{plain_row}\n| Rust, momentum 0.9 |{momentum_row}",
            header("validation accuracy (%) by epoch")
        ),
        format!(
            "{}\n| Rust, 기본 SGD |{plain_row}\n| Rust, 모멘텀 0.9 |{momentum_row}",
            header("에폭별 검증 정확도(%)")
        ),
    );
    if let Some(last) = momentum.history.last_validation() {
        ch07.set("accuracy", format!("{:.2} %", last.accuracy()));
    }

    let model = &momentum.model;
    let digit = model_figures::image_tensor(&splits.test, 0, model)?;
    save(out, "ch06-dropout.png", dropout_figure(model, &digit)?)?;

    let untrained = LeNet::new(1, &device)?; // where training started: same seed
    save(out, "ch07-conv1-untrained.png", model_figures::conv1_kernels(&untrained)?)?;
    print_weight_change(&untrained, model, &mut ch07)?;
    save(out, "ch07-conv1-kernels.png", model_figures::conv1_kernels(model)?)?;
    print_edge_kernels(model, &mut ch07)?;
    // Chapter 7: the trained kernels look paler "only because the largest trained weight is larger,
    // which stretches the shared scale".
    let largest = |m: &LeNet| -> Result<f32> { Ok(m.conv1_weight().abs()?.max_all()?.to_scalar::<f32>()?) };
    let (before, after) = (largest(&untrained)?, largest(model)?);
    check("chapter 7", &[("conv1's largest weight grew in training", after > before)])?;
    save(out, "ch07-conv2-kernels.png", model_figures::conv2_kernels(model)?)?;
    for (k, index) in FEATURE_MAP_DIGITS.into_iter().enumerate() {
        let image = model_figures::image_tensor(&splits.test, index, model)?;
        let probabilities = model.forward_t(&image, false)?.exp()?.flatten_all()?.to_vec1::<f32>()?;
        let (best, p) = probabilities
            .iter()
            .enumerate()
            .fold((0, 0f32), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        println!(
            "RESULT feature maps {k}: test image {index}, label {}, predicted {best} with probability {p:.4}",
            splits.test.label(index)
        );
        let zeros: Vec<String> = model
            .activations(&image)?
            .named()
            .into_iter()
            .filter(|(name, _)| ["pool1", "pool2", "fc1"].contains(&name.as_str()))
            .map(|(name, t)| -> Result<String> {
                let values = t.flatten_all()?.to_vec1::<f32>()?;
                let zero = values.iter().filter(|&&v| v == 0.0).count();
                Ok(format!("{name} {zero}/{} zero", values.len()))
            })
            .collect::<Result<_>>()?;
        println!("RESULT feature maps {k}: {}", zeros.join(", "));
        let fc1_zeros = model.activations(&image)?.fc1.flatten_all()?.to_vec1::<f32>()?;
        let fc1_has_zeros = fc1_zeros.contains(&0.0);
        check("chapter 7", &[("some of fc1's 50 values are exactly zero", fc1_has_zeros)])?;
        let zeros_ko = zeros.join(", ").replace(" zero", "이 0");
        ch07.set_words(&format!("feature_maps_{k}_zeros"), zeros.join(", "), zeros_ko);
        let label = splits.test.label(index);
        ch07.set_words(
            &format!("feature_maps_{k}_prediction"),
            format!("{best} (the label is {label}), with probability {p:.4}"),
            format!("{best} (정답 {label}), 확률 {p:.4}"),
        );
        save(out, &format!("ch07-feature-maps-{k}.png"), viz::feature_maps(model, &image)?)?;
    }
    let (confusion, predictions) = model_figures::confusion(model, &splits.test)?;
    save(out, "ch07-confusion.svg", confusion.heatmap_svg()?)?;
    print_confusions(&confusion, &mut ch07)?;
    let truth: Vec<u32> = splits.test.labels().iter().map(|&l| u32::from(l)).collect();
    let shown = 40;
    save(
        out,
        "ch07-mistakes.png",
        viz::mistakes_grid_from_bytes(splits.test.images(), &truth, &predictions, shown)?,
    )?;
    print_mistakes_shown(&truth, &predictions, shown, &mut ch07)?;
    save(out, "ch07-own-model.png", own_model_figure(&splits.test, &device)?)?;

    // The live page's model ("Try it: draw a digit"): this momentum model, as `export-web` writes it.
    let checkpoint =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/figures-lenet/momentum.safetensors");
    let live = out.parent().unwrap_or(out).join("live/lenet-ch06.safetensors");
    let provenance = web::provenance(&Checkpoint::open(&checkpoint)?);
    web::write(model, DatasetName::MnistSample, &provenance, &live)?;
    println!("wrote {}", live.display());

    let book_src = out.parent().unwrap_or(out);
    ch06.write(book_src)?;
    ch07.write(book_src)
}

/// How far each layer's weights moved from their initial values, relative to their size.
fn print_weight_change(before: &LeNet, after: &LeNet, generated: &mut Generated) -> Result<()> {
    let mut rows = Vec::new();
    let mut far = true;
    let (before, after) = (before.tensors(), after.tensors());
    for name in ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"] {
        let (b, a) = (&before[name], &after[name]);
        let change = (a - b)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        let size = b.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        println!("RESULT {name}: |trained - initial| / |initial| = {:.2}", change / size);
        rows.push(format!("| `{name}` | {:.2} |", change / size));
        far &= change / size > 0.5;
    }
    check("chapter 7", &[("every layer's weights moved by more than half their initial size", far)])?;
    let rows = rows.join("\n");
    generated.set_words(
        "weight_change_table",
        format!("| weights | distance moved ÷ initial size |\n|---|---:|\n{rows}"),
        format!("| 가중치 | 이동한 거리 ÷ 처음 크기 |\n|---|---:|\n{rows}"),
    );
    Ok(())
}

/// Chapter 7's "try it on your own model": three hand-made kernels of chapter 1 as a conv layer,
/// ReLU and 2×2 max pooling, listed by a closure (the same code as the chapter's snippet).
fn own_model_figure(test: &Dataset, device: &Device) -> Result<viz::Figure> {
    use lenet_tutor::conv::kernels;
    let weight =
        kernels::stack(&[kernels::sobel_x(device)?, kernels::sobel_y(device)?, kernels::laplacian(device)?])?;
    let edges = lenet_tutor::candle_nn::Conv2d::new(weight, None, Default::default()); // [3,1,3,3]
    let model = |image: &Tensor| -> Result<Vec<(String, Tensor)>> {
        use lenet_tutor::Module;
        let conv = edges.forward(image)?; // [1,3,26,26]
        let relu = conv.relu()?;
        let pool = relu.max_pool2d(2)?; // [1,3,13,13]
        Ok(vec![("edges".into(), conv), ("relu".into(), relu), ("pool".into(), pool)])
    };
    let (mean, std) = test.name().normalization();
    let image = data::images_tensor(test.image(0), 28, 28, (mean, std), device)?;
    viz::feature_maps(&model, &image)
}

fn save(out: &Path, name: &str, figure: viz::Figure) -> Result<()> {
    figure.save(out.join(name))?;
    println!("wrote {name}");
    Ok(())
}

/// The first 20 training digits with their labels: what the data set looks like.
fn sample_digits(train: &Dataset) -> Result<viz::Figure> {
    let n = 20;
    let pixels: Vec<f32> = train.images()[..n * 784].iter().map(|&b| f32::from(b)).collect();
    MapGrid::from_values(pixels, n, 28, 28)?
        .columns(10)
        .scale(2)
        .labels((0..n).map(|i| format!("{}", train.label(i))))
        .render()
}

/// Trains one configuration, or resumes its checkpoint when `LENET_FIGURES_RESUME` is set.
fn train(train: &Dataset, test: &Dataset, momentum: f64, name: &str, device: &Device) -> Result<Trainer> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/figures-lenet");
    let path = dir.join(format!("{name}.safetensors"));
    let config = TrainConfig {
        optimizer: SgdConfig { momentum, ..SgdConfig::default() },
        output: Output::Summary,
        save: Some(path.clone()),
        ..TrainConfig::default()
    };
    println!(
        "training LeNet: {} epochs, batch {}, lr {}, momentum {momentum}, seed {} -> {}",
        config.epochs,
        config.batch_size,
        config.optimizer.lr,
        config.seed,
        path.display()
    );
    let resume = std::env::var_os("LENET_FIGURES_RESUME").is_some() && path.exists();
    let mut trainer = if resume {
        Trainer::resume(&Checkpoint::open(&path)?, config, device)?
    } else {
        Trainer::new(config, device)?
    };
    if resume {
        println!("resumed at epoch {}", trainer.epochs_done());
    }
    trainer.run(train, test)?;
    Ok(trainer)
}

/// The numbers the chapter quotes: validation accuracy per epoch and at the end, and the time spent.
fn print_results(name: &str, key: &str, history: &History, generated: &mut Generated) {
    let accuracies: Vec<String> = history.validation.iter().map(|s| format!("{:.2}", s.accuracy())).collect();
    let train_seconds: f64 = history.training.iter().map(|s| s.seconds).sum();
    let val_seconds: f64 = history.validation.iter().map(|s| s.seconds).sum();
    if let (Some(t), Some(v)) = (history.training.last(), history.validation.last()) {
        println!(
            "RESULT {name}: final training loss {:.4} accuracy {:.2} % | validation loss {:.4} accuracy {:.2} % ({}/{})",
            t.loss,
            t.accuracy(),
            v.loss,
            v.accuracy(),
            v.correct,
            v.total
        );
        generated.set(&format!("{key}_final"), format!("{:.2} % ({}/{})", v.accuracy(), v.correct, v.total));
    }
    if let Some(first) = history.validation.first() {
        generated.set(&format!("{key}_epoch1"), format!("{:.2} %", first.accuracy()));
    }
    println!("RESULT {name}: validation accuracy per epoch: {}", accuracies.join(", "));
    println!("RESULT {name}: {train_seconds:.0} s training, {val_seconds:.0} s validation");
    generated.set(&format!("{key}_training_seconds"), format!("{train_seconds:.0} s"));
}

/// The most frequent confusions and the per-class recall, for chapter 7's text.
fn print_confusions(confusion: &viz::Confusion, generated: &mut Generated) -> Result<()> {
    let mut pairs = vec![];
    for (truth, row) in confusion.counts().iter().enumerate() {
        for (predicted, &count) in row.iter().enumerate() {
            if truth != predicted && count > 0 {
                pairs.push((count, truth, predicted));
            }
        }
    }
    pairs.sort_by(|a, b| b.cmp(a));
    let top: Vec<String> = pairs.iter().take(8).map(|(n, t, p)| format!("{t}→{p}: {n}")).collect();
    let wrong = confusion.total() - confusion.correct();
    println!("RESULT confusion: {wrong} wrong of {}; most frequent: {}", confusion.total(), top.join(", "));
    generated.set("mistakes", wrong.to_string());
    // "7 → 2 (5 times), then 9 → 4 (4 times), then 9 → 7 and 8 → 9 (3 times each)": the pairs met
    // at least three times, grouped by count.
    let (english, korean) = pair_phrases(&pairs, 3);
    check("chapter 7", &[("some confusion was met at least three times", !english.is_empty())])?;
    generated.set_words("confusions", english, korean);
    let recalls = confusion.recalls();
    let cells: Vec<String> = recalls.iter().map(|r| format!(" {:.1} % |", r.unwrap_or(0.0))).collect();
    // The easiest and the hardest class, with their recall and how many of each there were.
    let by_recall = |pick_max: bool| -> (String, String) {
        let (class, recall) = recalls
            .iter()
            .enumerate()
            .map(|(c, r)| (c, r.unwrap_or(0.0)))
            .reduce(|a, b| if (b.1 > a.1) == pick_max && b.1 != a.1 { b } else { a })
            .unwrap_or((0, 0.0));
        let count: usize = confusion.counts()[class].iter().sum();
        let missed = count - confusion.counts()[class][class];
        (
            format!("{class}s ({recall:.1} %: {missed} of {count} called something else)"),
            format!("{class} ({recall:.1} %: {count}개 중 {missed}개를 다른 숫자로 예측)"),
        )
    };
    let ((easiest, easiest_ko), (hardest, hardest_ko)) = (by_recall(true), by_recall(false));
    let values: Vec<f32> = recalls.iter().map(|r| r.unwrap_or(0.0)).collect();
    let uneven = values.iter().any(|&r| r != values[0]);
    check("chapter 7", &[("the mistakes are not spread evenly over the classes", uneven)])?;
    generated.set_words("easiest", easiest, easiest_ko);
    generated.set_words("hardest", hardest, hardest_ko);
    let table = |class: &str, recall: &str| {
        format!(
            "| {class} |{}\n|---|{}\n| {recall} |{}",
            (0..10).map(|c| format!(" {c} |")).collect::<String>(),
            "---:|".repeat(10),
            cells.concat()
        )
    };
    generated.set_words("recall_table", table("class", "recall"), table("클래스", "재현율"));
    let recall_list: Vec<String> =
        recalls.iter().enumerate().map(|(c, r)| format!("{c}: {:.1}", r.unwrap_or(0.0))).collect();
    println!("RESULT recall per class: {}", recall_list.join(", "));
    Ok(())
}

/// Pairs `(count, true class, predicted class)`, sorted by count (largest first), met at least
/// `at_least` times, grouped by count, as one sentence in English and one in Korean: "7 → 2 (5
/// times), then 9 → 4 (4 times), then 9 → 7 and 8 → 9 (3 times each)". Empty when no pair qualifies.
fn pair_phrases(pairs: &[(usize, usize, usize)], at_least: usize) -> (String, String) {
    let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
    for &(n, t, p) in pairs.iter().filter(|(n, _, _)| *n >= at_least) {
        match groups.last_mut() {
            Some((count, names)) if *count == n => names.push(format!("{t} → {p}")),
            _ => groups.push((n, vec![format!("{t} → {p}")])),
        }
    }
    // The same sentence in each language: how one count and a shared count read, the word before
    // the last pair, and the word between groups.
    let phrases = |times: fn(usize) -> String, each: fn(usize) -> String, and: &str, then: &str| {
        let phrase = |(n, names): &(usize, Vec<String>)| match names.as_slice() {
            [one] => format!("{one} ({})", times(*n)),
            [rest @ .., last] => format!("{}{and}{last} ({})", rest.join(", "), each(*n)),
            [] => String::new(),
        };
        groups.iter().map(phrase).collect::<Vec<_>>().join(then)
    };
    (
        phrases(|n| format!("{n} times"), |n| format!("{n} times each"), " and ", ", then "),
        phrases(|n| format!("{n}번"), |n| format!("각 {n}번"), ", ", ", 그다음 "),
    )
}

/// The pairs that come up more than once among the first `shown` mistakes, the ones the mistakes
/// figure draws: chapter 7 names them instead of describing tiles by eye.
fn print_mistakes_shown(
    truth: &[u32],
    predictions: &[u32],
    shown: usize,
    generated: &mut Generated,
) -> Result<()> {
    let mut counts = [[0usize; 10]; 10];
    for (&t, &p) in truth.iter().zip(predictions).filter(|(t, p)| t != p).take(shown) {
        counts[t as usize % 10][p as usize % 10] += 1;
    }
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
    for (t, row) in counts.iter().enumerate() {
        for (p, &n) in row.iter().enumerate() {
            if n > 0 {
                pairs.push((n, t, p));
            }
        }
    }
    pairs.sort_by(|a, b| b.cmp(a));
    let (english, korean) = pair_phrases(&pairs, 2);
    println!("RESULT mistakes shown: {english}");
    check("chapter 7", &[("some pair comes up more than once in the mistakes figure", !english.is_empty())])?;
    generated.set_words("mistakes_shown_pairs", english, korean);
    Ok(())
}

/// conv1's kernels read by a number instead of by eye: each kernel's cosine (chapter 5) with a 5×5
/// ramp that climbs from −2 to 2 across the columns (blue on the left, red on the right: the shape of
/// a vertical-edge detector like Sobel x) and with the same ramp turned to climb from top to bottom.
/// The kernel with the largest cosine (either sign) for each ramp is what chapter 7 names.
fn print_edge_kernels(model: &LeNet, generated: &mut Generated) -> Result<()> {
    let kernels = model.conv1_weight().flatten_from(1)?.to_vec2::<f32>()?; // [10, 25]
    let across: Vec<f32> = (0..25).map(|i| (i % 5) as f32 - 2.0).collect();
    let down: Vec<f32> = (0..25).map(|i| (i / 5) as f32 - 2.0).collect();
    let cosine = |a: &[f32], b: &[f32]| {
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
    };
    for (k, w) in kernels.iter().enumerate() {
        let (a, d) = (cosine(w.as_slice(), across.as_slice()), cosine(w.as_slice(), down.as_slice()));
        println!("RESULT conv1 kernel {k}: cosine {a:.2} with the ramp across, {d:.2} with the ramp down");
    }
    let strongest = |ramp: &[f32]| -> (usize, f32) {
        kernels
            .iter()
            .map(|w| cosine(w.as_slice(), ramp))
            .enumerate()
            .fold((0, 0.0), |best, (k, c)| if c.abs() > best.1.abs() { (k, c) } else { best })
    };
    let ((kx, cx), (ky, cy)) = (strongest(across.as_slice()), strongest(down.as_slice()));
    // "Edge detector" in the chapter: a cosine of at least 0.5 (or at most −0.5) with the ramp.
    check(
        "chapter 7",
        &[
            ("one kernel is a vertical-edge detector (|cosine| ≥ 0.5, ramp across)", cx.abs() >= 0.5),
            ("one kernel is a horizontal-edge detector (|cosine| ≥ 0.5, ramp down)", cy.abs() >= 0.5),
        ],
    )?;
    let number = |c: f32| format!("{c:.2}").replace('-', "−");
    let (across_en, across_ko) = if cx > 0.0 {
        (
            "blue on the left and red on the right: it answers at the left edge of a stroke",
            "왼쪽이 파랑, 오른쪽이 빨강: 획의 왼쪽 가장자리에 반응",
        )
    } else {
        (
            "red on the left and blue on the right: it answers at the right edge of a stroke",
            "왼쪽이 빨강, 오른쪽이 파랑: 획의 오른쪽 가장자리에 반응",
        )
    };
    let (down_en, down_ko) = if cy > 0.0 {
        (
            "blue on top and red below: it answers at the top edge of a stroke",
            "위가 파랑, 아래가 빨강: 획의 위쪽 가장자리에 반응",
        )
    } else {
        (
            "red on top and blue below: it answers at the bottom edge of a stroke",
            "위가 빨강, 아래가 파랑: 획의 아래쪽 가장자리에 반응",
        )
    };
    generated.set_words(
        "vertical_edge_kernel",
        format!("kernel {kx} (cosine {}; {across_en})", number(cx)),
        format!("커널 {kx}(코사인 {}; {across_ko})", number(cx)),
    );
    generated.set_words(
        "horizontal_edge_kernel",
        format!("kernel {ky} (cosine {}; {down_en})", number(cy)),
        format!("커널 {ky}(코사인 {}; {down_ko})", number(cy)),
    );
    Ok(())
}

/// What chapter 6 (and Appendix C) say of the runs in words, checked here: a rerun that makes one of
/// them false stops the figures run instead of leaving a false sentence in the book.
fn ch06_claims(plain: &History, momentum: &History, candle_pooling: &History) -> Result<()> {
    let accuracies = |h: &History| -> Vec<f32> { h.validation.iter().map(|s| s.accuracy()).collect() };
    let above = |h: &History| h.validation.iter().zip(&h.training).all(|(v, t)| v.accuracy() > t.accuracy());
    let loss_ends_lower = |h: &History| match (h.validation.first(), h.validation.last()) {
        (Some(first), Some(last)) => last.loss < first.loss,
        _ => false,
    };
    let (plain_acc, candle_acc) = (accuracies(plain), accuracies(candle_pooling));
    // "Its first epoch alone reaches …, which takes plain SGD several epochs": at least three.
    let momentum_first = momentum.validation.first().map_or(0.0, |s| s.accuracy());
    let head_start = plain_acc.len() >= 2 && plain_acc.iter().take(2).all(|&p| p < momentum_first);
    let candle_behind = candle_acc.len() == 3 && candle_acc.iter().zip(&plain_acc).all(|(c, p)| c < p);
    // "After that it climbs slowly": the momentum run ends above its first epoch.
    let climbs = momentum.validation.last().is_some_and(|last| last.accuracy() > momentum_first);
    check(
        "chapter 6",
        &[
            ("validation accuracy is above training accuracy at every epoch, plain SGD", above(plain)),
            ("validation accuracy is above training accuracy at every epoch, momentum", above(momentum)),
            ("the validation loss ends below where it started, plain SGD", loss_ends_lower(plain)),
            ("the validation loss ends below where it started, momentum", loss_ends_lower(momentum)),
            ("momentum's first epoch is above plain SGD's first two", head_start),
            ("the momentum run ends above its first epoch", climbs),
            ("with candle's max_pool2d each of the three epochs is below the crate's pooling", candle_behind),
        ],
    )
}

/// Fails with the first claim of `chapter` that this run made false, naming it.
fn check(chapter: &str, claims: &[(&str, bool)]) -> Result<()> {
    match claims.iter().find(|(_, holds)| !holds) {
        Some((claim, _)) => Err(lenet_tutor::Error::InvalidArgument(format!(
            "{chapter} says that {claim}, and this run disagrees: rewrite the sentence, then rerun"
        ))),
        None => Ok(()),
    }
}

/// conv2's 20 maps of one digit, as they are, after element-wise dropout and after `Dropout2d`.
///
/// Both masks come from the crate's seeded RNG, so the figure is the same on every run.
fn dropout_figure(model: &LeNet, digit: &Tensor) -> Result<viz::Figure> {
    let conv2 = model.activations(digit)?.conv2; // [1,20,8,8]
    let element_wise = {
        use rand::Rng;
        let mut rng = rng::stream(1, rng::streams::EXPERIMENT);
        let mask: Vec<f32> =
            (0..conv2.elem_count()).map(|_| if rng.random::<f32>() < 0.5 { 0.0 } else { 2.0 }).collect();
        conv2.mul(&Tensor::from_vec(mask, conv2.dims(), conv2.device())?)?
    };
    let channel_wise = Dropout2d::new(0.5, rng::seeded(1))?.forward_t(&conv2, true)?;
    let rows = move |_: &Tensor| -> Result<Vec<(String, Tensor)>> {
        Ok(vec![
            ("conv2".to_string(), conv2.clone()),
            ("element-wise".to_string(), element_wise.clone()),
            ("Dropout2d".to_string(), channel_wise.clone()),
        ])
    };
    // The rows are signed, so feature_maps draws them blue–white–red: a dropped value is white.
    viz::feature_maps(&rows, digit)
}

/// The notes' LeNet with candle 0.11's own `max_pool2d`, whose gradient is scaled by the share of
/// maxima in each window (see chapter 6): the model the parity test caught. Same weights, same
/// convolutions, same dropout; only the pooling differs.
struct CandlePoolingLeNet {
    inner: LeNet,
}

impl ModuleT for CandlePoolingLeNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> lenet_tutor::candle_core::Result<Tensor> {
        self.forward(x, train).map_err(lenet_tutor::candle_core::Error::wrap)
    }
}

impl CandlePoolingLeNet {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let p = self.inner.tensors();
        let conv = |x: &Tensor, name: &str, input_grad| {
            ops::conv2d_fast(
                x,
                &p[&format!("{name}.weight")],
                Some(&p[&format!("{name}.bias")]),
                0,
                1,
                input_grad,
            )
        };
        let linear = |x: &Tensor, name: &str| -> Result<Tensor> {
            Ok(x.matmul(&p[&format!("{name}.weight")].t()?)?.broadcast_add(&p[&format!("{name}.bias")])?)
        };
        let x = conv(x, "conv1", InputGrad::Skip)?.max_pool2d(2)?.relu()?; // [B,10,12,12]
        let x = self.inner.dropout().forward_t(&conv(&x, "conv2", InputGrad::Needed)?, train)?;
        let x = x.max_pool2d(2)?.relu()?.flatten_from(1)?; // [B,320]
        let x = linear(&linear(&x, "fc1")?.relu()?, "fc2")?;
        Ok(lenet_tutor::candle_nn::ops::log_softmax(&x, lenet_tutor::D::Minus1)?)
    }
}

impl Classifier for CandlePoolingLeNet {
    fn named_vars(&self) -> &[(String, Var)] {
        self.inner.named_vars()
    }
    fn start_epoch(&self, seed: u64, epoch: usize) {
        self.inner.start_epoch(seed, epoch);
    }
}

/// Three epochs of the default run (plain SGD, seed 1) with candle's pooling gradient.
fn candle_pooling_run(train: &Dataset, test: &Dataset, device: &Device) -> Result<History> {
    let config = TrainConfig::default();
    println!("training LeNet with candle's max_pool2d: 3 epochs, otherwise the defaults");
    let model = CandlePoolingLeNet { inner: LeNet::new(config.seed, device)? };
    let run = TrainConfig { epochs: 3, output: Output::Summary, ..config };
    let mut trainer = Trainer::with_model(model, run, device)?;
    let history = trainer.run(train, test)?.clone();
    Ok(history)
}
