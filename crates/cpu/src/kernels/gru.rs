//! Fused GRU over a whole (packed) sequence: forward and backward through time.
//!
//! Gates r, z, n (PyTorch order); `b_hn` sits inside the reset product:
//! `n = tanh(x_n + r · (W_hn h + b_hn))`, `h' = (1 − z)·n + z·h`. The recurrent GEMM
//! `gh = h · W_hhᵀ` goes into a preallocated `[rows, 3H]` scratch per step. Large batches run
//! as two halves of the rows on two threads (see [`Steps::split_for`]).

use super::gemm::{gemm_tn, StepWeight};
use super::steps::{col_sums, run_halves, OutGrads, Steps};
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

/// What the forward pass gives: the saved activations and the outputs.
pub struct GruFwd<T> {
    /// Activated gates `[N, 3H]` (r, z, n).
    pub gates: Vec<T>,
    /// The recurrent part of the new-gate pre-activation, `W_hn h + b_hn` `[N, H]`.
    pub gh_n: Vec<T>,
    /// Hidden states `[N, H]`.
    pub output: Vec<T>,
    /// Last hidden state of each row `[B, H]`.
    pub h_n: Vec<T>,
}

/// One half of the batch rows in the forward pass.
struct FwdPart<'b, T> {
    gates: Vec<&'b mut [T]>,
    gh_n: Vec<&'b mut [T]>,
    output: Vec<&'b mut [T]>,
    /// `[rows, H]`, starts as `h0` and ends as `h_n`.
    h: &'b mut [T],
}

/// Runs the GRU over all steps of `steps`.
pub fn forward<T: Elem>(x: &GruIn<'_, T>, steps: &Steps<'_>) -> GruFwd<T> {
    let h = x.hidden;
    let g3 = 3 * h;
    let n = steps.rows();
    let mut gates = x.x_proj.to_vec();
    let mut gh_n = vec![T::zero(); n * h];
    let mut output = vec![T::zero(); n * h];
    let mut h_n = x.h0.to_vec();
    let split = steps.split_for(g3 * h);
    let two = split < steps.batch();
    let w_hh = StepWeight::forward(x.w_hh, g3, h).serial(two);
    {
        let (g_lo, g_hi) = steps.split_rows(&mut gates, g3, split);
        let (n_lo, n_hi) = steps.split_rows(&mut gh_n, h, split);
        let (o_lo, o_hi) = steps.split_rows(&mut output, h, split);
        let (h_lo, h_hi) = h_n.split_at_mut(split * h);
        let lo = FwdPart {
            gates: g_lo,
            gh_n: n_lo,
            output: o_lo,
            h: h_lo,
        };
        let hi = FwdPart {
            gates: g_hi,
            gh_n: n_hi,
            output: o_hi,
            h: h_hi,
        };
        run_halves(two, lo, hi, |part| forward_part(x, &w_hh, steps, part));
    }
    GruFwd {
        gates,
        gh_n,
        output,
        h_n,
    }
}

/// Activates one row's gates in place and steps its state, one loop per stage so each
/// vectorizes: `r, z = σ(x + gh)`, `n = tanh(x_n + r·gh_n)`, `h' = (1 − z)·n + z·h`.
#[inline(always)]
fn cell_forward<T: Elem>(gr: &mut [T], ghr: &[T], hs: &mut [T], gh_n: &mut [T], out: &mut [T]) {
    let h = hs.len();
    let one = T::one();
    let (rz, n) = gr.split_at_mut(2 * h);
    let (ghrz, ghn) = ghr.split_at(2 * h);
    let (rz, ghrz, ghn, n) = (&mut rz[..2 * h], &ghrz[..2 * h], &ghn[..h], &mut n[..h]);
    for (v, &g) in rz.iter_mut().zip(ghrz) {
        *v += g;
    }
    for v in rz.iter_mut() {
        *v = T::sigmoid(*v);
    }
    let (r, z) = rz.split_at(h);
    let (gh_n, out) = (&mut gh_n[..h], &mut out[..h]);
    for ((v, &rj), &g) in n.iter_mut().zip(r).zip(ghn) {
        *v += rj * g;
    }
    for v in n.iter_mut() {
        *v = T::tanh_act(*v);
    }
    for j in 0..h {
        gh_n[j] = ghn[j];
        let hn = (one - z[j]) * n[j] + z[j] * hs[j];
        hs[j] = hn;
        out[j] = hn;
    }
}

