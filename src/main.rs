//! `lenet-tutor`: the command line for the long jobs of the tutorial — train, eval, predict,
//! visualize, export-web, download. Every failure is one line on stderr and a non-zero exit status;
//! flag values are checked when the command line is read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use lenet_tutor::ModuleT;
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::device::{self, DeviceChoice};
use lenet_tutor::ops::OpsImpl;
use lenet_tutor::train::checkpoint::Checkpoint;
use lenet_tutor::train::{self, Budget, Output, TrainConfig, Trainer};
use lenet_tutor::web;
use lenet_tutor::{Error, Result};

/// The most CPU threads `--threads` accepts (a thread pool of 100,000 cannot be spawned).
const MAX_THREADS: usize = 1024;

#[derive(Parser, Debug)]
#[command(
    name = "lenet-tutor",
    version,
    about = "Train, evaluate and look inside the notes' LeNet, on candle"
)]
struct Cli {
    /// CPU threads for candle, 1 to 1024 (default: all cores).
    #[arg(long, global = true, value_parser = threads, allow_negative_numbers = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the notes' LeNet and print the notes' lines per epoch.
    Train(TrainArgs),
    /// Evaluate a saved model on a data set's test files (t10k-*).
    Eval(EvalArgs),
    /// Classify image files (PNG/JPEG) of handwritten digits with a saved model.
    Predict(PredictArgs),
    /// Write pictures of a trained model: kernels, feature maps, curves, confusion matrix, mistakes.
    Visualize(VisualizeArgs),
    /// Write a model for the book's live page ("Try it: draw a digit"): DIR/lenet-web.safetensors.
    ExportWeb(ExportWebArgs),
    /// Download MNIST or Fashion-MNIST into the cache directory (or --data-dir).
    Download(DownloadArgs),
}

/// Where the examples come from.
#[derive(Args, Debug)]
struct DataArgs {
    /// mnist-sample (bundled, 8,000 + 2,000 digits), mnist or fashion-mnist [default: the data set
    /// the model was trained on, as its checkpoint records, else mnist-sample].
    #[arg(long)]
    dataset: Option<DatasetName>,
    /// A directory holding the data set's IDX files (looked in first).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Never download; fail if the files are not found locally.
    #[arg(long)]
    offline: bool,
}

impl DataArgs {
    /// The data set asked for, else the one `checkpoint` records, else the bundled sample.
    fn name(&self, checkpoint: Option<&Checkpoint>) -> DatasetName {
        self.dataset.or_else(|| checkpoint.and_then(Checkpoint::dataset)).unwrap_or_default()
    }

    fn options(&self) -> DataOptions {
        DataOptions { data_dir: self.data_dir.clone(), allow_download: !self.offline }
    }
}

#[derive(Args, Debug)]
struct DeviceArg {
    /// auto (Metal, then CUDA, then CPU), cpu, cuda[:N], metal/mps.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    device: DeviceArg,
    /// Epochs to train, counting those of a resumed run (0: save the untrained model).
    #[arg(long, value_parser = parse_number::<usize>, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Training batch size.
    #[arg(long, value_parser = at_least_one, allow_negative_numbers = true)]
    batch_size: Option<usize>,
    /// Batch size of the validation passes.
    #[arg(long, value_parser = at_least_one, allow_negative_numbers = true)]
    test_batch_size: Option<usize>,
    /// Learning rate, a positive number.
    #[arg(long, value_parser = learning_rate, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Momentum, from 0 (plain SGD, the notes') up to but not including 1.
    #[arg(long, value_parser = momentum, allow_negative_numbers = true)]
    momentum: Option<f64>,
    /// Seeds the initial weights, the shuffling and the dropout masks.
    #[arg(long, value_parser = parse_number::<u64>, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Save a checkpoint (model, optimiser, epoch, history) here after every epoch.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue the run of a checkpoint written by --save, with its settings (a flag that
    /// contradicts them is refused). Checkpoints go to --save, or back into this file without it
    /// (except with --dry-run).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Run a single training batch and one validation pass, to check the set-up.
    #[arg(long)]
    dry_run: bool,
    /// Print a progress line every N batches (when not on a terminal; 0: never).
    #[arg(long, value_parser = parse_number::<usize>, allow_negative_numbers = true)]
    log_interval: Option<usize>,
    /// Stop training after this many seconds (0 or more); the epoch in progress is validated.
    #[arg(long, value_parser = seconds, allow_negative_numbers = true)]
    max_seconds: Option<f64>,
    /// Use candle's convolution, pooling and linear ops instead of the crate's fast ones.
    #[arg(long)]
    candle_ops: bool,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// The model (a checkpoint written by `train --save`, or a model file).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Batch size of the evaluation pass.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one, allow_negative_numbers = true)]
    test_batch_size: usize,
    #[command(flatten)]
    device: DeviceArg,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// The model (a checkpoint written by `train --save`, or a model file).
    #[arg(long)]
    model: PathBuf,
    /// Image files; any size, dark-on-light or light-on-dark.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    device: DeviceArg,
}

