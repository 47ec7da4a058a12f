//! Errors of the packing functions, worded as PyTorch raises them.

/// Result alias for packing functions.
pub type Result<T> = std::result::Result<T, PackError>;

/// What can go wrong when packing or padding.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A sequence of length zero.
    #[error(
        "length of all samples has to be greater than 0, but found an element in 'lengths' \
        that is <= 0 (lengths {lengths:?})"
    )]
    ZeroLength {
        /// The lengths given.
        lengths: Vec<usize>,
    },
    /// `enforce_sorted` with lengths that increase somewhere.
    #[error(
        "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True \
        (lengths {lengths:?}); pass enforce_sorted=false to pack unsorted sequences"
    )]
    NotSorted {
        /// The lengths given.
        lengths: Vec<usize>,
    },
    /// A length beyond the padded time axis.
    #[error(
        "length {length} of sequence {index} exceeds the padded length {max} of the input \
        {shape:?}"
    )]
    TooLong {
        /// Which sequence.
        index: usize,
        /// Its length.
        length: usize,
        /// The time dimension available.
        max: usize,
        /// The input shape.
        shape: Vec<usize>,
    },
    /// `total_length` shorter than the longest sequence.
    #[error(
        "expected total_length to be at least the length of the longest sequence in the input, \
        but got total_length={total_length} and max sequence length being {max_len}"
    )]
    TotalLengthTooShort {
        /// The requested length.
        total_length: usize,
        /// The longest sequence.
        max_len: usize,
    },
    /// Number of lengths and batch size differ, or the input has the wrong rank.
    #[error("expected {expected} but found {found}")]
    Mismatch {
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// No sequence at all.
    #[error("cannot pack or pad an empty list of sequences")]
    Empty,
    /// An error of the underlying tensor op.
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
}
