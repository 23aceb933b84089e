//! `lenet-tutor`: the command line for the long jobs of the tutorial — train, eval, predict,
//! visualize, export-web, download. Every failure is one line on stderr and a non-zero exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use lenet_tutor::ModuleT;
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::device::{self, DeviceChoice};
use lenet_tutor::model::LeNet;
use lenet_tutor::ops::ConvImpl;
use lenet_tutor::train::{self, Output, TrainConfig, Trainer};
use lenet_tutor::web;
use lenet_tutor::{Error, Result};

#[derive(Parser, Debug)]
#[command(
    name = "lenet-tutor",
    version,
    about = "Train, evaluate and look inside the notes' LeNet, on candle"
)]
struct Cli {
    /// CPU threads for candle (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the notes' LeNet and print the notes' lines per epoch.
    Train(TrainArgs),
    /// Evaluate a saved model on a data set's test files (t10k-*).
    Eval {
        /// The model (a checkpoint written by `train --save`).
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value_t = 1000)]
        test_batch_size: usize,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Classify image files (PNG/JPEG) of handwritten digits with a saved model.
    Predict {
        #[arg(long)]
        model: PathBuf,
        /// Image files; any size, dark-on-light or light-on-dark.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Write pictures of a trained model: kernels, feature maps, curves, confusion matrix, mistakes.
    Visualize {
        #[arg(long)]
        model: PathBuf,
        /// Directory to write the PNG/SVG files into.
        #[arg(long, default_value = "figures")]
        out: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Write a model for the book's live page ("Try it: draw a digit"): DIR/lenet-web.safetensors.
    ExportWeb {
        /// The model (a checkpoint written by `train --save`, or any LeNet model file).
        #[arg(long)]
        model: PathBuf,
        /// Directory to write lenet-web.safetensors (and test-vectors.json) into.
        #[arg(long)]
        out: PathBuf,
        /// The data set the model was trained on (decides the normalisation and class names);
        /// default: the one the checkpoint recorded, else mnist-sample.
        #[arg(long)]
        dataset: Option<String>,
        /// Also write test vectors: the input and every layer's output for the first N test images.
        #[arg(long)]
        test_vectors: Option<usize>,
    },
    /// Download MNIST or Fashion-MNIST into the cache directory (or --data-dir).
    Download {
        #[arg(long, default_value = "mnist")]
        dataset: String,
        /// Where to put the files (default: the user cache dir, ~/.cache/lenet-tutor/<dataset>/).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct DataArgs {
    /// mnist-sample (bundled, 8,000 + 2,000 digits), mnist or fashion-mnist.
    #[arg(long, default_value = "mnist-sample")]
    dataset: String,
    /// A directory holding the data set's IDX files (looked in first).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Never download; fail if the files are not found locally.
    #[arg(long)]
    offline: bool,
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[arg(long, default_value_t = 1000)]
    test_batch_size: usize,
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// auto (Metal, then CUDA, then CPU), cpu, cuda[:N], metal/mps.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Save a checkpoint (model, optimiser, epoch, history) here after every epoch.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue from a checkpoint written by --save.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Run a single training batch and one validation pass, to check the set-up.
    #[arg(long)]
    dry_run: bool,
    /// Print a progress line every N batches (when not on a terminal).
    #[arg(long, default_value_t = 100)]
    log_interval: usize,
    /// Stop training after this many seconds.
    #[arg(long)]
    max_seconds: Option<f64>,
    /// Use candle's own convolution instead of the crate's fast CPU kernels.
    #[arg(long)]
    candle_conv: bool,
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
    let parsed = Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
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
    let explicit = matches.subcommand().map(|(_, m)| explicit_flags(m)).unwrap_or_default();
    match run(cli.command, &explicit) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, explicit: &[String]) -> Result<()> {
    match command {
        Command::Train(args) => train_command(args, explicit),
        Command::Eval { model, data, test_batch_size, device } => {
            let device = open_device(&device)?;
            let name: DatasetName = data.dataset.parse()?;
            let test = data::load_test(name, &data_options(&data))?;
            let model = LeNet::load(&model, &device)?;
            let (stats, _) = train::evaluate(&model, &test, test_batch_size, &device, Output::Quiet)?;
            println!("{}", train::report::notes_line_timed(&stats));
            Ok(())
        }
        Command::Predict { model, images, device } => {
            let device = open_device(&device)?;
            let net = LeNet::load(&model, &device)?;
            // Normalise as the model's data set was (a checkpoint says which; MNIST otherwise).
            let (mean, std) =
                recorded_dataset(&model, &device)?.unwrap_or(DatasetName::Mnist).normalization();
            let model = net;
            for path in images {
                let pixels = data::digit_from_image(&path)?;
                let x: Vec<f32> = pixels.iter().map(|&p| data::normalize_pixel(p, (mean, std))).collect();
                let x = candle_core::Tensor::from_vec(x, (1, 1, 28, 28), &device)?;
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
        Command::Visualize { model, out, data, device } => {
            let device = open_device(&device)?;
            let name: DatasetName = data.dataset.parse()?;
            let test = data::load_test(name, &data_options(&data))?;
            let tensors = train::checkpoint::read_tensors(&model, &device)?;
            // A checkpoint carries its training history; a bare model file has none (no curves then).
            let history = train::checkpoint::read_meta(&model, &tensors).ok().map(|m| m.history);
            let net = LeNet::load(&model, &device)?;
            let files = lenet_tutor::viz::report::write_model_figures(&net, history.as_ref(), &test, &out)?;
            for f in files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Command::ExportWeb { model, out, dataset, test_vectors } => {
            let device = candle_core::Device::Cpu;
            let net = LeNet::load(&model, &device)?;
            let name: DatasetName = match dataset {
                Some(name) => name.parse()?,
                None => recorded_dataset(&model, &device)?.unwrap_or_default(),
            };
            let provenance = web::provenance(&model, &device)?;
            let path = out.join(web::MODEL_FILE);
            web::write(&net, name, &provenance, &path)?;
            println!("wrote {}", path.display());
            if let Some(n) = test_vectors {
                let test = data::load_test(name, &DataOptions::default())?;
                let vectors = web::test_vectors(&net, &test, n, web::MODEL_FILE)?;
                let path = out.join(web::VECTORS_FILE);
                std::fs::write(&path, vectors.to_string()).map_err(|e| Error::io(&path, e))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Download { dataset, data_dir } => {
            let name: DatasetName = dataset.parse()?;
            if name == DatasetName::MnistSample {
                return Err(Error::InvalidArgument(
                    "mnist-sample is bundled with lenet-tutor; there is nothing to download".into(),
                ));
            }
            let dir = match data_dir {
                Some(d) => d,
                None => data::cache_dir(name).ok_or_else(|| {
                    Error::InvalidArgument(
                        "this system has no user cache directory; pass --data-dir DIR".into(),
                    )
                })?,
            };
            let dir = data::download::download(name, &dir, &data::mirrors(name))?;
            println!("{name} is in {}", dir.display());
            Ok(())
        }
    }
}

fn train_command(args: TrainArgs, explicit: &[String]) -> Result<()> {
    let device = open_device(&args.device)?;
    let mut name: DatasetName = args.data.dataset.parse()?;
    if let Some(path) = &args.resume {
        // Resuming goes on with the run's data set unless told otherwise (and then refuses).
        let tensors = train::checkpoint::read_tensors(path, &candle_core::Device::Cpu)?;
        let meta = train::checkpoint::read_meta(path, &tensors)?;
        if let Some(run_dataset) = meta.dataset.filter(|_| !explicit.iter().any(|e| e == "dataset")) {
            name = run_dataset;
        }
        refuse_contradicting_flags(&args, explicit, path, &meta, name)?;
    }
    let splits = data::load(name, &data_options(&args.data))?;
    println!(
        "training the notes' LeNet on {name} ({} training / {} validation images) on {}",
        splits.train.len(),
        splits.test.len(),
        device::name(&device)
    );
    let config = TrainConfig {
        epochs: if args.dry_run { 1 } else { args.epochs },
        batch_size: args.batch_size,
        test_batch_size: args.test_batch_size,
        lr: args.lr,
        momentum: args.momentum,
        seed: args.seed,
        output: Output::Auto,
        log_interval: args.log_interval,
        max_batches: args.dry_run.then_some(1),
        max_seconds: args.max_seconds,
        save: args.save.clone(),
    };
    let mut trainer = match &args.resume {
        Some(path) => {
            let t = Trainer::resume(path, config, &device)?;
            println!("resuming from {} after epoch {}", path.display(), t.epochs_done());
            t
        }
        None => Trainer::new(config, &device)?,
    };
    trainer.model.set_conv_impl(if args.candle_conv { ConvImpl::Candle } else { ConvImpl::Fast });
    trainer.run(&splits.train, &splits.test)?;
    if let Some(path) = &args.save {
        println!("saved to {}", path.display());
    }
    Ok(())
}

/// The data set a checkpoint says its model was trained on; `None` for a bare model file.
fn recorded_dataset(path: &std::path::Path, device: &candle_core::Device) -> Result<Option<DatasetName>> {
    let tensors = train::checkpoint::read_tensors(path, device)?;
    Ok(train::checkpoint::read_meta(path, &tensors).ok().and_then(|meta| meta.dataset))
}

/// The ids of the flags given on the command line (not defaults), e.g. `["lr", "resume"]`.
fn explicit_flags(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

/// `train --resume` continues the run the checkpoint recorded: a flag given on the command line
/// that says otherwise (another learning rate, say) is refused rather than silently ignored or
/// silently applied. Flags that only say how long to go on (`--epochs`) or where to save are free.
fn refuse_contradicting_flags(
    args: &TrainArgs,
    explicit: &[String],
    path: &std::path::Path,
    meta: &train::checkpoint::CheckpointMeta,
    dataset: DatasetName,
) -> Result<()> {
    let mut conflicts = Vec::new();
    let given = |flag: &str| explicit.iter().any(|e| e == flag);
    if given("lr") && args.lr != meta.lr {
        conflicts.push(format!("--lr {} (the run's is {})", args.lr, meta.lr));
    }
    if given("momentum") && args.momentum != meta.momentum {
        conflicts.push(format!("--momentum {} (the run's is {})", args.momentum, meta.momentum));
    }
    if given("seed") && args.seed != meta.seed {
        conflicts.push(format!("--seed {} (the run's is {})", args.seed, meta.seed));
    }
    if let Some(batch) = meta.batch_size.filter(|&b| given("batch_size") && args.batch_size != b) {
        conflicts.push(format!("--batch-size {} (the run's is {batch})", args.batch_size));
    }
    if let Some(run_dataset) = meta.dataset.filter(|&d| d != dataset) {
        conflicts.push(format!("--dataset {dataset} (the run's is {run_dataset})"));
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "{}: {} contradicts the checkpoint; --resume continues the run it recorded (its seed, learning rate, \
         momentum, batch size and data set), so drop the flag, or start a new run without --resume",
        path.display(),
        conflicts.join(", ")
    )))
}

fn open_device(choice: &str) -> Result<candle_core::Device> {
    choice.parse::<DeviceChoice>()?.open()
}

fn data_options(args: &DataArgs) -> DataOptions {
    DataOptions { data_dir: args.data_dir.clone(), allow_download: !args.offline }
}
