//! Fused scan cells (minGRU, minLSTM) over a whole (packed) sequence: forward and backward
//! each one pass over time, elementwise (no product inside the loop, no allocation per step).
//!
//! The gates read only the input projection `x_proj [N, G·H]`, so every step is
//! `h_t = a_t ⊙ h_{t−1} + b_t`:
//! - minGRU, blocks z, h̃: `z = σ(k_z)`, `h_t = (1 − z)·h_{t−1} + z·h̃`;
//! - minLSTM, blocks f, i, h̃: `f = σ(k_f)`, `i = σ(k_i)`,
//!   `h_t = f/(f+i)·h_{t−1} + i/(f+i)·h̃`.
//!
//! Backward recomputes the gates from `x_proj` and reads `h_{t−1}` from the output. Large
//! batches run as two halves of the rows on two threads (see [`Steps::split_for`]).

use super::steps::{run_halves, OutGrads, Steps};
use crate::Elem;

/// Which scan cell a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanCell {
    /// Blocks z, h̃ (`G = 2`).
    MinGru,
    /// Blocks f, i, h̃ (`G = 3`).
    MinLstm,
}

impl ScanCell {
    /// Gate blocks `G` of `x_proj`.
    pub fn gates(self) -> usize {
        match self {
            ScanCell::MinGru => 2,
            ScanCell::MinLstm => 3,
        }
    }
}

/// Multiply-adds per element and step, for the two-thread threshold.
const WORK: usize = 12;

/// Forward inputs as slices (shapes as in `recur_tensor::ScanInputs`).
pub struct ScanIn<'a, T> {
    /// The cell.
    pub cell: ScanCell,
    /// Hidden size `H`.
    pub hidden: usize,
    /// `[N, G·H]`.
    pub x_proj: &'a [T],
    /// `[B, H]`.
    pub h0: &'a [T],
}

/// What the forward pass gives (its output is also what backward reads).
pub struct ScanFwd<T> {
    /// States `[N, H]`.
    pub output: Vec<T>,
    /// Last state of each row `[B, H]`.
    pub h_n: Vec<T>,
}

/// What the backward pass gives.
pub struct ScanBwd<T> {
    /// `∂L/∂x_proj`: `[N, G·H]`.
    pub x_proj: Vec<T>,
    /// `∂L/∂h0`: `[B, H]`.
    pub h0: Vec<T>,
}

/// Runs the scan over all steps of `steps` from `x.h0`.
pub fn forward<T: Elem>(x: &ScanIn<'_, T>, steps: &Steps<'_>) -> ScanFwd<T> {
    let ScanIn {
        cell,
        hidden,
        x_proj,
        h0,
    } = *x;
    let h = hidden;
    let mut output = T::overwritten(steps.rows() * h);
    let mut h_n = h0.to_vec();
    let split = steps.split_for(WORK * h);
    let two = split < steps.batch();
    {
        let (o_lo, o_hi) = steps.split_rows(&mut output, h, split);
        let (h_lo, h_hi) = h_n.split_at_mut(split * h);
        run_halves(
            two,
            (o_lo, h_lo, 0),
            (o_hi, h_hi, split),
            |(mut out, state, base)| forward_part(cell, h, x_proj, steps, &mut out, state, base),
        );
    }
    ScanFwd { output, h_n }
}

with_simd! {
    /// The step loop over one part's rows, rows `base..` of each step (AVX-512 or AVX2 code
    /// when the CPU has it).
    fn forward_part<T>(
        cell: ScanCell,
        h: usize,
        x_proj: &[T],
        steps: &Steps<'_>,
        out: &mut [&mut [T]],
        state: &mut [T],
        base: usize,
    ) => forward_part_imp
}

#[inline(always)]
fn forward_part_imp<T: Elem>(
    cell: ScanCell,
    h: usize,
    x_proj: &[T],
    steps: &Steps<'_>,
    out: &mut [&mut [T]],
    state: &mut [T],
    base: usize,
) {
    let g = cell.gates() * h;
    let one = T::one();
    for t in steps.order() {
        let out = &mut *out[t];
        let bs = out.len() / h.max(1);
        if bs == 0 {
            // the other half's rows only (past this part's first row `base`)
            continue;
        }
        let x0 = (steps.offsets[t] + base) * g;
        let rows = x_proj[x0..x0 + bs * g].chunks_exact(g);
        for ((xp, o), s) in rows
            .zip(out.chunks_exact_mut(h))
            .zip(state.chunks_exact_mut(h))
        {
            match cell {
                ScanCell::MinGru => {
                    // slices of length exactly `h`, so the loop runs without bounds checks
                    let (k, c, s, o) = (&xp[..h], &xp[h..2 * h], &mut s[..h], &mut o[..h]);
                    for j in 0..h {
                        let z = T::sigmoid(k[j]);
                        let v = (one - z) * s[j] + z * c[j];
                        s[j] = v;
                        o[j] = v;
                    }
                }
                ScanCell::MinLstm => {
                    let (kf, ki, c) = (&xp[..h], &xp[h..2 * h], &xp[2 * h..3 * h]);
                    let (s, o) = (&mut s[..h], &mut o[..h]);
                    for j in 0..h {
                        let (f, i) = (T::sigmoid(kf[j]), T::sigmoid(ki[j]));
                        let sum = f + i;
                        let v = f / sum * s[j] + i / sum * c[j];
                        s[j] = v;
                        o[j] = v;
                    }
                }
            }
        }
    }
}

