//! Elementwise maps, reductions, layout copies and row gathers (softmax and the losses are
//! in `softmax.rs`).

use rayon::prelude::*;
use recur_tensor::{BinaryOp, UnaryOp};

use crate::Elem;

/// Below this many elements an elementwise kernel runs on one thread (measured: rayon's
/// fork/join costs a few microseconds, more than a 64k-element map).
pub const PAR_MIN: usize = 1 << 16;

/// `op(x)` elementwise into `out` (the formula of the op's definition).
pub fn unary<T: Elem>(op: UnaryOp, x: &[T], out: &mut [T]) {
    unary_map(x, out, |v| op.forward(v));
}

/// `f(x)` elementwise into `out` (split over threads when large).
pub fn unary_map<T: Elem>(x: &[T], out: &mut [T], f: impl Fn(T) -> T + Sync) {
    if x.len() >= PAR_MIN {
        out.par_iter_mut()
            .zip(x.par_iter())
            .for_each(|(o, &v)| *o = f(v));
    } else {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
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
    let add = |rows: &mut [T]| {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    };
    if x.len() >= BIAS_PAR_MIN && !bias.is_empty() {
        let per = rows_per_task(x.len() / bias.len(), bias.len()) * bias.len();
        x.par_chunks_mut(per).for_each(add);
    } else {
        add(x);
    }
}

/// Elements from which bias rows are added on several threads: one add per element is too
/// little work to pay for waking a thread below a few MB.
const BIAS_PAR_MIN: usize = 1 << 20;

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
    // each output column adds its rows in order, so splitting the columns over threads
    // gives the same sums
    let columns = |dst: &mut [T], block: &[T], col0: usize| {
        dst.fill(T::zero());
        for src in block.chunks_exact(inner) {
            for (d, &s) in dst.iter_mut().zip(&src[col0..]) {
                *d += s;
            }
        }
    };
    for (dst, block) in out.chunks_exact_mut(inner).zip(x.chunks_exact(n * inner)) {
        if block.len() >= PAR_MIN && inner >= 2 * SUM_COLS {
            dst.par_chunks_mut(SUM_COLS)
                .enumerate()
                .for_each(|(i, d)| columns(d, block, i * SUM_COLS));
        } else {
            columns(dst, block, 0);
        }
    }
}

/// Columns per parallel task of [`sum_axis`] (a few KB of sums that stay in L1).
const SUM_COLS: usize = 1024;

/// `Σ x²` in f64: fixed chunks, each summed with eight running sums, the chunk sums added
/// in order (the same result on every run and thread count).
pub fn sum_squares<T: Elem>(x: &[T]) -> f64 {
    const CHUNK: usize = 1 << 15;
    let chunk = |c: &[T]| {
        let mut acc = [0f64; 8];
        let mut it = c.chunks_exact(8);
        for b in &mut it {
            for k in 0..8 {
                let v = b[k].to_f64().unwrap_or(f64::NAN);
                acc[k] += v * v;
            }
        }
        let tail: f64 = it
            .remainder()
            .iter()
            .map(|v| v.to_f64().unwrap_or(f64::NAN).powi(2))
            .sum();
        acc.iter().sum::<f64>() + tail
    };
    if x.len() >= PAR_MIN {
        let parts: Vec<f64> = x.par_chunks(CHUNK).map(chunk).collect();
        parts.iter().sum()
    } else {
        x.chunks(CHUNK).map(chunk).sum()
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

/// Rows per parallel task of the row-wise kernels: at least `PAR_MIN` elements.
pub(super) fn rows_per_task(rows: usize, cols: usize) -> usize {
    (PAR_MIN / cols.max(1))
        .max(1)
        .max(rows.div_ceil(rayon::current_num_threads().max(1) * 4))
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

/// Appends `src[idx[i], :]` for each `i` to `out`.
pub fn gather_rows<T: Elem>(src: &[T], cols: usize, idx: &[usize], out: &mut Vec<T>) {
    for &i in idx {
        out.extend_from_slice(&src[i * cols..(i + 1) * cols]);
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
