//! Fused LSTM over a whole (packed) sequence: forward and backward through time.
//!
//! Per step: one recurrent product `gates[rows] += h · W_hhᵀ` into the saved gate buffer
//! (with `W_hhᵀ` prepared once per call), one fused pass (bias, activations, cell update),
//! and with projection one product `h = hp · W_hrᵀ`. Nothing is allocated inside the step
//! loop. Large batches run as two halves of the rows on two threads (see
//! [`Steps::split_for`]). Weight gradients are single GEMMs over all packed rows after the
//! loop. It stays one file because the backward reads the forward's gate layout and saved
//! buffers step for step (the projection included), and is checked by reading the two side
//! by side; `gru.rs` and `rnn.rs` have the same shape.

use super::gemm::{gemm_tn, StepWeight};
use super::steps::{col_sums, run_halves, OutGrads, Steps};
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

/// What the forward pass gives: the saved activations and the outputs.
pub struct LstmFwd<T> {
    /// Activated gates `[N, 4H]` (i, f, g, o).
    pub gates: Vec<T>,
    /// Cell states `[N, H]`.
    pub cells: Vec<T>,
    /// `o · tanh(c)` before the projection `[N, H]` (with a projection only).
    pub hidden_pre: Option<Vec<T>>,
    /// Hidden states `[N, H_out]`.
    pub output: Vec<T>,
    /// Last hidden state of each row `[B, H_out]`.
    pub h_n: Vec<T>,
    /// Last cell state of each row `[B, H]`.
    pub c_n: Vec<T>,
}

/// Activates one row of pre-activation gates in place and updates the cell:
/// `i,f,o = σ(·)`, `g = tanh(·)`, `c = f·c + i·g`, `hp = o·tanh(c)`.
#[inline(always)]
fn cell_forward<T: Elem>(
    gates: &mut [T],
    bias: Option<&[T]>,
    c_state: &mut [T],
    cell: &mut [T],
    hp: &mut [T],
) {
    let h = c_state.len();
    let gates = &mut gates[..4 * h];
    if let Some(b) = bias {
        let b = &b[..4 * h];
        for j in 0..4 * h {
            gates[j] += b[j];
        }
    }
    let (i_f, g_o) = gates.split_at_mut(2 * h);
    for v in i_f.iter_mut() {
        *v = T::sigmoid(*v);
    }
    let (g, o) = g_o.split_at_mut(h);
    for v in g.iter_mut() {
        *v = T::tanh_act(*v);
    }
    for v in o.iter_mut() {
        *v = T::sigmoid(*v);
    }
    let (i, f) = i_f.split_at(h);
    let (i, f, g, o) = (&i[..h], &f[..h], &g[..h], &o[..h]);
    let (cell, hp) = (&mut cell[..h], &mut hp[..h]);
    for j in 0..h {
        let c = f[j] * c_state[j] + i[j] * g[j];
        c_state[j] = c;
        cell[j] = c;
        hp[j] = o[j] * T::tanh_act(c);
    }
}

/// One half of the batch rows in the forward pass: its row blocks of each step's buffers and
/// its rows of the running state.
struct FwdPart<'b, T> {
    gates: Vec<&'b mut [T]>,
    cells: Vec<&'b mut [T]>,
    hidden_pre: Option<Vec<&'b mut [T]>>,
    output: Vec<&'b mut [T]>,
    /// `[rows, H_out]`, starts as `h0` and ends as `h_n`.
    h: &'b mut [T],
    /// `[rows, H]`, starts as `c0` and ends as `c_n`.
    c: &'b mut [T],
}

/// Runs the LSTM over all steps of `steps`. Large batches run as two halves of the rows on
/// two threads (rows of a recurrence never interact), with no per-step synchronisation.
pub fn forward<T: Elem>(x: &LstmIn<'_, T>, steps: &Steps<'_>) -> LstmFwd<T> {
    let (h, p) = (x.hidden, x.out);
    let g4 = 4 * h;
    let n = steps.rows();
    let mut gates = x.x_proj.to_vec();
    let mut cells = vec![T::zero(); n * h];
    let mut hidden_pre = x.w_hr.map(|_| vec![T::zero(); n * h]);
    let mut output = vec![T::zero(); n * p];
    let mut h_n = x.h0.to_vec();
    let mut c_n = x.c0.to_vec();
    let split = steps.split_for(g4 * p + x.w_hr.map_or(0, |_| p * h));
    let two = split < steps.batch();
    let w_hh = StepWeight::forward(x.w_hh, g4, p).serial(two);
    let w_hr = x.w_hr.map(|w| StepWeight::forward(w, p, h).serial(two));
    {
        let (g_lo, g_hi) = steps.split_rows(&mut gates, g4, split);
        let (c_lo, c_hi) = steps.split_rows(&mut cells, h, split);
        let (hp_lo, hp_hi) = match hidden_pre.as_mut() {
            Some(buf) => {
                let (lo, hi) = steps.split_rows(buf, h, split);
                (Some(lo), Some(hi))
            }
            None => (None, None),
        };
        let (o_lo, o_hi) = steps.split_rows(&mut output, p, split);
        let (h_lo, h_hi) = h_n.split_at_mut(split * p);
        let (cs_lo, cs_hi) = c_n.split_at_mut(split * h);
        let lo = FwdPart {
            gates: g_lo,
            cells: c_lo,
            hidden_pre: hp_lo,
            output: o_lo,
            h: h_lo,
            c: cs_lo,
        };
        let hi = FwdPart {
            gates: g_hi,
            cells: c_hi,
            hidden_pre: hp_hi,
            output: o_hi,
            h: h_hi,
            c: cs_hi,
        };
        run_halves(two, lo, hi, |part| {
            forward_part(x, &w_hh, w_hr.as_ref(), steps, part)
        });
    }
    LstmFwd {
        gates,
        cells,
        hidden_pre,
        output,
        h_n,
        c_n,
    }
}

