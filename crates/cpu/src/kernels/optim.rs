//! Fused optimizer updates: Adam (dense and per-row catch-up) and SGD, with PyTorch's
//! exact operation order (`torch.optim.Adam` / `SGD`, single-tensor path).

use rayon::prelude::*;
use recur_tensor::AdamHyper;

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

fn adam_slice<T: Elem>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], s: &AdamScalars<T>) {
    for i in 0..p.len() {
        adam_elem(&mut p[i], g[i], &mut m[i], &mut v[i], s);
    }
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
            .for_each(|(((p, g), m), v)| adam_slice(p, g, m, v, &s));
    } else {
        adam_slice(p, g, m, v, &s);
    }
}

/// Catch-up Adam on selected rows (see `Backend::adam_rows_catch_up`): replays each row's
/// zero-gradient steps with the same operations as the dense path, then applies this step.
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
    for (i, &r) in rows.iter().enumerate() {
        let range = r * cols..(r + 1) * cols;
        let (p, m, v) = (&mut p[range.clone()], &mut m[range.clone()], &mut v[range]);
        for step in last[r] + 1..h.step {
            let s = scalars::<T>(h, step);
            for j in 0..cols {
                adam_elem(&mut p[j], T::zero(), &mut m[j], &mut v[j], &s);
            }
        }
        let grow = &g[i * cols..(i + 1) * cols];
        for j in 0..cols {
            adam_elem(&mut p[j], grow[j], &mut m[j], &mut v[j], &now);
        }
        last[r] = h.step;
    }
}

/// SGD, PyTorch semantics: `d = g + wd·p`; momentum `buf = d` (first) or
/// `buf = μ·buf + (1−dampening)·d`; nesterov `d += μ·buf` else `d = buf`; `p −= lr·d`.
#[allow(clippy::too_many_arguments)]
pub fn sgd_step<T: Elem>(
    p: &mut [T],
    g: &[T],
    mut buf: Option<&mut [T]>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    first: bool,
) {
    let (lr, mu, damp, wd) = (
        T::of(lr),
        T::of(momentum),
        T::of(1.0 - dampening),
        T::of(weight_decay),
    );
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