with_simd! {
    /// The step loop over one part's rows (AVX-512 or AVX2 code when the CPU has it).
    fn forward_part<T>(
        x: &GruIn<'_, T>,
        w_hh: &StepWeight<'_, T>,
        steps: &Steps<'_>,
        part: FwdPart<'_, T>,
    ) => forward_part_impl
}

#[inline(always)]
fn forward_part_impl<T: Elem>(
    x: &GruIn<'_, T>,
    w_hh: &StepWeight<'_, T>,
    steps: &Steps<'_>,
    part: FwdPart<'_, T>,
) {
    let h = x.hidden;
    let g3 = 3 * h;
    let FwdPart {
        mut gates,
        mut gh_n,
        mut output,
        h: h_state,
    } = part;
    let mut gh = vec![T::zero(); h_state.len() * 3];
    for t in steps.order() {
        let bs = output[t].len() / h.max(1);
        if bs == 0 {
            continue;
        }
        w_hh.apply(bs, &h_state[..bs * h], false, &mut gh[..bs * g3]);
        let (gates, gh_n, output) = (&mut *gates[t], &mut *gh_n[t], &mut *output[t]);
        for r in 0..bs {
            let ghr = &mut gh[r * g3..(r + 1) * g3];
            if let Some(bias) = x.b_hh {
                for (v, &bv) in ghr.iter_mut().zip(bias) {
                    *v += bv;
                }
            }
            let gr = &mut gates[r * g3..(r + 1) * g3];
            let hs = &mut h_state[r * h..(r + 1) * h];
            cell_forward(
                gr,
                ghr,
                hs,
                &mut gh_n[r * h..(r + 1) * h],
                &mut output[r * h..(r + 1) * h],
            );
        }
    }
}

/// Gradients of one GRU layer and direction (no `w_hr`, no `c0`).
pub type GruBwd<T> = super::steps::SeqBackward<T>;

/// What backward reads from the forward pass.
pub struct GruSavedRef<'a, T> {
    /// Hidden size H.
    pub hidden: usize,
    /// `[3H, H]`.
    pub w_hh: &'a [T],
    /// `[B, H]`.
    pub h0: &'a [T],
    /// Activated gates `[N, 3H]`.
    pub gates: &'a [T],
    /// `W_hn h + b_hn`: `[N, H]`.
    pub gh_n: &'a [T],
    /// Hidden states `[N, H]`.
    pub output: &'a [T],
}

/// One half of the batch rows in the backward pass.
struct BwdPart<'b, T> {
    /// First batch row of the part.
    lo: usize,
    dx: Vec<&'b mut [T]>,
    dgh: Vec<&'b mut [T]>,
    /// `[rows, H]`: starts as the gradient of `h_n`, ends as that of `h0`.
    dh: &'b mut [T],
}

