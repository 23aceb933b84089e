//! Helpers shared by the integration tests: `mod common;` at the top of a test file.
//!
//! Each test binary uses only some of them, hence `allow(dead_code)`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::Duration;

use lenet_tutor::Tensor;
use lenet_tutor::rng::TutorRng;
use rand::Rng;

/// What the tests return: `?` on the crate's errors and on anything else.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The largest element-wise difference `max |a − b|` of two tensors of the same shape, compared as
/// `f32` on the CPU (so a GPU tensor or an `f64` one can be compared with a CPU `f32` one).
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let cpu = |t: &Tensor| {
        t.to_device(&lenet_tutor::Device::Cpu).unwrap().to_dtype(lenet_tutor::DType::F32).unwrap()
    };
    (cpu(a) - cpu(b))
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A CPU tensor of `dims` with values uniform in `[-scale, scale)`.
pub fn random_tensor(dims: &[usize], scale: f32, rng: &mut TutorRng) -> Tensor {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::from_vec(values, dims, &lenet_tutor::Device::Cpu).unwrap()
}

/// How the test server answers one path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 OK` with this body.
    Body(Vec<u8>),
    /// A `200 OK` promising the whole body, but the connection closes after `sent` bytes of it.
    DropAfter { body: Vec<u8>, sent: usize },
    /// Accepts the request, then says nothing for this long before closing.
    Stall(Duration),
}

/// An HTTP/1.1 server on 127.0.0.1 for the download tests: serves `replies` (URL path → reply),
/// answers anything else with a 404, and reports every requested path on [`Server::requests`].
/// The server thread lives until the test process ends.
pub struct Server {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    pub requests: Receiver<String>,
}

impl Server {
    pub fn start(replies: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, requests) = channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (replies, tx) = (replies.clone(), tx.clone());
                // One thread per connection, so a stalled reply does not hold up the next request.
                thread::spawn(move || answer(stream, &replies, &tx));
            }
        });
        Server { base, requests }
    }

    /// Every path requested so far, in order.
    pub fn requested(&self) -> Vec<String> {
        self.requests.try_iter().collect()
    }
}

fn answer(mut stream: TcpStream, replies: &HashMap<String, Reply>, tx: &Sender<String>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers up to the blank line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let _ = tx.send(path.clone());
    let head = |len: usize| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\
             Connection: close\r\n\r\n"
        )
    };
    match replies.get(&path) {
        Some(Reply::Body(body)) => {
            let _ = stream.write_all(head(body.len()).as_bytes());
            let _ = stream.write_all(body);
        }
        Some(Reply::DropAfter { body, sent }) => {
            let _ = stream.write_all(head(body.len()).as_bytes());
            let _ = stream.write_all(&body[..(*sent).min(body.len())]);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Some(Reply::Stall(time)) => thread::sleep(*time),
        None => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\nConnection: close\r\n\r\nnot here",
            );
        }
    }
}

/// A URL where nothing listens: bind a port, then free it.
pub fn dead_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

/// The `lenet-tutor` binary, run in `cwd` with two threads for candle.
pub fn lenet_tutor_command(args: &[&str], cwd: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lenet-tutor"));
    command
        .args(args)
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", "2")
        .env("CANDLE_NUM_THREADS", "2")
        .env_remove("LENET_TUTOR_DATA")
        .env_remove("LENET_TUTOR_MIRRORS");
    command
}

/// Runs `lenet-tutor` to the end and returns its output.
pub fn lenet_tutor(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    lenet_tutor_command(args, cwd).output().expect("the binary runs")
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failure whose stderr is one line starting `error: ` and mentioning `needle`.
pub fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    assert!(!out.status.success(), "expected failure, got success: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "error is not one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
}

/// A small MNIST made of the bundled sample's first `train` and `test` digits, written as the four
/// (unpacked) IDX files into `dir`: `--dataset mnist --data-dir DIR --offline` trains on it in a
/// fraction of a second per epoch.
pub fn write_small_mnist(dir: &std::path::Path, train: usize, test: usize) {
    use lenet_tutor::data::{self, DataOptions, DatasetName};
    let splits = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
    for (prefix, set) in [("train", splits.train.take(train)), ("t10k", splits.test.take(test))] {
        let n = set.len() as u32;
        let mut images =
            [0x0000_0803u32, n, 28, 28].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
        images.extend_from_slice(set.images());
        let mut labels = [0x0000_0801u32, n].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
        labels.extend_from_slice(set.labels());
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}

/// Every tensor of a safetensors file, by name.
pub fn tensors_of(path: &std::path::Path) -> HashMap<String, Tensor> {
    lenet_tutor::candle_core::safetensors::load(path, &lenet_tutor::Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bits of a tensor's values (f32 → f64 is exact, so f64 bits compare the f32 bits).
pub fn bits(t: &Tensor) -> Vec<u64> {
    let t = t.flatten_all().unwrap().to_dtype(lenet_tutor::DType::F64).unwrap();
    t.to_vec1::<f64>().unwrap().iter().map(|v| v.to_bits()).collect()
}

/// Asserts two checkpoints hold the same bits in every tensor but the timings: weights, velocity,
/// epoch, seed, settings, and each epoch's loss and counts (the history's seconds column differs).
pub fn assert_same_run(a: &std::path::Path, b: &std::path::Path) {
    let (ta, tb) = (tensors_of(a), tensors_of(b));
    let mut names: Vec<&String> = ta.keys().collect();
    names.sort();
    let mut other: Vec<&String> = tb.keys().collect();
    other.sort();
    assert_eq!(names, other, "the checkpoints hold different tensors");
    for name in names {
        if name.starts_with("history.") {
            // [E,5]: epoch, loss, correct, total, seconds: all but the last column.
            let cut = |t: &Tensor| bits(&t.narrow(1, 0, 4).unwrap());
            assert_eq!(cut(&ta[name]), cut(&tb[name]), "{name} differs");
        } else {
            assert_eq!(bits(&ta[name]), bits(&tb[name]), "{name} differs");
        }
    }
}