with_simd! {
    /// The step loop over one part's rows (AVX-512 code when the CPU has it).
    fn forward_part<T>(
        x: &LstmIn<'_, T>,
        w_hh: &StepWeight<'_, T>,
        w_hr: Option<&StepWeight<'_, T>>,
        steps: &Steps<'_>,
        part: FwdPart<'_, T>,
    ) => forward_part_impl
}

#[inline(always)]
fn forward_part_impl<T: Elem>(
    x: &LstmIn<'_, T>,
    w_hh: &StepWeight<'_, T>,
    w_hr: Option<&StepWeight<'_, T>>,
    steps: &Steps<'_>,
    part: FwdPart<'_, T>,
) {
    let (h, p) = (x.hidden, x.out);
    let g4 = 4 * h;
    let FwdPart {
        mut gates,
        mut cells,
        mut hidden_pre,
        mut output,
        h: h_state,
        c: c_state,
    } = part;
    for t in steps.order() {
        let g = &mut *gates[t];
        let bs = g.len() / g4;
        if bs == 0 {
            continue;
        }
        w_hh.apply(bs, &h_state[..bs * p], true, g);
        let out = &mut *output[t];
        let cl = &mut *cells[t];
        let hp = match hidden_pre.as_mut() {
            Some(hp) => &mut *hp[t],
            None => &mut *out,
        };
        for (((gr, cs), cl), hp) in g
            .chunks_exact_mut(g4)
            .zip(c_state.chunks_exact_mut(h))
            .zip(cl.chunks_exact_mut(h))
            .zip(hp.chunks_exact_mut(h))
        {
            cell_forward(gr, x.b_hh, cs, cl, hp);
        }
        if let (Some(w_hr), Some(hp)) = (w_hr, hidden_pre.as_ref()) {
            w_hr.apply(bs, &hp[t][..bs * h], false, out);
        }
        h_state[..bs * p].copy_from_slice(out);
    }
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

/// Gradients of one LSTM layer and direction (`c0` present).
pub type LstmBwd<T> = super::steps::SeqBackward<T>;

/// One row of the cell's backward: from `dh` (of `o·tanh(c)`) and the carried `dc`, the
/// pre-activation gate gradients, and `dc` for the previous step:
/// `do = dh·tanh c`, `dc += dh·o·(1−tanh² c)`, `di = dc·g`, `df = dc·c_prev`, `dg = dc·i`,
/// each times its activation's derivative; `dc_prev = dc·f`.
#[inline(always)]
fn cell_backward<T: Elem>(
    gates: &[T],
    cell: &[T],
    c_prev: &[T],
    dh: &[T],
    dc: &mut [T],
    dgates: &mut [T],
) {
    let h = cell.len();
    let one = T::one();
    let (c_prev, dh, dc) = (&c_prev[..h], &dh[..h], &mut dc[..h]);
    let (gi, rest) = gates[..4 * h].split_at(h);
    let (gf, rest) = rest.split_at(h);
    let (gg, go) = rest.split_at(h);
    let (gi, gf, gg, go) = (&gi[..h], &gf[..h], &gg[..h], &go[..h]);
    let (di, rest) = dgates[..4 * h].split_at_mut(h);
    let (df, rest) = rest.split_at_mut(h);
    let (dg, d_o) = rest.split_at_mut(h);
    let (di, df, dg, d_o) = (&mut di[..h], &mut df[..h], &mut dg[..h], &mut d_o[..h]);
    for j in 0..h {
        let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
        let tc = T::tanh_act(cell[j]);
        let dct = dc[j] + dh[j] * o * (one - tc * tc);
        di[j] = dct * g * i * (one - i);
        df[j] = dct * c_prev[j] * f * (one - f);
        dg[j] = dct * i * (one - g * g);
        d_o[j] = dh[j] * tc * o * (one - o);
        dc[j] = dct * f;
    }
}

/// One half of the batch rows in the backward pass.
struct BwdPart<'b, T> {
    /// First batch row of the part.
    lo: usize,
    dgates: Vec<&'b mut [T]>,
    dh_all: Option<Vec<&'b mut [T]>>,
    /// `[rows, H_out]`: starts as the gradient of `h_n`, ends as that of `h0`.
    dh: &'b mut [T],
    /// `[rows, H]`: likewise for the cell state.
    dc: &'b mut [T],
}

