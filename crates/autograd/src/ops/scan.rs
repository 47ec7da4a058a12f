//! The scan cells' op on the tape (minGRU, minLSTM): one node per layer and direction,
//! whose backward is the backend's one-pass backward scan.

use recur_tensor::{scan_backward, scan_forward, Backend, CellKind, Result, ScanInputs};

use crate::{Tape, Var};

/// Variables of one scan-cell pass (see `recur_tensor::ScanInputs` for shapes).
pub struct ScanVars<'a> {
    /// The cell (a scan kind).
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// `[N, G·H]` input projection of every packed row.
    pub x_proj: Var,
    /// `[B, H]` in packed row order.
    pub h0: Var,
    /// Rows alive per step.
    pub batch_sizes: &'a [usize],
    /// Direction.
    pub reverse: bool,
}

impl<B: Backend> Tape<B> {
    /// Runs the scan; returns `(output [N, H], h_n [B, H])`.
    pub fn scan(&self, s: &ScanVars<'_>) -> Result<(Var, Var)> {
        let (x_proj, h0) = (self.value(s.x_proj)?, self.value(s.h0)?);
        let out = scan_forward(
            self.backend(),
            &ScanInputs {
                kind: s.kind,
                hidden: s.hidden,
                x_proj: &x_proj,
                h0: &h0,
                batch_sizes: s.batch_sizes,
                reverse: s.reverse,
            },
        )?;
        let saved = self.grad_enabled().then_some(out.saved);
        let backend = self.backend().clone();
        let vars = self.record(vec![out.output, out.h_n], &[s.x_proj, s.h0], move |g| {
            let saved = saved.ok_or_else(|| {
                recur_tensor::Error::invalid("scan", "backward on a tape without gradients")
            })?;
            let grads = scan_backward(&backend, &saved, g[0].as_ref(), g[1].as_ref())?;
            Ok(vec![Some(grads.x_proj), Some(grads.h0)])
        })?;
        Ok((vars[0], vars[1]))
    }
}
