//! `pack_padded_sequence`, `pad_packed_sequence`, `pack_sequence`, `pad_sequence`,
//! `unpack_sequence` and `unpad_sequence`, with PyTorch's arguments and errors.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::sequence::{batch_sizes_for, sort_by_length};
use crate::{Layout, Order, PackError, PackedSequence, Result};

fn mismatch(expected: impl Into<String>, found: impl Into<String>) -> PackError {
    PackError::Mismatch {
        expected: expected.into(),
        found: found.into(),
    }
}

/// Where the rows of a packed batch come from ([`packed_order`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedOrder {
    /// For each packed row, its position in the padded batch (`row·T + step` batch-first,
    /// `step·B + row` time-major).
    pub rows: Vec<usize>,
    /// Rows alive at each step.
    pub batch_sizes: Vec<usize>,
    /// Rows by decreasing length (`None`: already in order).
    pub sorted_indices: Option<Vec<usize>>,
    /// The inverse of `sorted_indices`.
    pub unsorted_indices: Option<Vec<usize>>,
}

/// The order [`pack_padded_sequence`] puts the rows of a padded batch of `b` sequences of
/// `t` steps in, for `lengths` (each in `1..=t`): so anything laid out like the batch (token
/// ids, say) can be packed the same way.
pub fn packed_order(
    lengths: &[usize],
    b: usize,
    t: usize,
    layout: Layout,
    order: Order,
) -> Result<PackedOrder> {
    if lengths.len() != b {
        return Err(mismatch(
            format!("{b} lengths (the batch size of the input)"),
            format!("{} lengths", lengths.len()),
        ));
    }
    let (sorted, unsorted) = sort_by_length(lengths, order == Order::Sorted)?;
    if let Some((index, &length)) = lengths.iter().enumerate().find(|&(_, &l)| l > t) {
        return Err(PackError::TooLong {
            index,
            length,
            max: t,
            shape: if layout == Layout::BatchFirst {
                vec![b, t]
            } else {
                vec![t, b]
            },
        });
    }
    let rows_order: Vec<usize> = sorted.clone().unwrap_or_else(|| (0..b).collect());
    let sorted_lengths: Vec<usize> = rows_order.iter().map(|&r| lengths[r]).collect();
    let batch_sizes = batch_sizes_for(&sorted_lengths);
    let mut rows = Vec::with_capacity(lengths.iter().sum());
    for (step, &bs) in batch_sizes.iter().enumerate() {
        for &row in &rows_order[..bs] {
            rows.push(if layout == Layout::BatchFirst {
                row * t + step
            } else {
                step * b + row
            });
        }
    }
    Ok(PackedOrder {
        rows,
        batch_sizes,
        sorted_indices: sorted,
        unsorted_indices: unsorted,
    })
}

/// Packs a padded batch `[B, T, *F]` ([`Layout::BatchFirst`]) or `[T, B, *F]` of sequences
/// with the given `lengths` (original batch order). With [`Order::Sorted`] (PyTorch's
/// `enforce_sorted=True`) the lengths must be non-increasing and no permutation is recorded;
/// [`Order::Any`] sorts them.
pub fn pack_padded_sequence<B: Backend>(
    tape: &Tape<B>,
    input: Var,
    lengths: &[usize],
    layout: Layout,
    order: Order,
) -> Result<PackedSequence> {
    let shape = tape.shape(input)?;
    if shape.len() < 2 {
        return Err(mismatch(
            "an input of rank >= 2 ([B, T, *] or [T, B, *])",
            format!("shape {shape:?}"),
        ));
    }
    let (b, t) = if layout == Layout::BatchFirst {
        (shape[0], shape[1])
    } else {
        (shape[1], shape[0])
    };
    if lengths.len() != b {
        return Err(mismatch(
            format!("{b} lengths (the batch size of input {shape:?})"),
            format!("{} lengths", lengths.len()),
        ));
    }
    let PackedOrder {
        rows: idx,
        batch_sizes,
        sorted_indices: sorted,
        unsorted_indices: unsorted,
    } = packed_order(lengths, b, t, layout, order).map_err(|e| match e {
        PackError::TooLong {
            index, length, max, ..
        } => PackError::TooLong {
            index,
            length,
            max,
            shape: shape.clone(),
        },
        other => other,
    })?;
    let mut flat_shape = vec![b * t];
    flat_shape.extend_from_slice(&shape[2..]);
    let flat = tape.reshape(input, &flat_shape)?;
    let data = tape.gather_rows(flat, &idx)?;
    Ok(PackedSequence {
        data,
        batch_sizes,
        sorted_indices: sorted,
        unsorted_indices: unsorted,
    })
}

