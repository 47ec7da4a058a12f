//! The fused recurrent op on the tape: one node per layer and direction, whose backward is
//! the backend's hand-written backward through time.

use recur_tensor::{seq_backward, seq_forward, Backend, CellKind, Result, SeqInputs};

use crate::{Tape, Var};

/// Variables of one fused recurrent pass (see `recur_tensor::SeqInputs` for shapes).
pub struct SeqVars<'a> {
    /// The cell.
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// `[N, G·H]` input projection of every packed row.
    pub x_proj: Var,
    /// `[G·H, H_out]`.
    pub w_hh: Var,
    /// `[G·H]`.
    pub b_hh: Option<Var>,
    /// `[P, H]` (LSTM projection).
    pub w_hr: Option<Var>,
    /// `[B, H_out]` in packed row order.
    pub h0: Var,
    /// `[B, H]` (LSTM).
    pub c0: Option<Var>,
    /// Rows alive per step.
    pub batch_sizes: &'a [usize],
    /// Direction.
    pub reverse: bool,
}

impl<B: Backend> Tape<B> {
    /// Runs the fused recurrence; returns `(output [N, H_out], h_n [B, H_out], c_n [B, H])`.
    pub fn recurrent(&self, s: &SeqVars<'_>) -> Result<(Var, Var, Option<Var>)> {
        let (x_proj, w_hh, h0) = (self.value(s.x_proj), self.value(s.w_hh), self.value(s.h0));
        let b_hh = s.b_hh.map(|v| self.value(v));
        let w_hr = s.w_hr.map(|v| self.value(v));
        let c0 = s.c0.map(|v| self.value(v));
        let out = seq_forward(
            self.backend(),
            &SeqInputs {
                kind: s.kind,
                hidden: s.hidden,
                x_proj: &x_proj,
                w_hh: &w_hh,
                b_hh: b_hh.as_ref(),
                w_hr: w_hr.as_ref(),
                h0: &h0,
                c0: c0.as_ref(),
                batch_sizes: s.batch_sizes,
                reverse: s.reverse,
            },
        )?;
        let mut outputs = vec![out.output, out.h_n];
        outputs.extend(out.c_n);
        let parents: Vec<Var> = [
            Some(s.x_proj),
            Some(s.w_hh),
            s.b_hh,
            s.w_hr,
            Some(s.h0),
            s.c0,
        ]
        .into_iter()
        .flatten()
        .collect();
        let saved = if self.grad_enabled() {
            Some(out.saved)
        } else {
            None
        };
        let backend = self.backend().clone();
        let vars = self.record(outputs, &parents, move |g| {
            // backward through time (see the backend kernels for the formulas)
            let saved = saved.ok_or_else(|| {
                recur_tensor::Error::invalid("recurrent", "backward on a tape without gradients")
            })?;
            let grads = seq_backward(
                &backend,
                &saved,
                g[0].as_ref(),
                g[1].as_ref(),
                g.get(2).and_then(Option::as_ref),
            )?;
            let mut out = vec![Some(grads.x_proj), Some(grads.w_hh)];
            if saved.has_bias {
                out.push(grads.b_hh);
            }
            if saved.w_hr.is_some() {
                out.push(grads.w_hr);
            }
            out.push(Some(grads.h0));
            if saved.c0.is_some() {
                out.push(grads.c0);
            }
            Ok(out)
        });
        Ok((vars[0], vars[1], vars.get(2).copied()))
    }
}