#[derive(Args, Debug)]
struct VisualizeArgs {
    /// The model (a checkpoint written by `train --save`, or a model file).
    #[arg(long)]
    model: PathBuf,
    /// Directory to write the PNG/SVG files into.
    #[arg(long, default_value = "figures")]
    out: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    device: DeviceArg,
}

#[derive(Args, Debug)]
struct ExportWebArgs {
    /// The model (a checkpoint written by `train --save`, or any LeNet model file).
    #[arg(long)]
    model: PathBuf,
    /// Directory to write lenet-web.safetensors (and test-vectors.json) into.
    #[arg(long)]
    out: PathBuf,
    /// The data set decides the normalisation and the class names (and the test vectors' images).
    #[command(flatten)]
    data: DataArgs,
    /// Also write test vectors: the input and every layer's output for the first N test images,
    /// 1 to 100 (about 180 kB each).
    #[arg(long, value_parser = test_vectors, allow_negative_numbers = true)]
    test_vectors: Option<usize>,
}

#[derive(Args, Debug)]
struct DownloadArgs {
    /// mnist or fashion-mnist.
    #[arg(long, default_value = "mnist")]
    dataset: DatasetName,
    /// Where to put the files (default: the user cache dir, ~/.cache/lenet-tutor/<dataset>/).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    // When the reader of our output goes away (`lenet-tutor predict … | head -1`), stop quietly like
    // any Unix tool: the default SIGPIPE action ends the process (status 141 in a shell). Rust
    // ignores SIGPIPE, and `println!` would then panic on the broken pipe with a stack trace.
    #[cfg(unix)]
    // SAFETY: called first thing, before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Ctrl-C (or a kill) in the middle of writing a file removes the half-written temporary file.
    lenet_tutor::remove_temporaries_on_signal();
    let defaults = TrainConfig::default();
    let command = Cli::command().mut_subcommand("train", |train| {
        train.after_help(format!(
            "Defaults: --epochs {} --batch-size {} --test-batch-size {} --lr {} --momentum {} --seed {} \
             --log-interval {} --dataset mnist-sample. With --resume, the run's own settings.",
            defaults.epochs,
            defaults.batch_size,
            defaults.test_batch_size,
            defaults.optimizer.lr,
            defaults.optimizer.momentum,
            defaults.seed,
            defaults.log_interval
        ))
    });
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        // --help and --version print as usual; a usage error is cut to its first line (clap adds
        // a usage block and a hint to try --help, which the first line already implies).
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.to_string();
            eprintln!("{} (see --help)", text.lines().next().unwrap_or("invalid arguments").trim_end());
            return ExitCode::from(2);
        }
    };
    device::set_threads(cli.threads);
    lenet_tutor::ops::reuse_freed_memory();
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Eval(args) => eval(args),
        Command::Predict(args) => predict(args),
        Command::Visualize(args) => visualize(args),
        Command::ExportWeb(args) => export_web(args),
        Command::Download(args) => download(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: TrainArgs) -> Result<()> {
    let device = args.device.device.open()?;
    let checkpoint = args.resume.as_deref().map(Checkpoint::open).transpose()?;
    // A new run starts from the defaults, a resumed one from its own settings; the flags given
    // replace them (and `Trainer::resume` refuses one that contradicts the run).
    let mut config = match &checkpoint {
        Some(checkpoint) => checkpoint.train_config()?,
        None => TrainConfig::default(),
    };
    let done = checkpoint.as_ref().and_then(Checkpoint::meta).map_or(0, |meta| meta.epoch);
    config.epochs = args.epochs.unwrap_or(config.epochs);
    config.batch_size = args.batch_size.unwrap_or(config.batch_size);
    config.test_batch_size = args.test_batch_size.unwrap_or(config.test_batch_size);
    config.optimizer.lr = args.lr.unwrap_or(config.optimizer.lr);
    config.optimizer.momentum = args.momentum.unwrap_or(config.optimizer.momentum);
    config.seed = args.seed.unwrap_or(config.seed);
    config.log_interval = args.log_interval.unwrap_or(config.log_interval);
    config.budget = Budget::unlimited();
    config.budget.max_seconds = args.max_seconds;
    if args.dry_run {
        config.epochs = done + 1;
        config.budget.max_batches = Some(1);
    }
    // Resumed without --save: back into the resumed file (a dry run leaves it alone).
    config.save = args.save.clone().or_else(|| args.resume.clone().filter(|_| !args.dry_run));
    config.output = Output::Auto;

    let name = args.data.name(checkpoint.as_ref());
    let mut trainer = match &checkpoint {
        Some(checkpoint) => Trainer::resume(checkpoint, config, &device)?,
        None => Trainer::new(config, &device)?,
    };
    trainer.check_dataset(name)?; // before loading: a refused run downloads nothing
    let splits = data::load(name, &args.data.options())?;
    println!(
        "training the notes' LeNet on {name} ({} training / {} validation images) on {}",
        splits.train.len(),
        splits.test.len(),
        device::name(&device)
    );
    if let Some(path) = &args.resume {
        println!("resuming from {} after epoch {done}", path.display());
    }
    trainer.model.set_ops_impl(if args.candle_ops { OpsImpl::Candle } else { OpsImpl::Fast });
    trainer.run(&splits.train, &splits.test)?;
    if let Some(path) = trainer.last_saved() {
        match trainer.epochs_done() {
            n if n > done => println!("saved to {}", path.display()),
            0 => println!("trained no epoch (--epochs 0): saved the untrained model to {}", path.display()),
            n => println!(
                "nothing to train: the run is at epoch {n} and --epochs is {}; saved it unchanged to {}",
                trainer.config.epochs,
                path.display()
            ),
        }
    }
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let device = args.device.device.open()?;
    let checkpoint = Checkpoint::open(&args.model)?;
    let model = checkpoint.model(&device)?;
    let test = data::load_test(args.data.name(Some(&checkpoint)), &args.data.options())?;
    let (stats, _) = train::evaluate(&model, &test, args.test_batch_size, &device, Output::Quiet)?;
    println!("{}", train::log_line::notes_line_timed(&stats));
    Ok(())
}

