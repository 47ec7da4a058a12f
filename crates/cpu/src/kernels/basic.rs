//! Elementwise maps, reductions, softmax/loss, layout copies and row gathers.

use rayon::prelude::*;
use recur_tensor::{BinaryOp, UnaryOp};

use crate::Elem;

/// Below this many elements an elementwise kernel runs on one thread (measured: rayon's
/// fork/join costs a few microseconds, more than a 64k-element map).
pub const PAR_MIN: usize = 1 << 16;

/// `op(x)` elementwise into `out`.
pub fn unary<T: Elem>(op: UnaryOp, x: &[T], out: &mut [T]) {
    let f = |o: &mut T, &v: &T| {
        *o = match op {
            UnaryOp::Sigmoid => T::sigmoid(v),
            UnaryOp::Tanh => T::tanh_act(v),
            UnaryOp::Relu => {
                if v > T::zero() {
                    v
                } else {
                    T::zero()
                }
            }
        }
    };
    if x.len() >= PAR_MIN {
        out.par_iter_mut()
            .zip(x.par_iter())
            .for_each(|(o, v)| f(o, v));
    } else {
        out.iter_mut().zip(x).for_each(|(o, v)| f(o, v));
    }
}

/// Gradient of `op` from its output `y` and output gradient `g`.
pub fn unary_backward<T: Elem>(op: UnaryOp, y: &[T], g: &[T], out: &mut [T]) {
    let one = T::one();
    for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
        *o = match op {
            UnaryOp::Sigmoid => g * y * (one - y),
            UnaryOp::Tanh => g * (one - y * y),
            UnaryOp::Relu => {
                if y > T::zero() {
                    g
                } else {
                    T::zero()
                }
            }
        };
    }
}

/// `a op b` elementwise into `out`.
pub fn binary<T: Elem>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
        };
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

/// Row-wise log-softmax with the max subtracted for stability.
pub fn log_softmax<T: Elem>(x: &[T], cols: usize, out: &mut [T]) {
    for (row, dst) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        let sum: T = row.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        for (d, &v) in dst.iter_mut().zip(row) {
            *d = v - lse;
        }
    }
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

/// `scale·(exp(log_probs) − onehot(labels))`.
pub fn cross_entropy_backward<T: Elem>(
    log_probs: &[T],
    cols: usize,
    labels: &[usize],
    scale: T,
    out: &mut [T],
) {
    for (r, (row, dst)) in log_probs
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(cols))
        .enumerate()
    {
        for (c, (d, &lp)) in dst.iter_mut().zip(row).enumerate() {
            let onehot = if c == labels[r] { T::one() } else { T::zero() };
            *d = scale * (lp.exp() - onehot);
        }
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
