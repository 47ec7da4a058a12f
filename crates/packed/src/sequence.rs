//! The [`PackedSequence`] struct and the index bookkeeping behind packing.

use recur_autograd::Var;

use crate::{PackError, Result};

/// A packed batch, as PyTorch's `PackedSequence`.
///
/// # Shapes
/// `data`: `[Σ lengths, *F]`, time-major; `batch_sizes`: `[max len]`, non-increasing;
/// `sorted_indices[i]` = the original batch row packed at position `i`;
/// `unsorted_indices` = its inverse. Both are `None` when the input was already sorted and
/// packed with `enforce_sorted = true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedSequence {
    /// The packed rows.
    pub data: Var,
    /// Rows alive at each step.
    pub batch_sizes: Vec<usize>,
    /// Packed position → original batch row.
    pub sorted_indices: Option<Vec<usize>>,
    /// Original batch row → packed position.
    pub unsorted_indices: Option<Vec<usize>>,
}

impl PackedSequence {
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
