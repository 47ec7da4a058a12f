//! The error type of the trainer: every variant says what failed and where, in the
//! library's own terms (settings by their field names; a command line maps them to flags).

use std::path::PathBuf;

/// Result alias for the trainer.
pub type Result<T> = std::result::Result<T, TrainError>;

/// What can go wrong training, evaluating, loading or checkpointing.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor op failed (shapes, dtypes, a device error).
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
    /// A layer or optimizer refused its input.
    #[error(transparent)]
    Layer(#[from] recur_layers::LayerError),
    /// The data could not be read or batched.
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
    /// A run folder, checkpoint or parameter file that cannot be used.
    #[error("{path}: {problem}")]
    RunFolder {
        /// The file or folder at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A loss, gradient, parameter or output that is NaN or infinite.
    #[error("{0}")]
    NonFinite(String),
    /// Another process is writing the same run folder.
    #[error(
        "another recur process is writing {dir} (it holds {lock}); wait for it or write elsewhere"
    )]
    Locked {
        /// The run folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A setting that cannot work, named as the library names it (`report_every`,
    /// `clip_grad_norm`, …).
    #[error("{name}: {problem}")]
    Setting {
        /// The setting's field name.
        name: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// Something that compares validation results was asked for without validation data.
    #[error("{what} needs validation data")]
    NeedsValidation {
        /// What needs it (`the plateau schedule`, `early stopping`).
        what: &'static str,
    },
    /// A run to resume no longer matches its data or its own files.
    #[error("{dir}: {what} changed since the run started; it cannot be resumed as it is")]
    Changed {
        /// The run folder.
        dir: PathBuf,
        /// What changed (`the vocabulary built from the training data`, …).
        what: String,
    },
    /// Anything else that cannot work, said in full.
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

    /// A problem with the run-folder file `path`.
    pub fn run_folder(path: impl Into<PathBuf>, problem: impl Into<String>) -> TrainError {
        TrainError::RunFolder {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// A setting `name` that cannot take its value.
    pub fn setting(name: &'static str, problem: impl Into<String>) -> TrainError {
        TrainError::Setting {
            name,
            problem: problem.into(),
        }
    }
}
