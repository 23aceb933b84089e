//! Micro-benchmark for the chapter "Making LeNet fast": LeNet's two convolutions (and the whole
//! training step) with this crate's custom ops against candle's built-in operations.
//!
//! ```text
//! cargo run --release --example ops_bench              # 1 and 2 threads, batch 32 and 64
//! cargo run --release --example ops_bench -- --threads 1 [--default-malloc]
//! ```
//!
//! Runs call [`lenet_tutor::ops::reuse_freed_memory`] first unless `--default-malloc` is given; the
//! full run shows one thread both ways.
//!
//! Every timing is of forward + backward (`loss = Σ y ⊙ r`, then `loss.backward()`), so it
//! includes what a training step pays: the custom ops, candle's bookkeeping of the gradients, and
//! the multiply-and-sum that makes the loss. Without `--threads` the program re-runs itself once
//! per thread count, because candle's and rayon's thread pools fix their size at start-up.
//!
//! Two numbers per measurement: the median wall-clock time of one call, and (on Linux) the CPU time
//! the process used per call. On a busy machine the wall time also counts the time other programs
//! had the CPU; with one thread the CPU time does not, and is the better estimate of what an idle
//! machine would show. (With two threads, rayon's idle workers spin, so CPU time is not shown.)

use std::process::Command;
use std::time::{Duration, Instant};

use candle_core::{D, Device, Tensor, Var};
use lenet_tutor::ops::{self, InputGrad, OpsImpl};
use lenet_tutor::rng::{TutorRng, seeded};
use rand::Rng;

type BenchResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--threads") {
        Some(i) => {
            let threads: usize = args.get(i + 1).ok_or("--threads needs a number")?.parse()?;
            lenet_tutor::device::set_threads(Some(threads));
            let tuned = !args.iter().any(|a| a == "--default-malloc");
            if tuned {
                lenet_tutor::ops::reuse_freed_memory();
            }
            println!(
                "--- {threads} thread(s), {} ---",
                if tuned { "reuse_freed_memory()" } else { "default malloc" }
            );
            run(threads)
        }
        None => {
            for (threads, malloc) in [(1, None), (2, None), (1, Some("--default-malloc"))] {
                let threads = threads.to_string();
                let args = ["--threads", threads.as_str()].into_iter().chain(malloc);
                let status = Command::new(std::env::current_exe()?).args(args).status()?;
                if !status.success() {
                    return Err(format!("the run with {threads} thread(s) failed: {status}").into());
                }
            }
            Ok(())
        }
    }
}

fn random(dims: &[usize], scale: f32, rng: &mut TutorRng) -> BenchResult<Tensor> {
    let n = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Ok(Tensor::from_vec(values, dims, &Device::Cpu)?)
}

/// CPU time used so far by this process (all threads), from `/proc/self/stat`; `None` elsewhere.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at "state"; utime and stime
    // are the 14th and 15th fields of the line, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// One measurement: median wall time per call and CPU time per call.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Times `f` after two warm-up calls, for about a second (at least 5 calls).
