//! `lenet-tutor`: the command line for the long jobs of the tutorial — train, eval, predict,
//! visualize, download. Every failure is one line on stderr and a non-zero exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lenet_tutor::data::{self, DataOptions, DatasetName};
use lenet_tutor::device::{self, DeviceChoice};
use lenet_tutor::model::{ConvImpl, LeNet};
use lenet_tutor::train::{self, Output, TrainConfig, Trainer};
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
    let cli = match Cli::try_parse() {
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
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Train(args) => train_command(args),
        Command::Eval { model, data, test_batch_size, device } => {
            let device = open_device(&device)?;
            let name: DatasetName = data.dataset.parse()?;
            let test = data::load_test(name, &data_options(&data))?;
            let model = LeNet::load(&model, &device)?;
            let (stats, _) = train::evaluate(&model, &test, test_batch_size, Output::Quiet)?;
            println!("{}", train::report::notes_line_timed(&stats));
            Ok(())
        }
        Command::Predict { model, images, device } => {
            let device = open_device(&device)?;
            let model = LeNet::load(&model, &device)?;
            let (mean, std) = DatasetName::Mnist.normalization();
            for path in images {
                let pixels = data::digit_from_image(&path)?;
                let x: Vec<f32> = pixels.iter().map(|&p| (p as f32 / 255.0 - mean) / std).collect();
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
            let dir = data::download::download(name, &dir, &data::download::mirrors(name))?;
            println!("{name} is in {}", dir.display());
            Ok(())
        }
    }
}

fn train_command(args: TrainArgs) -> Result<()> {
    let device = open_device(&args.device)?;
    let name: DatasetName = args.data.dataset.parse()?;
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
        conv_impl: if args.candle_conv { ConvImpl::Candle } else { ConvImpl::Fast },
    };
    let mut trainer = match &args.resume {
        Some(path) => {
            let t = Trainer::resume(path, config, &device)?;
            println!("resuming from {} after epoch {}", path.display(), t.epochs_done());
            t
        }
        None => Trainer::new(config, &device)?,
    };
    trainer.run(&splits.train, &splits.test)?;
    if let Some(path) = &args.save {
        println!("saved to {}", path.display());
    }
    Ok(())
}

fn open_device(choice: &str) -> Result<candle_core::Device> {
    choice.parse::<DeviceChoice>()?.open()
}

fn data_options(args: &DataArgs) -> DataOptions {
    DataOptions { data_dir: args.data_dir.clone(), allow_download: !args.offline }
}