/// Backward through time from `grads`, on two threads for large batches as in [`forward`].
pub fn backward<T: Elem>(
    s: &LstmSavedRef<'_, T>,
    grads: &OutGrads<'_, T>,
    steps: &Steps<'_>,
) -> LstmBwd<T> {
    let (grad_output, grad_h_n, grad_c_n) = (grads.output, grads.h_n, grads.c_n);
    let (h, p) = (s.hidden, s.out);
    let g4 = 4 * h;
    let (n, b) = (steps.rows(), steps.batch());
    let mut dgates = vec![T::zero(); n * g4];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * p], <[T]>::to_vec);
    let mut dc = grad_c_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let mut dh_all = s.w_hr.map(|_| vec![T::zero(); n * p]);
    let split = steps.split_for(g4 * p + s.w_hr.map_or(0, |_| p * h));
    let two = split < b;
    let w_hh = StepWeight::backward(s.w_hh, g4, p).serial(two);
    let w_hr = s.w_hr.map(|w| StepWeight::backward(w, p, h).serial(two));
    {
        let (dg_lo, dg_hi) = steps.split_rows(&mut dgates, g4, split);
        let (da_lo, da_hi) = match dh_all.as_mut() {
            Some(buf) => {
                let (lo, hi) = steps.split_rows(buf, p, split);
                (Some(lo), Some(hi))
            }
            None => (None, None),
        };
        let (dh_lo, dh_hi) = dh.split_at_mut(split * p);
        let (dc_lo, dc_hi) = dc.split_at_mut(split * h);
        let lo = BwdPart {
            lo: 0,
            dgates: dg_lo,
            dh_all: da_lo,
            dh: dh_lo,
            dc: dc_lo,
        };
        let hi = BwdPart {
            lo: split,
            dgates: dg_hi,
            dh_all: da_hi,
            dh: dh_hi,
            dc: dc_hi,
        };
        run_halves(two, lo, hi, |part| {
            backward_part(s, &w_hh, w_hr.as_ref(), steps, grad_output, part)
        });
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
    LstmBwd {
        x_proj: dgates,
        w_hh: dw_hh,
        b_hh: db,
        w_hr: dw_hr,
        h0: dh,
        c0: Some(dc),
    }
}

with_simd! {
    /// The step loop over one part's rows, last step first (AVX-512 code when the CPU has it).
    fn backward_part<T>(
        s: &LstmSavedRef<'_, T>,
        w_hh: &StepWeight<'_, T>,
        w_hr: Option<&StepWeight<'_, T>>,
        steps: &Steps<'_>,
        grad_output: Option<&[T]>,
        part: BwdPart<'_, T>,
    ) => backward_part_impl
}

#[inline(always)]
fn backward_part_impl<T: Elem>(
    s: &LstmSavedRef<'_, T>,
    w_hh: &StepWeight<'_, T>,
    w_hr: Option<&StepWeight<'_, T>>,
    steps: &Steps<'_>,
    grad_output: Option<&[T]>,
    part: BwdPart<'_, T>,
) {
    let (h, p) = (s.hidden, s.out);
    let g4 = 4 * h;
    let BwdPart {
        lo,
        mut dgates,
        mut dh_all,
        dh,
        dc,
    } = part;
    let rows = dc.len() / h.max(1);
    let mut dhp = vec![T::zero(); if w_hr.is_some() { rows * h } else { 0 }];
    for t in steps.order().rev() {
        let dg = &mut *dgates[t];
        let bs = dg.len() / g4;
        if bs == 0 {
            continue;
        }
        let off = steps.offsets[t] + lo;
        if let Some(go) = grad_output {
            for (d, &g) in dh[..bs * p].iter_mut().zip(&go[off * p..(off + bs) * p]) {
                *d += g;
            }
        }
        let dhp_rows: &[T] = match (w_hr, dh_all.as_mut()) {
            (Some(w_hr), Some(all)) => {
                all[t].copy_from_slice(&dh[..bs * p]);
                w_hr.apply(bs, &dh[..bs * p], false, &mut dhp[..bs * h]);
                &dhp[..bs * h]
            }
            _ => &dh[..bs * h],
        };
        for r in 0..bs {
            let row = off + r;
            let c_prev = match steps.prev_row(t, lo + r) {
                Some(pr) => &s.cells[pr * h..(pr + 1) * h],
                None => &s.c0[(lo + r) * h..(lo + r + 1) * h],
            };
            cell_backward(
                &s.gates[row * g4..(row + 1) * g4],
                &s.cells[row * h..(row + 1) * h],
                c_prev,
                &dhp_rows[r * h..(r + 1) * h],
                &mut dc[r * h..(r + 1) * h],
                &mut dg[r * g4..(r + 1) * g4],
            );
        }
        w_hh.apply(bs, dg, false, &mut dh[..bs * p]);
    }
}
