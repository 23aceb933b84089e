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
use lenet_tutor::train::{History, Output, TrainConfig, Trainer};
use lenet_tutor::viz::{self, MapGrid, report};
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
    let digit = report::image_tensor(&splits.test, 0, model)?;
    save(out, "ch06-dropout.png", dropout_figure(model, &digit)?)?;

    let untrained = LeNet::new(1, &device)?; // where training started: same seed
    save(out, "ch07-conv1-untrained.png", report::conv1_kernels(&untrained)?)?;
    print_weight_change(&untrained, model, &mut ch07)?;
    save(out, "ch07-conv1-kernels.png", report::conv1_kernels(model)?)?;
    save(out, "ch07-conv2-kernels.png", report::conv2_kernels(model)?)?;
    for (k, index) in FEATURE_MAP_DIGITS.into_iter().enumerate() {
        let image = report::image_tensor(&splits.test, index, model)?;
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
    let (confusion, predictions) = report::confusion(model, &splits.test)?;
    save(out, "ch07-confusion.svg", confusion.heatmap_svg()?)?;
    print_confusions(&confusion, &mut ch07);
    let truth: Vec<u32> = splits.test.labels().iter().map(|&l| u32::from(l)).collect();
    save(
        out,
        "ch07-mistakes.png",
        viz::mistakes_grid_from_bytes(splits.test.images(), &truth, &predictions, 40)?,
    )?;
    save(out, "ch07-own-model.png", own_model_figure(&splits.test, &device)?)?;

    // The live page's model ("Try it: draw a digit"): this momentum model, as `export-web` writes it.
    let checkpoint =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/figures-lenet/momentum.safetensors");
    let live = out.parent().unwrap_or(out).join("live/lenet-ch06.safetensors");
    web::write(model, DatasetName::MnistSample, &web::provenance(&checkpoint, &device)?, &live)?;
    println!("wrote {}", live.display());

    let book_src = out.parent().unwrap_or(out);
    ch06.write(book_src)?;
    ch07.write(book_src)
}

/// How far each layer's weights moved from their initial values, relative to their size.
fn print_weight_change(before: &LeNet, after: &LeNet, generated: &mut Generated) -> Result<()> {
    let mut rows = Vec::new();
    let (before, after) = (before.tensors(), after.tensors());
    for name in ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"] {
        let (b, a) = (&before[name], &after[name]);
        let change = (a - b)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        let size = b.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        println!("RESULT {name}: |trained - initial| / |initial| = {:.2}", change / size);
        rows.push(format!("| `{name}` | {:.2} |", change / size));
    }
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
    let config =
        TrainConfig { momentum, output: Output::Summary, save: Some(path.clone()), ..TrainConfig::default() };
    println!(
        "training LeNet: {} epochs, batch {}, lr {}, momentum {momentum}, seed {} -> {}",
        config.epochs,
        config.batch_size,
        config.lr,
        config.seed,
        path.display()
    );
    let resume = std::env::var_os("LENET_FIGURES_RESUME").is_some() && path.exists();
    let mut trainer =
        if resume { Trainer::resume(&path, config, device)? } else { Trainer::new(config, device)? };
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
    generated.set_words(
        &format!("{key}_training_seconds"),
        format!("{train_seconds:.0} s"),
        format!("{train_seconds:.0}초"),
    );
}

/// The most frequent confusions and the per-class recall, for chapter 7's text.
fn print_confusions(confusion: &viz::Confusion, generated: &mut Generated) {
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
    let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
    for &(n, t, p) in pairs.iter().filter(|(n, _, _)| *n >= 3) {
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
    generated.set_words(
        "confusions",
        phrases(|n| format!("{n} times"), |n| format!("{n} times each"), " and ", ", then "),
        phrases(|n| format!("{n}번"), |n| format!("각 {n}번"), ", ", ", 그다음 "),
    );
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
