//! The [`PackedSequence`] struct and the index bookkeeping behind packing.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{PackError, Result};

/// A packed batch, as PyTorch's `PackedSequence`.
///
/// # Shapes
/// `data`: `[Σ lengths, *F]`, time-major; `batch_sizes`: `[max len]`, non-increasing;
/// `sorted_indices[i]` = the original batch row packed at position `i`;
/// `unsorted_indices` = its inverse. Both are `None` when the input was already sorted and
/// packed with `enforce_sorted = true`.
///
/// The fields are private so that every `PackedSequence` is consistent: the packing
/// functions build them, and [`PackedSequence::new`] checks one made by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedSequence {
    pub(crate) data: Var,
    pub(crate) batch_sizes: Vec<usize>,
    pub(crate) sorted_indices: Option<Vec<usize>>,
    pub(crate) unsorted_indices: Option<Vec<usize>>,
}

impl PackedSequence {
    /// A packed batch from its parts, as `torch.nn.utils.rnn.PackedSequence(data,
    /// batch_sizes, sorted_indices)`: `data` `[Σ batch_sizes, *F]` on `tape`, `batch_sizes`
    /// non-empty, non-increasing and positive, `sorted_indices` (packed position → original
    /// row) a permutation of `0..batch_sizes[0]` or `None` for rows already in order.
    /// `unsorted_indices` is its inverse. Anything else is an error saying what is wrong.
    pub fn new<B: Backend>(
        tape: &Tape<B>,
        data: Var,
        batch_sizes: Vec<usize>,
        sorted_indices: Option<Vec<usize>>,
    ) -> Result<PackedSequence> {
        let bad = |expected: &str, found: String| PackError::Mismatch {
            expected: expected.to_string(),
            found,
        };
        if batch_sizes.is_empty() || batch_sizes.contains(&0) {
            return Err(bad(
                "batch_sizes that are non-empty and positive",
                format!("{batch_sizes:?}"),
            ));
        }
        if batch_sizes.windows(2).any(|w| w[1] > w[0]) {
            return Err(bad(
                "non-increasing batch_sizes",
                format!("{batch_sizes:?}"),
            ));
        }
        let rows: usize = batch_sizes.iter().sum();
        let shape = tape.shape(data)?;
        if shape.first() != Some(&rows) {
            return Err(bad(
                &format!("data with {rows} rows (the sum of batch_sizes)"),
                format!("shape {shape:?}"),
            ));
        }
        let unsorted_indices = match &sorted_indices {
            None => None,
            Some(sorted) => {
                let b = batch_sizes[0];
                let not_a_permutation = || {
                    bad(
                        &format!("sorted_indices that are a permutation of 0..{b}"),
                        format!("{sorted:?}"),
                    )
                };
                if sorted.len() != b {
                    return Err(not_a_permutation());
                }
                let mut inverse = vec![usize::MAX; b];
                for (pos, &row) in sorted.iter().enumerate() {
                    if row >= b || inverse[row] != usize::MAX {
                        return Err(not_a_permutation());
                    }
                    inverse[row] = pos;
                }
                Some(inverse)
            }
        };
        Ok(PackedSequence {
            data,
            batch_sizes,
            sorted_indices,
            unsorted_indices,
        })
    }

    /// The packed rows `[N, *F]`, time-major.
    pub fn data(&self) -> Var {
        self.data
    }

    /// Rows alive at each step (non-empty, non-increasing, positive).
    pub fn batch_sizes(&self) -> &[usize] {
        &self.batch_sizes
    }

    /// Packed position → original batch row (`None`: the rows were already in order).
    pub fn sorted_indices(&self) -> Option<&[usize]> {
        self.sorted_indices.as_deref()
    }

    /// Original batch row → packed position (`None`: the rows were already in order).
    pub fn unsorted_indices(&self) -> Option<&[usize]> {
        self.unsorted_indices.as_deref()
    }