/// Backward through time from `grads` over the forward's saved buffers.
pub fn backward<T: Elem>(
    saved: &GruSavedRef<'_, T>,
    grads: &OutGrads<'_, T>,
    steps: &Steps<'_>,
) -> GruBwd<T> {
    let (hidden, w_hh, h0, output) = (saved.hidden, saved.w_hh, saved.h0, saved.output);
    let (grad_output, grad_h_n) = (grads.output, grads.h_n);
    let h = hidden;
    let g3 = 3 * h;
    let (n, b) = (steps.rows(), steps.batch());
    let mut dx = vec![T::zero(); n * g3];
    let mut dgh = vec![T::zero(); n * g3];
    let mut dh = grad_h_n.map_or_else(|| vec![T::zero(); b * h], <[T]>::to_vec);
    let split = steps.split_for(g3 * h);
    let two = split < b;
    let w = StepWeight::backward(w_hh, g3, h).serial(two);
    {
        let (x_lo, x_hi) = steps.split_rows(&mut dx, g3, split);
        let (g_lo, g_hi) = steps.split_rows(&mut dgh, g3, split);
        let (h_lo, h_hi) = dh.split_at_mut(split * h);
        let lo = BwdPart {
            lo: 0,
            dx: x_lo,
            dgh: g_lo,
            dh: h_lo,
        };
        let hi = BwdPart {
            lo: split,
            dx: x_hi,
            dgh: g_hi,
            dh: h_hi,
        };
        run_halves(two, lo, hi, |part| {
            backward_part(saved, &w, steps, grad_output, part)
        });
    }
    let h_prev = steps.gather_prev(h0, output, h);
    let mut dw_hh = vec![T::zero(); g3 * h];
    gemm_tn(g3, h, n, &dgh, &h_prev, T::zero(), &mut dw_hh);
    let db = col_sums(&dgh, g3);
    GruBwd {
        x_proj: dx,
        w_hh: dw_hh,
        b_hh: db,
        w_hr: None,
        h0: dh,
        c0: None,
    }
}

with_simd! {
    /// The step loop over one part's rows, last step first (AVX-512 or AVX2 code when the
    /// CPU has it).
    fn backward_part<T>(
        s: &GruSavedRef<'_, T>,
        w: &StepWeight<'_, T>,
        steps: &Steps<'_>,
        grad_output: Option<&[T]>,
        part: BwdPart<'_, T>,
    ) => backward_part_impl
}

#[inline(always)]
fn backward_part_impl<T: Elem>(
    s: &GruSavedRef<'_, T>,
    w: &StepWeight<'_, T>,
    steps: &Steps<'_>,
    grad_output: Option<&[T]>,
    part: BwdPart<'_, T>,
) {
    let h = s.hidden;
    let g3 = 3 * h;
    let one = T::one();
    let BwdPart {
        lo,
        mut dx,
        mut dgh,
        dh,
    } = part;
    for t in steps.order().rev() {
        let bs = dx[t].len() / g3.max(1);
        if bs == 0 {
            continue;
        }
        let off = steps.offsets[t] + lo;
        if let Some(go) = grad_output {
            for (d, &g) in dh[..bs * h].iter_mut().zip(&go[off * h..(off + bs) * h]) {
                *d += g;
            }
        }
        let (dx, dgh) = (&mut *dx[t], &mut *dgh[t]);
        for r in 0..bs {
            let row = off + r;
            let gr = &s.gates[row * g3..(row + 1) * g3];
            let h_prev = match steps.prev_row(t, lo + r) {
                Some(pr) => &s.output[pr * h..(pr + 1) * h],
                None => &s.h0[(lo + r) * h..(lo + r + 1) * h],
            };
            let dxr = &mut dx[r * g3..(r + 1) * g3];
            let dghr = &mut dgh[r * g3..(r + 1) * g3];
            let dhr = &mut dh[r * h..(r + 1) * h];
            for j in 0..h {
                let (rg, z, nn) = (gr[j], gr[h + j], gr[2 * h + j]);
                let d = dhr[j];
                let dn_pre = d * (one - z) * (one - nn * nn);
                let dz_pre = d * (h_prev[j] - nn) * z * (one - z);
                let dr_pre = dn_pre * s.gh_n[row * h + j] * rg * (one - rg);
                dxr[j] = dr_pre;
                dxr[h + j] = dz_pre;
                dxr[2 * h + j] = dn_pre;
                dghr[j] = dr_pre;
                dghr[h + j] = dz_pre;
                dghr[2 * h + j] = dn_pre * rg;
                dhr[j] = d * z;
            }
        }
        w.apply(bs, dgh, true, &mut dh[..bs * h]);
    }
}
