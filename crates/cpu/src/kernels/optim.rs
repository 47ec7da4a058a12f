//! Fused optimizer updates: Adam (dense and per-row catch-up) and SGD, with PyTorch's
//! exact operation order (`torch.optim.Adam` / `SGD`, single-tensor path).

use rayon::prelude::*;
use recur_tensor::{AdamHyper, SgdHyper};

use crate::Elem;

/// Per-step scalars of Adam, computed in f64 as PyTorch computes them in Python floats.
#[derive(Clone, Copy)]
struct AdamScalars<T> {
    one_minus_b1: T,
    b2: T,
    one_minus_b2: T,
    step_size: T,
    bc2_sqrt: T,
    eps: T,
    wd: T,
}

fn scalars<T: Elem>(h: &AdamHyper, step: u64) -> AdamScalars<T> {
    let bc1 = 1.0 - h.beta1.powi(step as i32);
    let bc2 = 1.0 - h.beta2.powi(step as i32);
    AdamScalars {
        one_minus_b1: T::of(1.0 - h.beta1),
        b2: T::of(h.beta2),
        one_minus_b2: T::of(1.0 - h.beta2),
        step_size: T::of(h.lr / bc1),
        bc2_sqrt: T::of(bc2.sqrt()),
        eps: T::of(h.eps),
        wd: T::of(h.weight_decay),
    }
}

/// One element of Adam:
/// `g += wd·p; m = lerp(m, g, 1-β1); v = β2·v + (1-β2)·g²; p -= step_size · m / (√v / √bc2 + eps)`.
#[inline(always)]
fn adam_elem<T: Elem>(p: &mut T, g: T, m: &mut T, v: &mut T, s: &AdamScalars<T>) {
    let g = if s.wd != T::zero() { g + s.wd * *p } else { g };
    // torch.lerp with weight < 0.5: m + w·(g − m)
    *m = *m + s.one_minus_b1 * (g - *m);
    *v = *v * s.b2 + s.one_minus_b2 * g * g;
    let denom = v.sqrt() / s.bc2_sqrt + s.eps;
    *p = *p - s.step_size * (*m / denom);
}

#[inline(always)]
fn adam_slice<T: Elem>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], s: &AdamScalars<T>) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        adam_elem(&mut p[i], g[i], &mut m[i], &mut v[i], s);
    }
}

with_simd! {
    /// [`adam_slice`] in AVX-512 or AVX2 code when the CPU has it (the same operations).
    fn adam_chunk<T>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], s: &AdamScalars<T>)
        => adam_slice
}

/// Chunk size for the multi-threaded dense update (elements).
const ADAM_CHUNK: usize = 1 << 15;

/// Dense fused Adam over a whole parameter.
pub fn adam_step<T: Elem>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], h: &AdamHyper) {
    let s = scalars::<T>(h, h.step);
    if p.len() >= 4 * ADAM_CHUNK {
        p.par_chunks_mut(ADAM_CHUNK)
            .zip(g.par_chunks(ADAM_CHUNK))
            .zip(m.par_chunks_mut(ADAM_CHUNK))
            .zip(v.par_chunks_mut(ADAM_CHUNK))
            .for_each(|(((p, g), m), v)| adam_chunk(p, g, m, v, &s));
    } else {
        adam_chunk(p, g, m, v, &s);
    }
}