fn predict(args: PredictArgs) -> Result<()> {
    let device = args.device.device.open()?;
    let checkpoint = Checkpoint::open(&args.model)?;
    let model = checkpoint.model(&device)?;
    // Normalise as the model's data set was (a checkpoint says which; MNIST otherwise).
    let normalization = checkpoint.dataset().unwrap_or(DatasetName::Mnist).normalization();
    for path in &args.images {
        let pixels = data::digit_from_image(path)?;
        let x = data::images_tensor(&pixels, 28, 28, normalization, &device)?;
        let probs = model.forward_t(&x, false)?.exp()?.squeeze(0)?.to_vec1::<f32>()?;
        let (digit, p) = probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(d, p)| (d, *p))
            .unwrap_or((0, 0.0));
        let all: Vec<String> = probs.iter().enumerate().map(|(d, p)| format!("{d}:{p:.3}")).collect();
        println!("{}: {digit} ({:.1}%)  [{}]", path.display(), 100.0 * p, all.join(" "));
    }
    Ok(())
}

fn visualize(args: VisualizeArgs) -> Result<()> {
    let device = args.device.device.open()?;
    let checkpoint = Checkpoint::open(&args.model)?;
    let model = checkpoint.model(&device)?;
    let test = data::load_test(args.data.name(Some(&checkpoint)), &args.data.options())?;
    // A checkpoint carries its training history; a bare model file has none (no curves then).
    let history = checkpoint.meta().map(|meta| &meta.history);
    for file in lenet_tutor::viz::model_figures::write_model_figures(&model, history, &test, &args.out)? {
        println!("wrote {}", file.display());
    }
    Ok(())
}