/// Pads a packed batch back to `[B, T', *F]` (`batch_first`) or `[T', B, *F]` with
/// `padding_value`; `T'` is `total_length` or the longest length. Returns the padded
/// variable and the lengths in original batch order.
pub fn pad_packed_sequence<B: Backend>(
    tape: &Tape<B>,
    packed: &PackedSequence,
    layout: Layout,
    padding_value: f64,
    total_length: Option<usize>,
) -> Result<(Var, Vec<usize>)> {
    let batch_first = layout == Layout::BatchFirst;
    let max_len = packed.batch_sizes.len();
    let t_out = match total_length {
        Some(tl) if tl < max_len => {
            return Err(PackError::TotalLengthTooShort {
                total_length: tl,
                max_len,
            })
        }
        Some(tl) => tl,
        None => max_len,
    };
    let shape = tape.shape(packed.data)?;
    let n = packed.rows();
    if shape.first() != Some(&n) {
        return Err(mismatch(
            format!("packed data with {n} rows (the sum of batch_sizes)"),
            format!("shape {shape:?}"),
        ));
    }
    let b = packed.batch();
    let mut idx = Vec::with_capacity(n);
    for (step, &bs) in packed.batch_sizes.iter().enumerate() {
        for i in 0..bs {
            let row = packed.original_row(i);
            idx.push(if batch_first {
                row * t_out + step
            } else {
                step * b + row
            });
        }
    }
    let out = tape.scatter_rows(packed.data, b * t_out, &idx, padding_value)?;
    let mut out_shape = if batch_first {
        vec![b, t_out]
    } else {
        vec![t_out, b]
    };
    out_shape.extend_from_slice(&shape[1..]);
    Ok((tape.reshape(out, &out_shape)?, packed.lengths()))
}

/// Pads sequences `[L_i, *F]` into `[N, max L, *F]` (`batch_first`) or `[max L, N, *F]`.
pub fn pad_sequence<B: Backend>(
    tape: &Tape<B>,
    sequences: &[Var],
    layout: Layout,
    padding_value: f64,
) -> Result<Var> {
    let batch_first = layout == Layout::BatchFirst;
    let first = sequences.first().ok_or(PackError::Empty)?;
    let first_shape = tape.shape(*first)?;
    if first_shape.is_empty() {
        return Err(mismatch(
            "sequences of shape [L, *]",
            "a scalar (shape [])".to_string(),
        ));
    }
    let feat = first_shape[1..].to_vec();
    let mut lens = Vec::with_capacity(sequences.len());
    for &s in sequences {
        let shape = tape.shape(s)?;
        if shape.is_empty() || shape[1..] != feat[..] {
            return Err(mismatch(
                format!("sequences of shape [L, {feat:?}]"),
                format!("shape {shape:?}"),
            ));
        }
        lens.push(shape[0]);
    }
    let n = sequences.len();
    let max_len = lens.iter().copied().max().unwrap_or(0);
    let mut out_shape = if batch_first {
        vec![n, max_len]
    } else {
        vec![max_len, n]
    };
    out_shape.extend_from_slice(&feat);
    let all = tape.cat(sequences, 0)?;
    let mut idx = Vec::with_capacity(lens.iter().sum());
    for (i, &len) in lens.iter().enumerate() {
        for step in 0..len {
            idx.push(if batch_first {
                i * max_len + step
            } else {
                step * n + i
            });
        }
    }
    let out = tape.scatter_rows(all, n * max_len, &idx, padding_value)?;
    Ok(tape.reshape(out, &out_shape)?)
}

/// Packs a list of sequences `[L_i, *F]` (PyTorch's `pack_sequence`).
pub fn pack_sequence<B: Backend>(
    tape: &Tape<B>,
    sequences: &[Var],
    order: Order,
) -> Result<PackedSequence> {
    let enforce_sorted = order == Order::Sorted;
    let mut lengths = Vec::with_capacity(sequences.len());
    for &s in sequences {
        let shape = tape.shape(s)?;
        let Some(&len) = shape.first() else {
            return Err(mismatch(
                "sequences of shape [L, *]",
                "a scalar (shape [])".to_string(),
            ));
        };
        lengths.push(len);
    }
    sort_by_length(&lengths, enforce_sorted)?;
    let padded = pad_sequence(tape, sequences, Layout::TimeFirst, 0.0)?;
    pack_padded_sequence(tape, padded, &lengths, Layout::TimeFirst, order)
}

/// Splits a padded batch into its sequences `[len_i, *F]` (PyTorch's `unpad_sequence`).
pub fn unpad_sequence<B: Backend>(
    tape: &Tape<B>,
    padded: Var,
    lengths: &[usize],
    layout: Layout,
) -> Result<Vec<Var>> {
    let batch_first = layout == Layout::BatchFirst;
    let padded = if batch_first {
        padded
    } else {
        tape.transpose01(padded)?
    };
    let shape = tape.shape(padded)?;
    if shape.len() < 2 || shape[0] != lengths.len() {
        return Err(mismatch(
            format!("a padded batch of {} sequences", lengths.len()),
            format!("shape {shape:?}"),
        ));
    }
    let mut row_shape = shape[1..].to_vec();
    lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            if len > shape[1] {
                return Err(PackError::TooLong {
                    index: i,
                    length: len,
                    max: shape[1],
                    shape: shape.clone(),
                });
            }
            let row = tape.narrow(padded, 0, i, 1)?;
            row_shape[0] = shape[1];
            let row = tape.reshape(row, &row_shape)?;
            Ok(tape.narrow(row, 0, 0, len)?)
        })
        .collect()
}

/// Splits a packed batch into its sequences, in original batch order.
pub fn unpack_sequence<B: Backend>(tape: &Tape<B>, packed: &PackedSequence) -> Result<Vec<Var>> {
    let (padded, lengths) = pad_packed_sequence(tape, packed, Layout::BatchFirst, 0.0, None)?;
    unpad_sequence(tape, padded, &lengths, Layout::BatchFirst)
}
