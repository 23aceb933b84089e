//! The fit loop end to end on a slice of the bundled sample: reproducibility, resume, budget and
//! divergence detection.

mod common;

use common::{TestResult, bits};
use lenet_tutor::data::{self, DataOptions, Dataset, DatasetName, Splits};
use lenet_tutor::ops::OpsImpl;
use lenet_tutor::train::checkpoint::Checkpoint;
use lenet_tutor::train::{Budget, Output, Phase, SgdConfig, TrainConfig, Trainer};
use lenet_tutor::{Device, Error, Optimizer};

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
    let mut t = Trainer::new(
        TrainConfig { optimizer: SgdConfig { momentum: 0.9, ..SgdConfig::default() }, ..config(6) },
        &Device::Cpu,
    )
    .unwrap();
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
    // 4 epochs straight, against 2 epochs, a checkpoint, and 2 more resumed from the checkpoint's
    // own settings (the bug this once guarded: resume used the caller's lr and momentum).
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ckpt.safetensors");
    let optimizer = SgdConfig { lr: 0.02, momentum: 0.9 };
    let cfg = TrainConfig { optimizer, batch_size: 16, seed: 5, ..config(4) };

    let mut straight = Trainer::new(cfg.clone(), &Device::Cpu)?;
    straight.run(&train, &test)?;

    let mut first =
        Trainer::new(TrainConfig { epochs: 2, save: Some(path.clone()), ..cfg.clone() }, &Device::Cpu)?;
    first.run(&train, &test)?;
    let checkpoint = Checkpoint::open(&path)?;
    let run = TrainConfig { epochs: 4, output: Output::Quiet, ..checkpoint.train_config()? };
    assert_eq!((run.optimizer, run.batch_size, run.seed), (optimizer, 16, 5), "the run's settings");
    let mut resumed = Trainer::resume(&checkpoint, run, &Device::Cpu)?;
    assert_eq!(resumed.epochs_done(), 2);
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
    let mut t = Trainer::new(TrainConfig { budget: Budget::batches(3), ..config(5) }, &Device::Cpu).unwrap();
    t.run(&train, &test).unwrap();
    assert_eq!(t.history.training.len(), 1);
    assert_eq!(t.history.training[0].total, 3 * 32);
    // Validation still covers the whole test set.
    assert_eq!(t.history.validation[0].total, 100);
}

