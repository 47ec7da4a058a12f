//! The error type of tensor operations: every variant names the op and what it saw.

/// Result alias for tensor operations.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in a tensor operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shapes that do not fit together.
    #[error("{op}: shape mismatch: {detail}")]
    Shape {
        /// The operation that was called.
        op: &'static str,
        /// What was expected and what was found.
        detail: String,
    },
    /// Operands of different element types.
    #[error("{op}: dtype mismatch: expected {expected}, found {found}")]
    DType {
        /// The operation that was called.
        op: &'static str,
        /// The element type expected.
        expected: crate::DType,
        /// The element type found.
        found: crate::DType,
    },
    /// An index outside its range (gather, scatter, labels).
    #[error("{op}: index {index} out of range for size {size}")]
    Index {
        /// The operation that was called.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The size it must be below.
        size: usize,
    },
    /// An argument that is not valid for the op (e.g. batch sizes that increase).
    #[error("{op}: {detail}")]
    Invalid {
        /// The operation that was called.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A failure inside a device backend (driver, allocation, launch).
    #[error("{backend} backend: {detail}")]
    Device {
        /// The backend name.
        backend: &'static str,
        /// The driver's message.
        detail: String,
    },
}

impl Error {
    /// Builds a [`Error::Shape`] with a formatted detail.
    pub fn shape(op: &'static str, detail: impl Into<String>) -> Error {
        Error::Shape {
            op,
            detail: detail.into(),
        }
    }

    /// Builds an [`Error::Invalid`] with a formatted detail.
    pub fn invalid(op: &'static str, detail: impl Into<String>) -> Error {
        Error::Invalid {
            op,
            detail: detail.into(),
        }
    }
}
