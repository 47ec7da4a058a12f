//! Fused Elman RNN (tanh or relu) over a whole (packed) sequence, forward and backward.
//! Large batches run as two halves of the rows on two threads (see [`Steps::split_for`]).

use super::gemm::{gemm_tn, StepWeight};
use super::steps::{col_sums, run_halves, OutGrads, SeqBackward, Steps};
use crate::Elem;

/// Forward inputs as slices (shapes as in `recur_tensor::SeqInputs`, `G = 1`).
pub struct RnnIn<'a, T> {
    /// relu instead of tanh.
    pub relu: bool,
    /// Hidden size H.
    pub hidden: usize,
    /// `[N, H]`.
    pub x_proj: &'a [T],
    /// `[H, H]`.
    pub w_hh: &'a [T],
    /// `[H]`.
    pub b_hh: Option<&'a [T]>,
    /// `[B, H]`.
    pub h0: &'a [T],
}

/// What the forward pass gives: the states (its only saved buffer) and the last ones.
pub struct RnnFwd<T> {
    /// Hidden states `[N, H]`.
    pub output: Vec<T>,
    /// Last hidden state of each row `[B, H]`.
    pub h_n: Vec<T>,
}

/// What backward reads from the forward pass.
pub struct RnnSavedRef<'a, T> {
    /// relu instead of tanh.
    pub relu: bool,
    /// Hidden size H.
    pub hidden: usize,
    /// `[H, H]`.
    pub w_hh: &'a [T],
    /// `[B, H]`.
    pub h0: &'a [T],
    /// Hidden states `[N, H]`.
    pub output: &'a [T],
}

/// Runs `h' = act(x_proj + h·W_hhᵀ + b_hh)` over all steps of `steps`.
pub fn forward<T: Elem>(x: &RnnIn<'_, T>, steps: &Steps<'_>) -> RnnFwd<T> {
    let RnnIn {
        relu,
        hidden,
        x_proj,
        w_hh,
        b_hh,
        h0,
    } = *x;
    let h = hidden;
    let mut output = x_proj.to_vec();
    let mut h_n = h0.to_vec();
    let split = steps.split_for(h * h);
    let two = split < steps.batch();
    let w = StepWeight::forward(w_hh, h, h).serial(two);
    {
        let (o_lo, o_hi) = steps.split_rows(&mut output, h, split);
        let (h_lo, h_hi) = h_n.split_at_mut(split * h);
        run_halves(two, (o_lo, h_lo), (o_hi, h_hi), |(mut out, h_state)| {
            for t in steps.order() {
                let out = &mut *out[t];
                let bs = out.len() / h.max(1);
                if bs == 0 {
                    continue;
                }
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
        });
    }
    RnnFwd { output, h_n }
}

/// Backward through time from `grads`; returns `(x_proj [N,H], w_hh [H,H], b_hh [H],
/// h0 [B,H])`.
pub fn backward<T: Elem>(
    s: &RnnSavedRef<'_, T>,
    grads: &OutGrads<'_, T>,
    steps: &Steps<'_>,
) -> SeqBackward<T> {
    let RnnSavedRef {
        relu,
        hidden,
        w_hh,
        h0,
        output,
    } = *s;
    let (grad_output, grad_h_n) = (grads.output, grads.h_n);
    let h = hidden;
    let (n, b) = (steps.rows(), steps.batch());
    let one = T::one();
    let mut dpre = vec![T::zero(); n * h];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let split = steps.split_for(h * h);
    let two = split < b;
    let w = StepWeight::backward(w_hh, h, h).serial(two);
    {
        let (p_lo, p_hi) = steps.split_rows(&mut dpre, h, split);
        let (h_lo, h_hi) = dh.split_at_mut(split * h);
        let parts = ((0, p_lo, h_lo), (split, p_hi, h_hi));
        run_halves(two, parts.0, parts.1, |(lo, mut dpre, dh)| {
            for t in steps.order().rev() {
                let dpre = &mut *dpre[t];
                let bs = dpre.len() / h.max(1);
                if bs == 0 {
                    continue;
                }
                let rows = (steps.offsets[t] + lo) * h..(steps.offsets[t] + lo + bs) * h;
                let go = grad_output.map(|g| &g[rows.clone()]);
                for (i, ((d, &y), dh)) in dpre
                    .iter_mut()
                    .zip(&output[rows])
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
                w.apply(bs, dpre, false, &mut dh[..bs * h]);
            }
        });
    }
    let h_prev = steps.gather_prev(h0, output, h);
    let mut dw_hh = vec![T::zero(); h * h];
    gemm_tn(h, h, n, &dpre, &h_prev, T::zero(), &mut dw_hh);
    let db = col_sums(&dpre, h);
    SeqBackward {
        x_proj: dpre,
        w_hh: dw_hh,
        b_hh: db,
        w_hr: None,
        h0: dh,
        c0: None,
    }
}
