//! The error type of the trainer: every variant says what failed and where.

use std::path::PathBuf;

/// Result alias for the trainer.
pub type Result<T> = std::result::Result<T, TrainError>;

/// What can go wrong training, evaluating or checkpointing.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor op failed (shapes, dtypes, a device error).
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
    /// A layer or optimizer refused its input.
    #[error(transparent)]
    Layer(#[from] recur_layers::LayerError),
    /// The data could not be batched.
    #[error(transparent)]
    Data(#[from] recur_data::DataError),
    /// A file or folder could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error (shown in the message, so not also a `source()` that an error
        /// chain would print a second time).
        error: std::io::Error,
    },
    /// A checkpoint or parameter file that cannot be used.
    #[error("{0}")]
    Checkpoint(String),
    /// A loss, gradient or parameter that is NaN or infinite.
    #[error("{0}")]
    NonFinite(String),
    /// Another process is writing the same run folder.
    #[error("{0}")]
    Locked(String),
    /// A setting that cannot work.
    #[error("{0}")]
    Invalid(String),
}

impl TrainError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> TrainError {
        TrainError::Io {
            path: path.into(),
            error,
        }
    }
}
