//! Fused Elman RNN (tanh or relu) over a whole (packed) sequence, forward and backward.

use super::gemm::{gemm_tn, StepWeight};
use super::steps::{col_sums, Steps};
use crate::Elem;

/// Runs `h' = act(x_proj + h·W_hhᵀ + b_hh)`; returns `(output [N,H], h_n [B,H])`.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Elem>(
    relu: bool,
    hidden: usize,
    x_proj: &[T],
    w_hh: &[T],
    b_hh: Option<&[T]>,
    h0: &[T],
    steps: &Steps<'_>,
) -> (Vec<T>, Vec<T>) {
    let h = hidden;
    let mut output = x_proj.to_vec();
    let mut h_state = h0.to_vec();
    let w = StepWeight::forward(w_hh, h, h);
    for t in steps.order() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        let out = &mut output[off * h..(off + bs) * h];
        w.apply(bs, &h_state[..bs * h], true, out);
        for row in out.chunks_exact_mut(h) {
            if let Some(b) = b_hh {
                for (v, &bv) in row.iter_mut().zip(b) {
                    *v += bv;
                }
            }
            for v in row.iter_mut() {
                *v = if relu {
                    v.max(T::zero())
                } else {
                    T::tanh_act(*v)
                };
            }
        }
        h_state[..bs * h].copy_from_slice(out);
    }
    (output, h_state)
}

/// Backward through time; returns `(x_proj [N,H], w_hh [H,H], b_hh [H], h0 [B,H])`.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Elem>(
    relu: bool,
    hidden: usize,
    w_hh: &[T],
    h0: &[T],
    output: &[T],
    steps: &Steps<'_>,
    grad_output: Option<&[T]>,
    grad_h_n: Option<&[T]>,
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<T>) {
    let h = hidden;
    let (n, b) = (steps.rows(), steps.batch());
    let one = T::one();
    let mut dpre = vec![T::zero(); n * h];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let w = StepWeight::backward(w_hh, h, h);
    for t in steps.order().rev() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        let rows = off * h..(off + bs) * h;
        let go = grad_output.map(|g| &g[rows.clone()]);
        for (i, ((d, &y), dh)) in dpre[rows.clone()]
            .iter_mut()
            .zip(&output[rows.clone()])
            .zip(&dh[..bs * h])
            .enumerate()
        {
            let g = *dh + go.map_or(T::zero(), |g| g[i]);
            *d = if relu {
                if y > T::zero() {
                    g
                } else {
                    T::zero()
                }
            } else {
                g * (one - y * y)
            };
        }
        w.apply(bs, &dpre[rows], false, &mut dh[..bs * h]);
    }
    let h_prev = steps.gather_prev(h0, output, h);
    let mut dw_hh = vec![T::zero(); h * h];
    gemm_tn(h, h, n, &dpre, &h_prev, T::zero(), &mut dw_hh);
    let db = col_sums(&dpre, h);
    (dpre, dw_hh, db, dh)
}
