//! Elementwise maps, reductions, softmax/loss, layout copies and row gathers.

use rayon::prelude::*;
use recur_tensor::{BinaryOp, UnaryOp};

use crate::Elem;

/// Below this many elements an elementwise kernel runs on one thread (measured: rayon's
/// fork/join costs a few microseconds, more than a 64k-element map).
pub const PAR_MIN: usize = 1 << 16;

/// `op(x)` elementwise into `out` (the formula of the op's definition).
pub fn unary<T: Elem>(op: UnaryOp, x: &[T], out: &mut [T]) {
    if x.len() >= PAR_MIN {
        out.par_iter_mut()
            .zip(x.par_iter())
            .for_each(|(o, &v)| *o = op.forward(v));
    } else {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = op.forward(v));
    }
}

/// Gradient of `op` from its output `y` and output gradient `g`.
pub fn unary_backward<T: Elem>(op: UnaryOp, y: &[T], g: &[T], out: &mut [T]) {
    for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
        *o = op.backward(y, g);
    }
}

/// `a op b` elementwise into `out`.
pub fn binary<T: Elem>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = op.apply(a, b);
    }
}

/// `y += alpha·x`.
pub fn axpy<T: Elem>(alpha: T, x: &[T], y: &mut [T]) {
    if y.len() >= PAR_MIN {
        y.par_iter_mut()
            .zip(x.par_iter())
            .for_each(|(y, &x)| *y += alpha * x);
    } else {
        y.iter_mut().zip(x).for_each(|(y, &x)| *y += alpha * x);
    }
}

/// `x[r, :] += bias`.
pub fn add_bias_rows<T: Elem>(x: &mut [T], bias: &[T]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Sum over the middle axis of `[outer, n, inner]` into `out [outer, inner]`.
pub fn sum_axis<T: Elem>(x: &[T], n: usize, inner: usize, out: &mut [T]) {
    if n == 0 || inner == 0 {
        out.fill(T::zero());
        return;
    }
    if inner == 1 {
        for (o, row) in out.iter_mut().zip(x.chunks_exact(n.max(1))) {
            *o = row.iter().copied().sum();
        }
        return;
    }
    for (dst, block) in out.chunks_exact_mut(inner).zip(x.chunks_exact(n * inner)) {
        dst.fill(T::zero());
        for src in block.chunks_exact(inner) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s;
            }
        }
    }
}

/// Repeats `[outer, inner]` along a new middle axis of size `n`.
pub fn broadcast_axis<T: Elem>(x: &[T], outer: usize, n: usize, inner: usize, out: &mut [T]) {
    for o in 0..outer {
        let src = &x[o * inner..(o + 1) * inner];
        for i in 0..n {
            out[(o * n + i) * inner..(o * n + i + 1) * inner].copy_from_slice(src);
        }
    }
}

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

/// Row-wise log-softmax of `[rows, cols]` into `out` (its rows double as scratch for the
/// exponentials).
#[inline(always)]
fn log_softmax_body<T: Elem>(x: &[T], cols: usize, out: &mut [T]) {
    for (row, dst) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
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

/// Rows per parallel task of the row-wise kernels: at least `PAR_MIN` elements.
fn rows_per_task(rows: usize, cols: usize) -> usize {
    (PAR_MIN / cols.max(1))
        .max(1)
        .max(rows.div_ceil(rayon::current_num_threads().max(1) * 4))
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
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
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

/// Block copy between `[outer, src_dim, inner]` and `[outer, dst_dim, inner]` views.
#[allow(clippy::too_many_arguments)]
pub fn copy_block<T: Elem>(
    src: &[T],
    outer: usize,
    inner: usize,
    src_dim: usize,
    src_start: usize,
    dst: &mut [T],
    dst_dim: usize,
    dst_start: usize,
    len: usize,
) {
    let width = len * inner;
    for o in 0..outer {
        let s = (o * src_dim + src_start) * inner;
        let d = (o * dst_dim + dst_start) * inner;
        dst[d..d + width].copy_from_slice(&src[s..s + width]);
    }
}

/// `[d0, d1, inner] → [d1, d0, inner]`.
pub fn transpose01<T: Elem>(x: &[T], d0: usize, d1: usize, inner: usize, out: &mut [T]) {
    for i in 0..d0 {
        for j in 0..d1 {
            let s = (i * d1 + j) * inner;
            let d = (j * d0 + i) * inner;
            out[d..d + inner].copy_from_slice(&x[s..s + inner]);
        }
    }
}

/// `out[i, :] = src[idx[i], :]`.
pub fn gather_rows<T: Elem>(src: &[T], cols: usize, idx: &[usize], out: &mut [T]) {
    for (dst, &i) in out.chunks_exact_mut(cols).zip(idx) {
        dst.copy_from_slice(&src[i * cols..(i + 1) * cols]);
    }
}

/// `dst[idx[i], :] += src[i, :]`, or `= src[i, :]` when `!accumulate`.
pub fn scatter_rows<T: Elem>(
    dst: &mut [T],
    cols: usize,
    idx: &[usize],
    src: &[T],
    accumulate: bool,
) {
    for (row, &i) in src.chunks_exact(cols).zip(idx) {
        let d = &mut dst[i * cols..(i + 1) * cols];
        if accumulate {
            for (d, &s) in d.iter_mut().zip(row) {
                *d += s;
            }
        } else {
            d.copy_from_slice(row);
        }
    }
}
