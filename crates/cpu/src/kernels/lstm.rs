//! Fused LSTM over a whole (packed) sequence: forward and backward through time.
//!
//! Per step: one recurrent GEMM `gates[rows] += h · W_hhᵀ` into the saved gate buffer, one
//! fused pass (bias, activations, cell update), and with projection one GEMM `h = hp · W_hrᵀ`.
//! Nothing is allocated inside the step loop. Weight gradients are single GEMMs over all
//! packed rows after the loop.

use super::gemm::{gemm_nn, gemm_nt, gemm_tn};
use super::steps::{col_sums, Steps};
use crate::elem::sigmoid;
use crate::Elem;

/// Forward inputs as slices (shapes as in `recur_tensor::SeqInputs`).
pub struct LstmIn<'a, T> {
    /// Hidden size H.
    pub hidden: usize,
    /// Output size H_out (P with projection, else H).
    pub out: usize,
    /// `[N, 4H]`.
    pub x_proj: &'a [T],
    /// `[4H, H_out]`.
    pub w_hh: &'a [T],
    /// `[4H]`.
    pub b_hh: Option<&'a [T]>,
    /// `[P, H]`.
    pub w_hr: Option<&'a [T]>,
    /// `[B, H_out]`.
    pub h0: &'a [T],
    /// `[B, H]`.
    pub c0: &'a [T],
}

/// Forward results: `(gates [N,4H], cells [N,H], hidden_pre [N,H] if projecting,
/// output [N,H_out], h_n [B,H_out], c_n [B,H])`.
pub type LstmFwd<T> = (Vec<T>, Vec<T>, Option<Vec<T>>, Vec<T>, Vec<T>, Vec<T>);

/// Runs the LSTM over all steps of `steps`.
pub fn forward<T: Elem>(x: &LstmIn<'_, T>, steps: &Steps<'_>) -> LstmFwd<T> {
    let (h, p) = (x.hidden, x.out);
    let g4 = 4 * h;
    let n = steps.rows();
    let mut gates = x.x_proj.to_vec();
    let mut cells = vec![T::zero(); n * h];
    let mut hidden_pre = x.w_hr.map(|_| vec![T::zero(); n * h]);
    let mut output = vec![T::zero(); n * p];
    let mut h_state = x.h0.to_vec();
    let mut c_state = x.c0.to_vec();
    for t in steps.order() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        let g = &mut gates[off * g4..(off + bs) * g4];
        gemm_nt(bs, g4, p, &h_state[..bs * p], x.w_hh, T::one(), g);
        for r in 0..bs {
            let gr = &mut g[r * g4..(r + 1) * g4];
            if let Some(b) = x.b_hh {
                for (v, &b) in gr.iter_mut().zip(b) {
                    *v += b;
                }
            }
            let cs = &mut c_state[r * h..(r + 1) * h];
            let cell = &mut cells[(off + r) * h..(off + r + 1) * h];
            let hp_row = match hidden_pre.as_mut() {
                Some(hp) => &mut hp[(off + r) * h..(off + r + 1) * h],
                None => &mut output[(off + r) * p..(off + r + 1) * p],
            };
            for j in 0..h {
                let i = sigmoid(gr[j]);
                let f = sigmoid(gr[h + j]);
                let gg = gr[2 * h + j].tanh();
                let o = sigmoid(gr[3 * h + j]);
                gr[j] = i;
                gr[h + j] = f;
                gr[2 * h + j] = gg;
                gr[3 * h + j] = o;
                let c = f * cs[j] + i * gg;
                cs[j] = c;
                cell[j] = c;
                hp_row[j] = o * c.tanh();
            }
        }
        if let (Some(w_hr), Some(hp)) = (x.w_hr, hidden_pre.as_ref()) {
            gemm_nt(
                bs,
                p,
                h,
                &hp[off * h..(off + bs) * h],
                w_hr,
                T::zero(),
                &mut output[off * p..(off + bs) * p],
            );
        }
        h_state[..bs * p].copy_from_slice(&output[off * p..(off + bs) * p]);
    }
    (gates, cells, hidden_pre, output, h_state, c_state)
}

