//! Fused GRU over a whole (packed) sequence: forward and backward through time.
//!
//! Gates r, z, n (PyTorch order); `b_hn` sits inside the reset product:
//! `n = tanh(x_n + r · (W_hn h + b_hn))`, `h' = (1 − z)·n + z·h`. The recurrent GEMM
//! `gh = h · W_hhᵀ` goes into a preallocated `[B, 3H]` scratch per step.

use super::gemm::{gemm_tn, StepWeight};
use super::steps::{col_sums, Steps};
use crate::Elem;

/// Forward inputs as slices (shapes as in `recur_tensor::SeqInputs`, `H_out = H`).
pub struct GruIn<'a, T> {
    /// Hidden size H.
    pub hidden: usize,
    /// `[N, 3H]`.
    pub x_proj: &'a [T],
    /// `[3H, H]`.
    pub w_hh: &'a [T],
    /// `[3H]`.
    pub b_hh: Option<&'a [T]>,
    /// `[B, H]`.
    pub h0: &'a [T],
}

/// Forward results: `(gates [N,3H] (r,z,n), gh_n [N,H], output [N,H], h_n [B,H])`.
pub type GruFwd<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>);

/// Runs the GRU over all steps of `steps`.
pub fn forward<T: Elem>(x: &GruIn<'_, T>, steps: &Steps<'_>) -> GruFwd<T> {
    let h = x.hidden;
    let g3 = 3 * h;
    let (n, b) = (steps.rows(), steps.batch());
    let one = T::one();
    let mut gates = x.x_proj.to_vec();
    let mut gh_n = vec![T::zero(); n * h];
    let mut output = vec![T::zero(); n * h];
    let mut h_state = x.h0.to_vec();
    let mut gh = vec![T::zero(); b * g3];
    let w_hh = StepWeight::forward(x.w_hh, g3, h);
    for t in steps.order() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        w_hh.apply(bs, &h_state[..bs * h], false, &mut gh[..bs * g3]);
        for r in 0..bs {
            let row = off + r;
            let ghr = &mut gh[r * g3..(r + 1) * g3];
            if let Some(bias) = x.b_hh {
                for (v, &bv) in ghr.iter_mut().zip(bias) {
                    *v += bv;
                }
            }
            let gr = &mut gates[row * g3..(row + 1) * g3];
            let hs = &mut h_state[r * h..(r + 1) * h];
            for j in 0..h {
                let rg = T::sigmoid(gr[j] + ghr[j]);
                let z = T::sigmoid(gr[h + j] + ghr[h + j]);
                let nn = T::tanh_act(gr[2 * h + j] + rg * ghr[2 * h + j]);
                gr[j] = rg;
                gr[h + j] = z;
                gr[2 * h + j] = nn;
                gh_n[row * h + j] = ghr[2 * h + j];
                let hn = (one - z) * nn + z * hs[j];
                hs[j] = hn;
                output[row * h + j] = hn;
            }
        }
    }
    (gates, gh_n, output, h_state)
}

/// Gradients: `(x_proj [N,3H], w_hh [3H,H], b_hh [3H], h0 [B,H])`.
pub type GruBwd<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>);

/// Backward through time. `gates`, `gh_n`, `output` are the forward's saved buffers.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Elem>(
    hidden: usize,
    w_hh: &[T],
    h0: &[T],
    gates: &[T],
    gh_n: &[T],
    output: &[T],
    steps: &Steps<'_>,
    grad_output: Option<&[T]>,
    grad_h_n: Option<&[T]>,
) -> GruBwd<T> {
    let h = hidden;
    let g3 = 3 * h;
    let (n, b) = (steps.rows(), steps.batch());
    let one = T::one();
    let mut dx = vec![T::zero(); n * g3];
    let mut dgh = vec![T::zero(); n * g3];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let w = StepWeight::backward(w_hh, g3, h);
    for t in steps.order().rev() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        if let Some(go) = grad_output {
            for (d, &g) in dh[..bs * h].iter_mut().zip(&go[off * h..(off + bs) * h]) {
                *d += g;
            }
        }
        for r in 0..bs {
            let row = off + r;
            let gr = &gates[row * g3..(row + 1) * g3];
            let h_prev = match steps.prev_row(t, r) {
                Some(pr) => &output[pr * h..(pr + 1) * h],
                None => &h0[r * h..(r + 1) * h],
            };
            let dxr = &mut dx[row * g3..(row + 1) * g3];
            let dghr = &mut dgh[row * g3..(row + 1) * g3];
            let dhr = &mut dh[r * h..(r + 1) * h];
            for j in 0..h {
                let (rg, z, nn) = (gr[j], gr[h + j], gr[2 * h + j]);
                let d = dhr[j];
                let dn_pre = d * (one - z) * (one - nn * nn);
                let dz_pre = d * (h_prev[j] - nn) * z * (one - z);
                let dr_pre = dn_pre * gh_n[row * h + j] * rg * (one - rg);
                dxr[j] = dr_pre;
                dxr[h + j] = dz_pre;
                dxr[2 * h + j] = dn_pre;
                dghr[j] = dr_pre;
                dghr[h + j] = dz_pre;
                dghr[2 * h + j] = dn_pre * rg;
                dhr[j] = d * z;
            }
        }
        w.apply(bs, &dgh[off * g3..(off + bs) * g3], true, &mut dh[..bs * h]);
    }
    let h_prev = steps.gather_prev(h0, output, h);
    let mut dw_hh = vec![T::zero(); g3 * h];
    gemm_tn(g3, h, n, &dgh, &h_prev, T::zero(), &mut dw_hh);
    let db = col_sums(&dgh, g3);
    (dx, dw_hh, db, dh)
}