    /// Number of sequences `B`.
    pub fn batch(&self) -> usize {
        self.batch_sizes.first().copied().unwrap_or(0)
    }

    /// Total packed rows `N`.
    pub fn rows(&self) -> usize {
        self.batch_sizes.iter().sum()
    }

    /// Lengths in packed (sorted) order.
    pub fn sorted_lengths(&self) -> Vec<usize> {
        (0..self.batch())
            .map(|i| self.batch_sizes.iter().take_while(|&&b| b > i).count())
            .collect()
    }

    /// Lengths in the original batch order.
    pub fn lengths(&self) -> Vec<usize> {
        let sorted = self.sorted_lengths();
        match &self.unsorted_indices {
            Some(unsorted) => unsorted.iter().map(|&p| sorted[p]).collect(),
            None => sorted,
        }
    }

    /// Original batch row of packed position `i`.
    pub fn original_row(&self, i: usize) -> usize {
        self.sorted_indices.as_ref().map_or(i, |s| s[i])
    }

    /// Same packing with other data (e.g. a layer's output).
    pub fn with_data(&self, data: Var) -> PackedSequence {
        PackedSequence {
            data,
            ..self.clone()
        }
    }
}

/// How a padded batch is laid out (PyTorch's `batch_first`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// `[T, B, *]`, PyTorch's default (`batch_first=False`).
    #[default]
    TimeFirst,
    /// `[B, T, *]` (`batch_first=True`).
    BatchFirst,
}

impl Layout {
    /// `BatchFirst` when `batch_first`, as PyTorch's flag reads.
    pub fn from_batch_first(batch_first: bool) -> Layout {
        if batch_first {
            Layout::BatchFirst
        } else {
            Layout::TimeFirst
        }
    }
}

/// Whether packing may reorder the sequences (PyTorch's `enforce_sorted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// The lengths must already be non-increasing (`enforce_sorted=True`, PyTorch's
    /// default); no permutation is recorded.
    #[default]
    Sorted,
    /// Any order: sequences are sorted by length and the permutation recorded
    /// (`enforce_sorted=False`).
    Any,
}

impl Order {
    /// `Sorted` when `enforce_sorted`, as PyTorch's flag reads.
    pub fn from_enforce_sorted(enforce_sorted: bool) -> Order {
        if enforce_sorted {
            Order::Sorted
        } else {
            Order::Any
        }
    }
}

/// A row permutation, absent when the rows are already in order.
pub type Permutation = Option<Vec<usize>>;

/// `batch_sizes[t]` = number of lengths greater than `t`, for `t < max(lengths)`.
pub fn batch_sizes_for(sorted_lengths: &[usize]) -> Vec<usize> {
    let max = sorted_lengths.iter().copied().max().unwrap_or(0);
    (0..max)
        .map(|t| sorted_lengths.iter().filter(|&&l| l > t).count())
        .collect()
}

/// Validates `lengths` and returns `(sorted_indices, unsorted_indices)`: rows by decreasing
/// length, ties in original order (`None` for both with `enforce_sorted`).
pub fn sort_by_length(
    lengths: &[usize],
    enforce_sorted: bool,
) -> Result<(Permutation, Permutation)> {
    if lengths.is_empty() {
        return Err(PackError::Empty);
    }
    if lengths.contains(&0) {
        return Err(PackError::ZeroLength {
            lengths: lengths.to_vec(),
        });
    }
    if enforce_sorted {
        if lengths.windows(2).any(|w| w[1] > w[0]) {
            return Err(PackError::NotSorted {
                lengths: lengths.to_vec(),
            });
        }
        return Ok((None, None));
    }
    let mut sorted: Vec<usize> = (0..lengths.len()).collect();
    sorted.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    let mut unsorted = vec![0; lengths.len()];
    for (pos, &row) in sorted.iter().enumerate() {
        unsorted[row] = pos;
    }
    Ok((Some(sorted), Some(unsorted)))
}
