//! Row-wise log-softmax and the cross-entropy loss: the fused loss with its gradient (one
//! pass that keeps no log-probabilities), the mean NLL and its backward from
//! log-probabilities. Rows split over threads when large.

use rayon::prelude::*;

use super::basic::{rows_per_task, PAR_MIN};
use crate::Elem;

/// Sum with eight running partial sums, so that it vectorizes (the order is fixed: the
/// same result on every run and thread count).
#[inline(always)]
fn sum8<T: Elem>(v: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = v.chunks_exact(8);
    let tail: T = chunks.remainder().iter().copied().sum();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

/// The largest element (NaNs ignored, as `f32::max` does; `-inf` when empty) with sixteen
/// running maxima, so that it vectorizes (a fold through `max` is one serial chain).
#[inline(always)]
fn max16<T: Elem>(v: &[T]) -> T {
    let mut acc = [T::neg_infinity(); 16];
    let chunks = v.chunks_exact(16);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(T::neg_infinity(), T::max);
    for c in chunks {
        for k in 0..16 {
            if c[k] > acc[k] {
                acc[k] = c[k];
            }
        }
    }
    acc.iter().copied().fold(tail, T::max)
}

/// Row-wise log-softmax of `[rows, cols]` into `out` (its rows double as scratch for the
/// exponentials).
#[inline(always)]
fn log_softmax_body<T: Elem>(x: &[T], cols: usize, out: &mut [T]) {
    for (row, dst) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let max = max16(row);
        for (d, &v) in dst.iter_mut().zip(row) {
            *d = T::exp_act(v - max);
        }
        let lse = max + sum8(dst).ln();
        for (d, &v) in dst.iter_mut().zip(row) {
            *d = v - lse;
        }
    }
}

with_simd! {
    fn log_softmax_rows<T>(x: &[T], cols: usize, out: &mut [T]) => log_softmax_body
}

/// Row-wise log-softmax of `x` viewed as `[rows, cols]` (rows split over threads when large).
pub fn log_softmax<T: Elem>(x: &[T], cols: usize, out: &mut [T]) {
    if x.len() >= PAR_MIN && cols > 0 {
        let per = rows_per_task(x.len() / cols, cols) * cols;
        out.par_chunks_mut(per)
            .zip(x.par_chunks(per))
            .for_each(|(o, x)| log_softmax_rows(x, cols, o));
    } else if cols > 0 {
        log_softmax_rows(x, cols, out);
    }
}

/// One row of the fused cross-entropy: `dst = scale · (softmax(row) − onehot(label))`;
/// returns `−log_softmax(row)[label]`.
#[inline(always)]
fn cross_entropy_row<T: Elem>(row: &[T], label: usize, scale: T, dst: &mut [T]) -> T {
    let max = max16(row);
    for (d, &v) in dst.iter_mut().zip(row) {
        *d = T::exp_act(v - max);
    }
    let sum = sum8(dst);
    let lse = max + sum.ln();
    let k = scale / sum;
    for d in dst.iter_mut() {
        *d *= k;
    }
    dst[label] = dst[label] - scale;
    lse - row[label]
}

#[inline(always)]
fn cross_entropy_body<T: Elem>(
    x: &[T],
    cols: usize,
    labels: &[usize],
    scale: T,
    out: &mut [T],
    losses: &mut [f64],
) {
    for (((row, dst), &label), loss) in x
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(cols))
        .zip(labels)
        .zip(losses.iter_mut())
    {
        *loss = cross_entropy_row(row, label, scale, dst)
            .to_f64()
            .unwrap_or(f64::NAN);
    }
}

with_simd! {
    fn cross_entropy_rows<T>(
        x: &[T],
        cols: usize,
        labels: &[usize],
        scale: T,
        out: &mut [T],
        losses: &mut [f64],
    ) => cross_entropy_body
}

/// Fused cross-entropy of logits `x [rows, cols]`: writes `scale · (softmax − onehot)` to
/// `out` and returns the mean of the rows' losses (accumulated in f64, in row order); rows
/// split over threads when large.
pub fn cross_entropy<T: Elem>(
    x: &[T],
    cols: usize,
    labels: &[usize],
    scale: T,
    out: &mut [T],
) -> f64 {
    if cols == 0 || labels.is_empty() {
        return f64::NAN;
    }
    let mut losses = vec![0.0f64; labels.len()];
    if x.len() >= PAR_MIN {
        let rows = rows_per_task(labels.len(), cols);
        out.par_chunks_mut(rows * cols)
            .zip(x.par_chunks(rows * cols))
            .zip(labels.par_chunks(rows))
            .zip(losses.par_chunks_mut(rows))
            .for_each(|(((o, x), l), loss)| cross_entropy_rows(x, cols, l, scale, o, loss));
    } else {
        cross_entropy_rows(x, cols, labels, scale, out, &mut losses);
    }
    losses.iter().sum::<f64>() / labels.len() as f64
}

/// Mean of `-log_probs[r, labels[r]]`, accumulated in f64.
pub fn nll_mean<T: Elem>(log_probs: &[T], cols: usize, labels: &[usize]) -> f64 {
    let total: f64 = labels
        .iter()
        .enumerate()
        .map(|(r, &l)| -log_probs[r * cols + l].to_f64().unwrap_or(f64::NAN))
        .sum();
    total / labels.len() as f64
}

#[inline(always)]
fn cross_entropy_backward_body<T: Elem>(
    log_probs: &[T],
    cols: usize,
    labels: &[usize],
    scale: T,
    out: &mut [T],
) {
    for ((row, dst), &label) in log_probs
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(cols))
        .zip(labels)
    {
        for (d, &lp) in dst.iter_mut().zip(row) {
            *d = scale * T::exp_act(lp);
        }
        dst[label] = scale * (T::exp_act(row[label]) - T::one());
    }
}

with_simd! {
    fn cross_entropy_backward_rows<T>(
        log_probs: &[T],
        cols: usize,
        labels: &[usize],
        scale: T,
        out: &mut [T],
    ) => cross_entropy_backward_body
}

/// `scale·(exp(log_probs) − onehot(labels))` (rows split over threads when large).
pub fn cross_entropy_backward<T: Elem>(
    log_probs: &[T],
    cols: usize,
    labels: &[usize],
    scale: T,
    out: &mut [T],
) {
    if cols == 0 {
        return;
    }
    if log_probs.len() >= PAR_MIN {
        let rows = rows_per_task(labels.len(), cols);
        out.par_chunks_mut(rows * cols)
            .zip(log_probs.par_chunks(rows * cols))
            .zip(labels.par_chunks(rows))
            .for_each(|((o, lp), l)| cross_entropy_backward_rows(lp, cols, l, scale, o));
    } else {
        cross_entropy_backward_rows(log_probs, cols, labels, scale, out);
    }
}