#[test]
fn a_diverging_run_reports_the_batch() {
    let (train, test) = small_sample();
    let optimizer = SgdConfig { lr: 1e12, momentum: 0.0 };
    let mut t = Trainer::new(TrainConfig { optimizer, ..config(1) }, &Device::Cpu).unwrap();
    let err = t.run(&train, &test).unwrap_err();
    assert!(matches!(err, Error::Diverged { epoch: 1, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("at epoch 1, batch") && msg.contains("smaller learning rate"), "{msg}");
}

#[test]
fn an_exploding_loss_stops_the_run_and_keeps_the_last_good_checkpoint() -> TestResult {
    // `--lr 100`: the loss does not become NaN at once, it explodes; the run must not go on to
    // save a useless model over the good one.
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("run.safetensors");
    let mut good =
        Trainer::new(TrainConfig { epochs: 1, save: Some(path.clone()), ..config(1) }, &Device::Cpu)?;
    good.run(&train, &test)?;
    let before = std::fs::read(&path)?;
    let checkpoint = Checkpoint::open(&path)?;
    let mut resumed = Trainer::resume(
        &checkpoint,
        TrainConfig { epochs: 2, output: Output::Quiet, ..checkpoint.train_config()? },
        &Device::Cpu,
    )?;
    resumed.optimizer.set_learning_rate(100.0);
    let err = resumed.run(&train, &test).unwrap_err();
    assert!(matches!(err, Error::Diverged { epoch: 2, .. }), "{err}");
    assert_eq!(std::fs::read(&path)?, before, "the last good checkpoint is kept");
    Ok(())
}

#[test]
fn a_checkpoint_records_the_learning_rate_the_optimizer_holds() -> TestResult {
    // The defect this guards: `save` wrote the config's rate while the optimiser had another, so a
    // resume went on with the old one.
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ckpt.safetensors");
    let cfg = TrainConfig { budget: Budget::batches(2), save: Some(path.clone()), ..config(1) };
    let mut t = Trainer::new(cfg, &Device::Cpu)?;
    t.optimizer.set_learning_rate(0.005);
    t.run(&train, &test)?;
    let checkpoint = Checkpoint::open(&path)?;
    assert_eq!(checkpoint.meta().unwrap().optimizer.lr, 0.005);
    let resumed = Trainer::resume(&checkpoint, checkpoint.train_config()?, &Device::Cpu)?;
    assert_eq!(resumed.optimizer.learning_rate(), 0.005);
    Ok(())
}

#[test]
fn a_run_with_nothing_to_train_still_saves_what_it_has() -> TestResult {
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    // `--epochs 0 --save e0`: the untrained model.
    let e0 = dir.path().join("e0.safetensors");
    let mut t = Trainer::new(TrainConfig { save: Some(e0.clone()), ..config(0) }, &Device::Cpu)?;
    t.run(&train, &test)?;
    assert_eq!(t.last_saved(), Some(e0.as_path()));
    assert_eq!(Checkpoint::open(&e0)?.meta().unwrap().epoch, 0);
    // A resumed run already past `epochs`: saved unchanged to the new path.
    let r = dir.path().join("r.safetensors");
    let checkpoint = Checkpoint::open(&e0)?;
    let mut t = Trainer::resume(
        &checkpoint,
        TrainConfig { epochs: 0, save: Some(r.clone()), output: Output::Quiet, ..checkpoint.train_config()? },
        &Device::Cpu,
    )?;
    t.run(&train, &test)?;
    assert_eq!(t.last_saved(), Some(r.as_path()));
    assert_eq!(
        bits(&Checkpoint::open(&r)?.tensors()["conv1.weight"]),
        bits(&checkpoint.tensors()["conv1.weight"])
    );
    Ok(())
}

#[test]
fn resume_refuses_other_settings_and_other_data() -> TestResult {
    let (train, test) = small_sample();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ckpt.safetensors");
    let cfg = TrainConfig { budget: Budget::batches(2), save: Some(path.clone()), ..config(1) };
    Trainer::new(cfg, &Device::Cpu)?.run(&train, &test)?;
    let checkpoint = Checkpoint::open(&path)?;
    let run = checkpoint.train_config()?;
    for (config, flag) in [
        (TrainConfig { seed: 8, ..run.clone() }, "seed 8 (the run's is 7)"),
        (TrainConfig { batch_size: 16, ..run.clone() }, "batch size 16 (the run's is 32)"),
        (
            TrainConfig { optimizer: SgdConfig { lr: 0.1, momentum: 0.0 }, ..run.clone() },
            "learning rate 0.1 (the run's is 0.01)",
        ),
        (
            TrainConfig { optimizer: SgdConfig { lr: 0.01, momentum: 0.5 }, ..run.clone() },
            "momentum 0.5 (the run's is 0)",
        ),
    ] {
        let err = Trainer::resume(&checkpoint, config, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains(flag) && err.contains("contradicts the checkpoint"), "{err}");
    }
    // The same name, other examples: refused, whichever split differs.
    let epochs = TrainConfig { epochs: 2, ..run };
    for (other_train, other_test) in [(train.take(160), test.clone()), (train.clone(), test.take(50))] {
        let mut t = Trainer::resume(&checkpoint, epochs.clone(), &Device::Cpu)?;
        let err = t.run(&other_train, &other_test).unwrap_err().to_string();
        assert!(err.contains("was trained on other mnist-sample data"), "{err}");
    }
    let mut t = Trainer::resume(&checkpoint, epochs, &Device::Cpu)?;
    t.run(&train, &test)?;
    assert_eq!(t.epochs_done(), 2);
    Ok(())
}

#[test]
fn bad_settings_are_refused_before_training() {
    for (config, what) in [
        (TrainConfig { budget: Budget::seconds(-1.0), ..config(1) }, "time limit"),
        (TrainConfig { budget: Budget::seconds(f64::NAN), ..config(1) }, "time limit"),
        (TrainConfig { batch_size: 0, ..config(1) }, "batch size must be at least 1"),
        (TrainConfig { optimizer: SgdConfig { lr: -1.0, momentum: 0.0 }, ..config(1) }, "learning rate"),
    ] {
        let err = Trainer::new(config, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
}

#[test]
fn fast_and_candle_ops_train_alike() {
    let (train, test) = small_sample();
    let run = |ops_impl| {
        let mut t =
            Trainer::new(TrainConfig { budget: Budget::batches(10), ..config(1) }, &Device::Cpu).unwrap();
        t.model.set_ops_impl(ops_impl);
        t.run(&train, &test).unwrap();
        t.history.training[0].loss
    };
    let (fast, candle) = (run(OpsImpl::Fast), run(OpsImpl::Candle));
    assert!((fast - candle).abs() < 1e-3, "fast {fast} vs candle {candle}");
}
