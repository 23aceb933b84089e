//! Where the tensors live: the notes' `torch.device('mps' if torch.backends.mps.is_available() else "cpu")`.
//!
//! [`DeviceChoice::Auto`] tries Metal (Apple GPUs, the notes' `mps`), then CUDA, then falls back to the CPU.
//! A GPU backend is only there when the crate is built with the `metal` or `cuda` feature; asking for one
//! that is not there is an [`Error::Device`] that says which feature to turn on.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;

use crate::error::{Error, Result};

/// Which device to run on, as given by `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// Metal if available, else CUDA if available, else CPU.
    #[default]
    Auto,
    Cpu,
    /// An NVIDIA GPU by ordinal (`cuda`, `cuda:1`).
    Cuda(usize),
    /// An Apple GPU by ordinal (`metal`, `mps`, `metal:0`).
    Metal(usize),
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, ordinal) = match lower.split_once(':') {
            Some((name, n)) => {
                let n = n.parse::<usize>().map_err(|_| {
                    Error::Device(format!("`{s}`: the part after ':' must be a GPU number, like cuda:0"))
                })?;
                (name, n)
            }
            None => (lower.as_str(), 0),
        };
        match name {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(ordinal)),
            "metal" | "mps" => Ok(DeviceChoice::Metal(ordinal)),
            _ => Err(Error::Device(format!(
                "unknown device `{s}`; use auto, cpu, cuda, cuda:N, metal (or mps)"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Metal(n) => write!(f, "metal:{n}"),
        }
    }
}

impl DeviceChoice {
    /// Opens the device, or says why it can't.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceChoice::Auto => Ok(auto()),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => open_cuda(n),
            DeviceChoice::Metal(n) => open_metal(n),
        }
    }
}

/// The notes' choice: Metal if there is one, else CUDA, else the CPU. Never fails.
pub fn auto() -> Device {
    if candle_core::utils::metal_is_available()
        && let Ok(d) = Device::new_metal(0)
    {
        return d;
    }
    if candle_core::utils::cuda_is_available()
        && let Ok(d) = Device::new_cuda(0)
    {
        return d;
    }
    Device::Cpu
}

/// A short human name for a device: `cpu`, `cuda:0`, `metal:0`.
pub fn name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

fn open_cuda(ordinal: usize) -> Result<Device> {
    if !candle_core::utils::cuda_is_available() {
        return Err(Error::Device(
            "CUDA was asked for but this build has no CUDA support; rebuild with `--features cuda` \
             (needs the CUDA toolkit), or use --device cpu"
                .into(),
        ));
    }
    Device::new_cuda(ordinal)
        .map_err(|e| Error::Device(format!("cannot open CUDA GPU {ordinal}: {e}; try --device cpu")))
}

fn open_metal(ordinal: usize) -> Result<Device> {
    if !candle_core::utils::metal_is_available() {
        return Err(Error::Device(
            "Metal (mps) was asked for but this build has no Metal support; on a Mac rebuild with \
             `--features metal`, elsewhere use --device cpu"
                .into(),
        ));
    }
    Device::new_metal(ordinal)
        .map_err(|e| Error::Device(format!("cannot open Metal GPU {ordinal}: {e}; try --device cpu")))
}

/// Sets the number of CPU threads candle and its matrix multiplications use.
///
/// Without `RAYON_NUM_THREADS` / `CANDLE_NUM_THREADS` set, candle re-reads `/proc/cpuinfo`
/// before every matmul to count cores (about 7% of a training run's wall time here), so the crate
/// always sets them, once, before the first tensor operation. `None` means "all cores".
pub fn set_threads(threads: Option<usize>) {
    let n = threads
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    // SAFETY: called before any other thread of ours reads the environment (at start-up of the CLI,
    // or at the top of a test / notebook cell before candle spawns its pool).
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(0));
        assert_eq!("cuda:1".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(1));
        assert_eq!("mps".parse::<DeviceChoice>().unwrap(), DeviceChoice::Metal(0));
        let err = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("unknown device `tpu`"), "{err}");
        let err = "cuda:x".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("GPU number"), "{err}");
    }

    #[test]
    fn cpu_always_opens() {
        assert!(DeviceChoice::Cpu.open().unwrap().is_cpu());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let err = DeviceChoice::Cuda(0).open().unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }

    #[cfg(not(feature = "metal"))]
    #[test]
    fn metal_without_the_feature_is_a_clear_error() {
        let err = DeviceChoice::Metal(0).open().unwrap_err().to_string();
        assert!(err.contains("--features metal"), "{err}");
    }
}
