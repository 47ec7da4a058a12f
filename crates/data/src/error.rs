//! The error type of the data pipeline: every variant names the file (and line).

use std::path::PathBuf;

/// Result alias for the data pipeline.
pub type Result<T> = std::result::Result<T, DataError>;

/// What can go wrong reading, checking or fetching data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened, read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, so not also a `source()` that an error
        /// chain would print a second time).
        error: std::io::Error,
    },
    /// A malformed CSV row.
    #[error("{path}:{line}: {detail}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line where the row starts.
        line: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A vocabulary file that cannot be used.
    #[error("vocabulary {path}: {detail}")]
    Vocab {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Word vectors of another width than the embedding's.
    #[error("{path}: the vectors have {found} dimensions but the embedding is {expected} wide")]
    VectorWidth {
        /// The vectors' file.
        path: PathBuf,
        /// Their width.
        found: usize,
        /// The embedding's width.
        expected: usize,
    },
    /// A downloaded or copied file failed its checks, or could not be fetched.
    #[error("{0}")]
    Download(String),
    /// Data files not where they were looked for.
    #[error("{0}")]
    NotFound(String),
    /// A label that is not one of the classes.
    #[error("{0}")]
    Label(#[from] LabelError),
    /// Anything else wrong with the data (e.g. an empty dataset).
    #[error("{0}")]
    Invalid(String),
}

/// Why a label as written has no class ([`crate::Classes::class_of`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// An integer label outside the classes' range.
    #[error("class {label} is outside {first}..={last}")]
    OutOfRange {
        /// The label.
        label: i64,
        /// The first class's label.
        first: usize,
        /// The last class's label.
        last: usize,
    },
    /// A label that should be an integer and is not.
    #[error("class {label:?} is not an integer (the classes are {first}..={last})")]
    NotInteger {
        /// The label.
        label: String,
        /// The first class's label.
        first: usize,
        /// The last class's label.
        last: usize,
    },
    /// A label that is not one of the class names.
    #[error("label {label:?} is not one of the classes ({})", names.join(", "))]
    Unknown {
        /// The label.
        label: String,
        /// The class names.
        names: Vec<String>,
    },
}

impl DataError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> DataError {
        DataError::Io {
            path: path.into(),
            error,
        }
    }
}