/// Catch-up Adam on selected rows (see `Backend::adam_rows_catch_up`): replays each row's
/// zero-gradient steps with the same operations as the dense path, then applies this step.
/// A row whose moments are still exactly zero (never touched) without weight decay is a
/// fixed point of the zero-gradient step (`m = v = 0`, `p −= lr·0/eps`), so its replay is
/// skipped: bit-identical and free. Rows are independent and run in parallel when many.
#[allow(clippy::too_many_arguments)]
pub fn adam_rows_catch_up<T: Elem>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    cols: usize,
    rows: &[usize],
    last: &mut [u64],
    h: &AdamHyper,
) {
    let now = scalars::<T>(h, h.step);
    // scalars of the steps some touched row still has to replay: `replay[i]` is step `base + 1 + i`
    let base = rows.iter().map(|&r| last[r]).min().unwrap_or(h.step);
    let replay: Vec<AdamScalars<T>> = (base + 1..h.step).map(|s| scalars::<T>(h, s)).collect();
    let decay = h.weight_decay != 0.0;
    let update = |p: &mut [T], m: &mut [T], v: &mut [T], grow: &[T], from: u64| {
        let replay = &replay[(from - base) as usize..];
        update_row(p, m, v, grow, replay, &now, decay);
    };
    if rows.len() >= 256 {
        // Split the table into disjoint row slices so rows can be updated in parallel.
        let mut work: Vec<(usize, usize, u64)> = rows
            .iter()
            .enumerate()
            .map(|(i, &r)| (r, i, last[r]))
            .collect();
        work.sort_unstable();
        let mut tasks = Vec::with_capacity(work.len());
        let (mut p_rest, mut m_rest, mut v_rest) = (&mut p[..], &mut m[..], &mut v[..]);
        let mut at = 0;
        for &(r, i, from) in &work {
            let skip = (r - at) * cols;
            let (_, pr) = std::mem::take(&mut p_rest).split_at_mut(skip);
            let (_, mr) = std::mem::take(&mut m_rest).split_at_mut(skip);
            let (_, vr) = std::mem::take(&mut v_rest).split_at_mut(skip);
            let (prow, pr) = pr.split_at_mut(cols);
            let (mrow, mr) = mr.split_at_mut(cols);
            let (vrow, vr) = vr.split_at_mut(cols);
            tasks.push((prow, mrow, vrow, &g[i * cols..(i + 1) * cols], from));
            (p_rest, m_rest, v_rest) = (pr, mr, vr);
            at = r + 1;
        }
        tasks
            .into_par_iter()
            .for_each(|(p, m, v, grow, from)| update(p, m, v, grow, from));
    } else {
        for (i, &r) in rows.iter().enumerate() {
            let range = r * cols..(r + 1) * cols;
            update(
                &mut p[range.clone()],
                &mut m[range.clone()],
                &mut v[range],
                &g[i * cols..(i + 1) * cols],
                last[r],
            );
        }
    }
    for &r in rows {
        last[r] = h.step;
    }
}

with_simd! {
    /// One row of catch-up Adam: its zero-gradient steps `replay` (skipped for a row whose
    /// moments are still zero and without weight `decay`: a fixed point), then the step
    /// `now` with its gradient `grow` (AVX-512 or AVX2 code when the CPU has it: the same
    /// operations, so the same bits).
    fn update_row<T>(
        p: &mut [T],
        m: &mut [T],
        v: &mut [T],
        grow: &[T],
        replay: &[AdamScalars<T>],
        now: &AdamScalars<T>,
        decay: bool,
    ) => update_row_impl
}

#[inline(always)]
fn update_row_impl<T: Elem>(
    p: &mut [T],
    m: &mut [T],
    v: &mut [T],
    grow: &[T],
    replay: &[AdamScalars<T>],
    now: &AdamScalars<T>,
    decay: bool,
) {
    let fixed = !decay && m.iter().chain(v.iter()).all(|&x| x == T::zero());
    if decay {
        for s in replay {
            adam_slice_zero(p, m, v, s);
        }
    } else if !fixed {
        replay_settling(p, m, v, replay);
    }
    adam_slice(p, grow, m, v, now);
}

/// Steps between two checks of whether a replayed row has settled.
const SETTLE_CHECK: usize = 16;

/// A row's zero-gradient steps without weight decay, exact but skipping the work that can
/// no longer change a value. Over a long gap `m` decays by `β1` a step into subnormal
/// numbers, where every operation is an order of magnitude slower, and then stops moving
/// (`m + (1−β1)·(0 − m)` rounds back to `m`). So: full steps until no remaining step can
/// move `p` (each update is at most `2·step_size·|m|/eps`, below a quarter of `p`'s ulp);
/// then `m` and `v` alone until `m` stops moving; then `v` alone. Each skipped operation
/// would have returned its input unchanged, so the result is the dense replay's, bit for
/// bit.
#[inline(always)]
fn replay_settling<T: Elem>(p: &mut [T], m: &mut [T], v: &mut [T], replay: &[AdamScalars<T>]) {
    let mut k = 0;
    while k < replay.len() {
        let end = (k + SETTLE_CHECK).min(replay.len());
        for s in &replay[k..end] {
            adam_slice_zero(p, m, v, s);
        }
        k = end;
        if k < replay.len() && p_settled(p, m, &replay[k..]) {
            break;
        }
    }
    while k < replay.len() {
        let end = (k + SETTLE_CHECK).min(replay.len());
        for s in &replay[k..end] {
            decay_moments(m, v, s);
        }
        k = end;
        if m_settled(m, &replay[0]) {
            break;
        }
    }
    let zero = T::zero();
    for s in &replay[k..] {
        for x in v.iter_mut() {
            *x = *x * s.b2 + s.one_minus_b2 * zero * zero;
        }
    }
}