/// What the backward scan reads (shapes as in `recur_tensor::ScanSaved`).
pub struct ScanSavedRef<'a, T> {
    /// The cell.
    pub cell: ScanCell,
    /// Hidden size `H`.
    pub hidden: usize,
    /// `[N, G·H]`.
    pub x_proj: &'a [T],
    /// `[B, H]`.
    pub h0: &'a [T],
    /// `[N, H]`.
    pub output: &'a [T],
}

/// Backward through time from `grads` (`c_n` is not read: the scan cells have no cell state).
pub fn backward<T: Elem>(
    s: &ScanSavedRef<'_, T>,
    grads: &OutGrads<'_, T>,
    steps: &Steps<'_>,
) -> ScanBwd<T> {
    let (grad_output, grad_h_n) = (grads.output, grads.h_n);
    let h = s.hidden;
    let g = s.cell.gates() * h;
    let mut dx = T::overwritten(steps.rows() * g);
    let mut dh = match grad_h_n {
        Some(gh) => gh.to_vec(),
        None => T::filled(steps.batch() * h, T::zero()),
    };
    let split = steps.split_for(WORK * h);
    let two = split < steps.batch();
    {
        let (d_lo, d_hi) = steps.split_rows(&mut dx, g, split);
        let (h_lo, h_hi) = dh.split_at_mut(split * h);
        run_halves(
            two,
            (d_lo, h_lo, 0),
            (d_hi, h_hi, split),
            |(mut dx, dh, base)| backward_part(s, grad_output, steps, &mut dx, dh, base),
        );
    }
    ScanBwd { x_proj: dx, h0: dh }
}

with_simd! {
    /// The step loop over one part's rows, last step first (AVX-512 or AVX2 code when the
    /// CPU has it).
    fn backward_part<T>(
        s: &ScanSavedRef<'_, T>,
        grad_output: Option<&[T]>,
        steps: &Steps<'_>,
        dx: &mut [&mut [T]],
        dh: &mut [T],
        base: usize,
    ) => backward_part_imp
}

#[inline(always)]
fn backward_part_imp<T: Elem>(
    s: &ScanSavedRef<'_, T>,
    grad_output: Option<&[T]>,
    steps: &Steps<'_>,
    dx: &mut [&mut [T]],
    dh: &mut [T],
    base: usize,
) {
    let (h, cell) = (s.hidden, s.cell);
    let g = cell.gates() * h;
    let one = T::one();
    for t in steps.order().rev() {
        let dx = &mut *dx[t];
        let bs = dx.len() / g.max(1);
        for r in 0..bs {
            let row = steps.offsets[t] + base + r;
            let xp = &s.x_proj[row * g..(row + 1) * g];
            let prev = match steps.prev_row(t, base + r) {
                Some(p) => &s.output[p * h..(p + 1) * h],
                None => &s.h0[(base + r) * h..(base + r + 1) * h],
            };
            let d = &mut dh[r * h..(r + 1) * h];
            if let Some(go) = grad_output {
                for (dv, &gv) in d.iter_mut().zip(&go[row * h..(row + 1) * h]) {
                    *dv += gv;
                }
            }
            let dxr = &mut dx[r * g..(r + 1) * g];
            match cell {
                ScanCell::MinGru => {
                    let (k, c, prev, d) = (&xp[..h], &xp[h..2 * h], &prev[..h], &mut d[..h]);
                    let (dk, dc) = dxr.split_at_mut(h);
                    let (dk, dc) = (&mut dk[..h], &mut dc[..h]);
                    for j in 0..h {
                        let z = T::sigmoid(k[j]);
                        let gj = d[j];
                        dc[j] = gj * z;
                        dk[j] = gj * (c[j] - prev[j]) * z * (one - z);
                        d[j] = gj * (one - z);
                    }
                }
                ScanCell::MinLstm => {
                    let (kf, ki, c) = (&xp[..h], &xp[h..2 * h], &xp[2 * h..3 * h]);
                    let (prev, d) = (&prev[..h], &mut d[..h]);
                    let (dkf, drest) = dxr.split_at_mut(h);
                    let (dki, dc) = drest.split_at_mut(h);
                    let (dkf, dki, dc) = (&mut dkf[..h], &mut dki[..h], &mut dc[..h]);
                    for j in 0..h {
                        let (f, i) = (T::sigmoid(kf[j]), T::sigmoid(ki[j]));
                        let sum = f + i;
                        let gj = d[j];
                        // h = f'·prev + (1 − f')·h̃ with f' = f/(f+i)
                        let dfp = gj * (prev[j] - c[j]) / (sum * sum);
                        dc[j] = gj * (i / sum);
                        dkf[j] = dfp * i * f * (one - f);
                        dki[j] = -(dfp * f) * i * (one - i);
                        d[j] = gj * (f / sum);
                    }
                }
            }
        }
    }
}
