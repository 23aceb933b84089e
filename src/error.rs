//! The crate's one error type.
//!
//! Every message says *what* was wrong and, where there is something to do, *what to do* about it:
//! a reader of the tutorial should never have to read a backtrace to find out that a file is truncated
//! or that a kernel has the wrong depth.

use std::path::PathBuf;

/// Everything that can go wrong in `lenet-tutor`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file (IDX, gzip) is malformed. `path` names the file, `what` says what is wrong with it.
    #[error("{}: {what}", path.display())]
    BadDataFile { path: PathBuf, what: String },

    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A data set could not be found anywhere it is looked for, or not downloaded.
    #[error("{0}")]
    DataNotFound(String),

    /// Downloading a file failed on every mirror, or a downloaded file had the wrong checksum.
    #[error("download failed: {0}")]
    Download(String),

    /// The requested device is not available in this build or on this machine.
    #[error("device: {0}")]
    Device(String),

    /// Shapes that do not fit together: a kernel whose depth is not the input's channel count,
    /// an output size that does not come out whole, a tensor of the wrong rank.
    #[error("shape: {0}")]
    Shape(String),

    /// An argument outside its valid range (a zero stride, a dropout probability of 1.5, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Training produced a mean loss that is NaN, infinite or past
    /// [`DIVERGED_LOSS`](crate::train::DIVERGED_LOSS).
    #[error(
        "the loss became {loss} at epoch {epoch}, batch {batch}: training diverged and was stopped (the last \
         checkpoint written, if any, is kept); try a smaller learning rate (--lr) or momentum"
    )]
    Diverged { loss: f32, epoch: usize, batch: usize },

    /// A checkpoint / model file is missing something or does not fit the model.
    #[error("{}: {what}", path.display())]
    Checkpoint { path: PathBuf, what: String },

    /// Decoding or encoding an image failed.
    #[error("image {}: {what}", path.display())]
    Image { path: PathBuf, what: String },

    /// Drawing a figure failed.
    #[error("figure: {0}")]
    Figure(String),

    /// An error from candle itself.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A malformed data file.
    pub(crate) fn bad_data(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::BadDataFile { path: path.into(), what: what.into() }
    }
}