/// The moments' part of a zero-gradient step without weight decay ([`adam_elem`]'s
/// operations for `m` and `v`, in its order).
#[inline(always)]
fn decay_moments<T: Elem>(m: &mut [T], v: &mut [T], s: &AdamScalars<T>) {
    let n = m.len();
    let (v, g) = (&mut v[..n], T::zero());
    for i in 0..n {
        m[i] = m[i] + s.one_minus_b1 * (g - m[i]);
        v[i] = v[i] * s.b2 + s.one_minus_b2 * g * g;
    }
}

/// Whether none of the steps `rest` can move `p` any more: for each element, `m` is 0, or
/// `p` is normal and twice the largest update `step_size·|m|/eps` is below an eighth of
/// `p`'s relative precision (a quarter of its ulp, with room for rounding).
fn p_settled<T: Elem>(p: &[T], m: &[T], rest: &[AdamScalars<T>]) -> bool {
    let eps = rest[0].eps.to_f64().unwrap_or(0.0);
    if eps <= 0.0 {
        return false;
    }
    let step_max = rest
        .iter()
        .map(|s| s.step_size.to_f64().unwrap_or(f64::INFINITY).abs())
        .fold(0.0, f64::max);
    let precision = T::epsilon().to_f64().unwrap_or(1.0) / 8.0;
    let min_normal = T::min_positive_value().to_f64().unwrap_or(f64::INFINITY);
    p.iter().zip(m).all(|(&p, &m)| {
        let (p, m) = (
            p.to_f64().unwrap_or(0.0).abs(),
            m.to_f64().unwrap_or(1.0).abs(),
        );
        m == 0.0 || (p >= min_normal && 2.0 * step_max * m / eps < p * precision)
    })
}

/// Whether a zero-gradient step leaves every `m` as it is (`β1` is the same every step).
fn m_settled<T: Elem>(m: &[T], s: &AdamScalars<T>) -> bool {
    let g = T::zero();
    m.iter().all(|&x| {
        let y = x + s.one_minus_b1 * (g - x);
        // the same value and the same sign (a -0 becomes +0)
        y == x && y.is_sign_negative() == x.is_sign_negative()
    })
}

/// One zero-gradient Adam step over a row (the dense update with `g = 0`).
#[inline(always)]
fn adam_slice_zero<T: Elem>(p: &mut [T], m: &mut [T], v: &mut [T], s: &AdamScalars<T>) {
    let n = p.len();
    let (m, v) = (&mut m[..n], &mut v[..n]);
    for i in 0..n {
        adam_elem(&mut p[i], T::zero(), &mut m[i], &mut v[i], s);
    }
}

/// PyTorch `SparseAdam` on the given rows (lazy: untouched rows and moments stay).
#[allow(clippy::too_many_arguments)]
pub fn sparse_adam_rows<T: Elem>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    cols: usize,
    rows: &[usize],
    h: &AdamHyper,
) {
    let bc1 = 1.0 - h.beta1.powi(h.step as i32);
    let bc2 = 1.0 - h.beta2.powi(h.step as i32);
    let step_size = T::of(h.lr * bc2.sqrt() / bc1);
    let (c1, c2, eps) = (T::of(1.0 - h.beta1), T::of(1.0 - h.beta2), T::of(h.eps));
    for (i, &r) in rows.iter().enumerate() {
        for j in 0..cols {
            let (k, gv) = (r * cols + j, g[i * cols + j]);
            m[k] += (gv - m[k]) * c1;
            v[k] += (gv * gv - v[k]) * c2;
            p[k] += -step_size * (m[k] / (v[k].sqrt() + eps));
        }
    }
}

/// SGD, PyTorch semantics: `d = g + wd·p`; momentum `buf = d` (first) or
/// `buf = μ·buf + (1−dampening)·d`; nesterov `d += μ·buf` else `d = buf`; `p −= lr·d`.
pub fn sgd_step<T: Elem>(p: &mut [T], g: &[T], mut buf: Option<&mut [T]>, hyper: &SgdHyper) {
    let (lr, mu, damp, wd) = (
        T::of(hyper.lr),
        T::of(hyper.momentum),
        T::of(1.0 - hyper.dampening),
        T::of(hyper.weight_decay),
    );
    let (first, nesterov) = (hyper.first, hyper.nesterov);
    for i in 0..p.len() {
        let mut d = g[i];
        if wd != T::zero() {
            d += wd * p[i];
        }
        if let Some(buf) = buf.as_deref_mut() {
            buf[i] = if first { d } else { mu * buf[i] + damp * d };
            d = if nesterov { d + mu * buf[i] } else { buf[i] };
        }
        p[i] = p[i] - lr * d;
    }
}