fn measure(mut f: impl FnMut() -> BenchResult<()>) -> BenchResult<Timing> {
    f()?;
    f()?;
    let mut times = Vec::new();
    let (start, cpu_start) = (Instant::now(), process_cpu_time());
    while times.len() < 5 || (start.elapsed() < Duration::from_millis(600) && times.len() < 500) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    let cpu = match (cpu_start, process_cpu_time()) {
        (Some(a), Some(b)) => Some((b - a) / times.len() as u32),
        _ => None,
    };
    times.sort();
    Ok(Timing { wall: times[times.len() / 2], cpu })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(threads: usize, batch: usize, what: &str, fast: Timing, candle: Timing) {
    let mut line = format!(
        "threads={threads} batch={batch:>2}  {what:<26} wall: fast {:>7.2} ms candle {:>7.2} ms = {:>4.1}x",
        ms(fast.wall),
        ms(candle.wall),
        candle.wall.as_secs_f64() / fast.wall.as_secs_f64()
    );
    if let (1, Some(fast), Some(candle)) = (threads, fast.cpu, candle.cpu) {
        line += &format!(
            "   cpu: fast {:>7.2} ms candle {:>7.2} ms = {:>4.1}x",
            ms(fast),
            ms(candle),
            candle.as_secs_f64() / fast.as_secs_f64()
        );
    }
    println!("{line}");
}

/// One LeNet layer pair: the convolution's forward pass alone, and forward + backward.
struct ConvBench {
    x: Tensor,
    weight: Var,
    bias: Var,
    r: Tensor,
    input_grad: InputGrad,
}

impl ConvBench {
    fn new(
        x_dims: [usize; 4],
        w_dims: [usize; 4],
        input_grad: InputGrad,
        rng: &mut TutorRng,
    ) -> BenchResult<Self> {
        let out = [x_dims[0], w_dims[0], x_dims[2] - w_dims[2] + 1, x_dims[3] - w_dims[3] + 1];
        let x = random(&x_dims, 1.0, rng)?;
        // conv2's input comes out of conv1, so it carries a gradient; conv1's input is data.
        let x = match input_grad {
            InputGrad::Needed => Var::from_tensor(&x)?.as_tensor().clone(),
            InputGrad::Skip => x,
        };
        Ok(Self {
            x,
            weight: Var::from_tensor(&random(&w_dims, 0.2, rng)?)?,
            bias: Var::from_tensor(&random(&[w_dims[0]], 0.2, rng)?)?,
            r: random(&out, 1.0, rng)?,
            input_grad,
        })
    }

    fn forward(&self, imp: OpsImpl) -> BenchResult<Tensor> {
        Ok(imp.conv2d(&self.x, &self.weight, Some(&self.bias), 0, 1, self.input_grad)?)
    }

    fn forward_backward(&self, imp: OpsImpl) -> BenchResult<()> {
        let y = self.forward(imp)?;
        (y * &self.r)?.sum_all()?.backward()?;
        Ok(())
    }
}

/// The notes' LeNet without dropout (which both implementations share): one training step's
/// forward and backward pass, the optimizer update left out.
struct LeNetBench {
    x: Tensor,
    labels: Tensor,
    params: Vec<Var>,
}

impl LeNetBench {
    fn new(batch: usize, rng: &mut TutorRng) -> BenchResult<Self> {
        let shapes: [&[usize]; 8] =
            [&[10, 1, 5, 5], &[10], &[20, 10, 5, 5], &[20], &[50, 320], &[50], &[10, 50], &[10]];
        let params = shapes
            .iter()
            .map(|dims| Ok(Var::from_tensor(&random(dims, 0.1, rng)?)?))
            .collect::<BenchResult<Vec<_>>>()?;
        let labels: Vec<u32> = (0..batch).map(|_| rng.random_range(0..10)).collect();
        Ok(Self {
            x: random(&[batch, 1, 28, 28], 1.0, rng)?,
            labels: Tensor::new(labels.as_slice(), &Device::Cpu)?,
            params,
        })
    }

    fn step(&self, imp: OpsImpl) -> BenchResult<()> {
        let p = &self.params;
        let h = imp.conv2d(&self.x, &p[0], Some(&p[1]), 0, 1, InputGrad::Skip)?; // [B,10,24,24]
        let h = imp.max_pool2d_relu(&h, 2)?; // [B,10,12,12]
        let h = imp.conv2d(&h, &p[2], Some(&p[3]), 0, 1, InputGrad::Needed)?; // [B,20,8,8]
        let h = imp.max_pool2d_relu(&h, 2)?.flatten_from(1)?; // [B,320]
        let h = h.matmul(&p[4].t()?)?.broadcast_add(&p[5])?.relu()?; // [B,50]
        let logits = h.matmul(&p[6].t()?)?.broadcast_add(&p[7])?; // [B,10]
        let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        candle_nn::loss::nll(&log_probs, &self.labels)?.backward()?;
        Ok(())
    }
}

fn run(threads: usize) -> BenchResult<()> {
    let mut rng = seeded(1);
    for batch in [32, 64] {
        let conv1 = ConvBench::new([batch, 1, 28, 28], [10, 1, 5, 5], InputGrad::Skip, &mut rng)?;
        let conv2 = ConvBench::new([batch, 10, 12, 12], [20, 10, 5, 5], InputGrad::Needed, &mut rng)?;
        for (name, conv) in [("conv1", &conv1), ("conv2", &conv2)] {
            let fast = measure(|| conv.forward(OpsImpl::Fast).map(drop))?;
            let candle = measure(|| conv.forward(OpsImpl::Candle).map(drop))?;
            report(threads, batch, &format!("{name} forward"), fast, candle);
            let fast = measure(|| conv.forward_backward(OpsImpl::Fast))?;
            let candle = measure(|| conv.forward_backward(OpsImpl::Candle))?;
            report(threads, batch, &format!("{name} forward+backward"), fast, candle);
        }

        let pooled = Var::from_tensor(&random(&[batch, 10, 24, 24], 1.0, &mut rng)?)?;
        let r = random(&[batch, 10, 12, 12], 1.0, &mut rng)?;
        let pool_step = |pool: &dyn Fn(&Tensor) -> lenet_tutor::Result<Tensor>| -> BenchResult<()> {
            (pool(pooled.as_tensor())? * &r)?.sum_all()?.backward()?;
            Ok(())
        };
        let fast = measure(|| pool_step(&|x| ops::max_pool2d_relu_fast(x, 2)))?;
        let candle = measure(|| pool_step(&|x| ops::max_pool2d_relu_candle(x, 2)))?;
        report(threads, batch, "pool1+relu fwd+bwd", fast, candle);
        let builtin = measure(|| pool_step(&|x| Ok(x.max_pool2d(2)?.relu()?)))?;
        report(threads, batch, "  (vs builtin max_pool2d)", fast, builtin);

        let lenet = LeNetBench::new(batch, &mut rng)?;
        let fast = measure(|| lenet.step(OpsImpl::Fast))?;
        let candle = measure(|| lenet.step(OpsImpl::Candle))?;
        report(threads, batch, "LeNet step fwd+bwd", fast, candle);
        let best = |t: Timing| if threads == 1 { t.cpu.unwrap_or(t.wall) } else { t.wall };
        let steps = (60000 / batch) as f64;
        println!(
            "threads={threads} batch={batch:>2}  => one epoch of 60000 images (forward+backward only): fast {:.1} s, candle {:.1} s",
            best(fast).as_secs_f64() * steps,
            best(candle).as_secs_f64() * steps
        );
    }
    Ok(())
}
