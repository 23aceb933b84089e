//! The fit loop end to end on a slice of the bundled sample: reproducibility, resume, budget and
//! divergence detection.

mod common;

use common::{TestResult, bits};
use lenet_tutor::data::{self, DataOptions, Dataset, DatasetName, Splits};
use lenet_tutor::ops::ConvImpl;
use lenet_tutor::train::{Output, Phase, TrainConfig, Trainer};
use lenet_tutor::{Device, Error};

fn small_sample() -> (Dataset, Dataset) {
    let Splits { train, test } = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
    (train.take(320), test.take(100))
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig { epochs, output: Output::Quiet, seed: 7, ..TrainConfig::default() }
}

fn losses(trainer: &Trainer) -> Vec<(f32, usize)> {
    let h = &trainer.history;
    h.training.iter().chain(&h.validation).map(|s| (s.loss, s.correct)).collect()
}

#[test]
fn same_seed_same_losses_bit_for_bit() {
    let (train, test) = small_sample();
    let mut a = Trainer::new(config(2), &Device::Cpu).unwrap();
    let mut b = Trainer::new(config(2), &Device::Cpu).unwrap();
    a.run(&train, &test).unwrap();
    b.run(&train, &test).unwrap();
    assert_eq!(losses(&a), losses(&b));
    // A different seed starts elsewhere.
    let mut c = Trainer::new(TrainConfig { seed: 8, ..config(2) }, &Device::Cpu).unwrap();
    c.run(&train, &test).unwrap();
    assert_ne!(losses(&a), losses(&c));
}

#[test]
fn training_lowers_the_loss() {
    let (train, test) = small_sample();
    let mut t = Trainer::new(TrainConfig { momentum: 0.9, ..config(6) }, &Device::Cpu).unwrap();
    t.run(&train, &test).unwrap();
    let v = &t.history.validation;
    assert_eq!(v.len(), 6);
    assert!(v[5].loss < v[0].loss, "{v:?}");
    // A fresh LeNet is at chance (~10%); six epochs on 320 digits get far past it.
    assert!(v[0].accuracy() < 40.0 && v[5].accuracy() > 60.0, "{v:?}");
    assert!(v.iter().all(|s| s.phase == Phase::Validation && s.total == 100));
}

#[test]
fn resuming_from_a_checkpoint_continues_the_same_run() -> TestResult {
    // 4 epochs straight, against 2 epochs, a checkpoint, and 2 more resumed by a caller whose own
    // settings say otherwise (the bug this guards: resume used the caller's lr and momentum).
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ckpt.safetensors");
    let cfg = TrainConfig { momentum: 0.9, lr: 0.02, batch_size: 16, seed: 5, ..config(4) };

    let mut straight = Trainer::new(cfg.clone(), &Device::Cpu)?;
    straight.run(&train, &test)?;

    let mut first =
        Trainer::new(TrainConfig { epochs: 2, save: Some(path.clone()), ..cfg.clone() }, &Device::Cpu)?;
    first.run(&train, &test)?;
    let other = TrainConfig { lr: 0.5, momentum: 0.0, batch_size: 64, seed: 99, ..cfg.clone() };
    let mut resumed = Trainer::resume(&path, other, &Device::Cpu)?;
    assert_eq!(resumed.epochs_done(), 2);
    assert_eq!(
        (resumed.config.lr, resumed.config.momentum),
        (0.02, 0.9),
        "the run's settings, not the caller's"
    );
    assert_eq!((resumed.config.batch_size, resumed.config.seed), (16, 5));
    resumed.run(&train, &test)?;

    for ((name, a), (_, b)) in straight.model.named_vars().iter().zip(resumed.model.named_vars()) {
        assert_eq!(bits(a.as_tensor()), bits(b.as_tensor()), "{name}");
    }
    for (a, b) in straight.optimizer.velocity().iter().zip(resumed.optimizer.velocity()) {
        assert_eq!(bits(a.as_ref().unwrap()), bits(b.as_ref().unwrap()), "velocity");
    }
    // The history too, but for the seconds each epoch took.
    let counts = |t: &Trainer| -> Vec<(usize, u32, usize, usize)> {
        t.history
            .training
            .iter()
            .chain(&t.history.validation)
            .map(|s| (s.epoch, s.loss.to_bits(), s.correct, s.total))
            .collect()
    };
    assert_eq!(counts(&straight), counts(&resumed));
    Ok(())
}

#[test]
fn a_batch_budget_stops_training_early() {
    let (train, test) = small_sample();
    let mut t = Trainer::new(TrainConfig { max_batches: Some(3), ..config(5) }, &Device::Cpu).unwrap();
    t.run(&train, &test).unwrap();
    assert_eq!(t.history.training.len(), 1);
    assert_eq!(t.history.training[0].total, 3 * 32);
    // Validation still covers the whole test set.
    assert_eq!(t.history.validation[0].total, 100);
}

#[test]
fn a_diverging_run_reports_the_batch() {
    let (train, test) = small_sample();
    let mut t = Trainer::new(TrainConfig { lr: 1e12, ..config(1) }, &Device::Cpu).unwrap();
    let err = t.run(&train, &test).unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { epoch: 1, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("at epoch 1, batch") && msg.contains("smaller learning rate"), "{msg}");
}

#[test]
fn fast_and_candle_convolutions_train_alike() {
    let (train, test) = small_sample();
    let run = |conv_impl| {
        let mut t = Trainer::new(TrainConfig { max_batches: Some(10), ..config(1) }, &Device::Cpu).unwrap();
        t.model.set_conv_impl(conv_impl);
        t.run(&train, &test).unwrap();
        t.history.training[0].loss
    };
    let (fast, candle) = (run(ConvImpl::Fast), run(ConvImpl::Candle));
    assert!((fast - candle).abs() < 1e-3, "fast {fast} vs candle {candle}");
}