fn export_web(args: ExportWebArgs) -> Result<()> {
    let device = candle_core::Device::Cpu;
    let checkpoint = Checkpoint::open(&args.model)?;
    let model = checkpoint.model(&device)?;
    let name = args.data.name(Some(&checkpoint));
    // Everything is computed before anything is written: a failure leaves no file behind.
    let vectors = match args.test_vectors {
        Some(n) => {
            let test = data::load_test(name, &args.data.options())?;
            Some(web::test_vectors(&model, &test, n, web::MODEL_FILE)?)
        }
        None => None,
    };
    let path = args.out.join(web::MODEL_FILE);
    web::write(&model, name, &web::provenance(&checkpoint), &path)?;
    println!("wrote {}", path.display());
    if let Some(vectors) = vectors {
        let path = args.out.join(web::VECTORS_FILE);
        web::write_vectors(&vectors, &path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn download(args: DownloadArgs) -> Result<()> {
    let name = args.dataset;
    if name == DatasetName::MnistSample {
        return Err(Error::InvalidArgument(
            "mnist-sample is bundled with lenet-tutor; there is nothing to download".into(),
        ));
    }
    let dir = match args.data_dir {
        Some(d) => d,
        None => data::cache_dir(name).ok_or_else(|| {
            Error::InvalidArgument("this system has no user cache directory; pass --data-dir DIR".into())
        })?,
    };
    let dir = data::download::download(name, &dir, &data::mirrors(name))?;
    println!("{name} is in {}", dir.display());
    Ok(())
}

// Value parsers: a flag out of range is a usage error when the command line is read.

fn parse_number<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String> {
    s.trim().parse::<T>().map_err(|_| format!("`{s}` is not a number"))
}

fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match parse_number::<usize>(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn threads(s: &str) -> std::result::Result<usize, String> {
    match parse_number::<usize>(s)? {
        n @ 1..=MAX_THREADS => Ok(n),
        n => Err(format!("{n} threads: give 1 to {MAX_THREADS}")),
    }
}

fn test_vectors(s: &str) -> std::result::Result<usize, String> {
    match parse_number::<usize>(s)? {
        n @ 1..=web::MAX_TEST_VECTORS => Ok(n),
        n => Err(format!("{n} test vectors: give 1 to {} (each is about 180 kB)", web::MAX_TEST_VECTORS)),
    }
}

fn learning_rate(s: &str) -> std::result::Result<f64, String> {
    match parse_number::<f64>(s)? {
        lr if lr.is_finite() && lr > 0.0 => Ok(lr),
        lr => Err(format!("the learning rate must be a positive number, got {lr}")),
    }
}

fn momentum(s: &str) -> std::result::Result<f64, String> {
    match parse_number::<f64>(s)? {
        m if (0.0..1.0).contains(&m) => Ok(m),
        m => Err(format!("momentum must be at least 0 and below 1, got {m}")),
    }
}

fn seconds(s: &str) -> std::result::Result<f64, String> {
    match parse_number::<f64>(s)? {
        t if t.is_finite() && t >= 0.0 => Ok(t),
        t => Err(format!("a number of seconds, 0 or more, got {t}")),
    }
}