/// What backward needs from the forward pass (slices of the saved buffers).
pub struct LstmSavedRef<'a, T> {
    /// Hidden size H.
    pub hidden: usize,
    /// Output size H_out.
    pub out: usize,
    /// `[4H, H_out]`.
    pub w_hh: &'a [T],
    /// `[P, H]`.
    pub w_hr: Option<&'a [T]>,
    /// `[B, H_out]`.
    pub h0: &'a [T],
    /// `[B, H]`.
    pub c0: &'a [T],
    /// `[N, 4H]` activated gates.
    pub gates: &'a [T],
    /// `[N, H]`.
    pub cells: &'a [T],
    /// `[N, H]` with projection.
    pub hidden_pre: Option<&'a [T]>,
    /// `[N, H_out]`.
    pub output: &'a [T],
}

/// Gradients: `(x_proj [N,4H], w_hh [4H,H_out], b_hh [4H], w_hr [P,H]?, h0 [B,H_out], c0 [B,H])`.
pub type LstmBwd<T> = (Vec<T>, Vec<T>, Vec<T>, Option<Vec<T>>, Vec<T>, Vec<T>);

/// Backward through time. Missing output gradients are zeros.
pub fn backward<T: Elem>(
    s: &LstmSavedRef<'_, T>,
    steps: &Steps<'_>,
    grad_output: Option<&[T]>,
    grad_h_n: Option<&[T]>,
    grad_c_n: Option<&[T]>,
) -> LstmBwd<T> {
    let (h, p) = (s.hidden, s.out);
    let g4 = 4 * h;
    let (n, b) = (steps.rows(), steps.batch());
    let one = T::one();
    let mut dgates = vec![T::zero(); n * g4];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * p], <[T]>::to_vec);
    let mut dc = grad_c_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let mut dh_all = s.w_hr.map(|_| vec![T::zero(); n * p]);
    let mut dhp = vec![T::zero(); if s.w_hr.is_some() { b * h } else { 0 }];
    for t in steps.order().rev() {
        let (off, bs) = (steps.offsets[t], steps.batch_sizes[t]);
        if let Some(go) = grad_output {
            for (d, &g) in dh[..bs * p].iter_mut().zip(&go[off * p..(off + bs) * p]) {
                *d += g;
            }
        }
        let dhp_rows: &[T] = match (s.w_hr, dh_all.as_mut()) {
            (Some(w_hr), Some(all)) => {
                all[off * p..(off + bs) * p].copy_from_slice(&dh[..bs * p]);
                gemm_nn(bs, h, p, &dh[..bs * p], w_hr, T::zero(), &mut dhp[..bs * h]);
                &dhp[..bs * h]
            }
            _ => &dh[..bs * h],
        };
        for r in 0..bs {
            let row = off + r;
            let gr = &s.gates[row * g4..(row + 1) * g4];
            let dg = &mut dgates[row * g4..(row + 1) * g4];
            let c_prev = match steps.prev_row(t, r) {
                Some(pr) => &s.cells[pr * h..(pr + 1) * h],
                None => &s.c0[r * h..(r + 1) * h],
            };
            let cell = &s.cells[row * h..(row + 1) * h];
            let dcr = &mut dc[r * h..(r + 1) * h];
            let dhr = &dhp_rows[r * h..(r + 1) * h];
            for j in 0..h {
                let (i, f, g, o) = (gr[j], gr[h + j], gr[2 * h + j], gr[3 * h + j]);
                let tc = cell[j].tanh();
                let d_o = dhr[j] * tc;
                let dct = dcr[j] + dhr[j] * o * (one - tc * tc);
                dg[j] = dct * g * i * (one - i);
                dg[h + j] = dct * c_prev[j] * f * (one - f);
                dg[2 * h + j] = dct * i * (one - g * g);
                dg[3 * h + j] = d_o * o * (one - o);
                dcr[j] = dct * f;
            }
        }
        gemm_nn(
            bs,
            p,
            g4,
            &dgates[off * g4..(off + bs) * g4],
            s.w_hh,
            T::zero(),
            &mut dh[..bs * p],
        );
    }
    let h_prev = steps.gather_prev(s.h0, s.output, p);
    let mut dw_hh = vec![T::zero(); g4 * p];
    gemm_tn(g4, p, n, &dgates, &h_prev, T::zero(), &mut dw_hh);
    let db = col_sums(&dgates, g4);
    let dw_hr = match (dh_all, s.hidden_pre) {
        (Some(all), Some(hp)) => {
            let mut dw = vec![T::zero(); p * h];
            gemm_tn(p, h, n, &all, hp, T::zero(), &mut dw);
            Some(dw)
        }
        _ => None,
    };
    (dgates, dw_hh, db, dw_hr, dh, dc)
}
