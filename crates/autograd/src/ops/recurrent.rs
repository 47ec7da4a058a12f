//! The fused recurrent op on the tape: one node per layer and direction, whose backward is
//! the backend's hand-written backward through time.

use recur_tensor::{
    seq_backward, seq_forward, Backend, CellKind, Result, SeqGrads, SeqInputs, SeqOutputs,
    SeqSaved, Tensor,
};

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

/// The values a [`SeqVars`] names, fetched from the tape.
struct SeqValues<B: Backend> {
    x_proj: Tensor<B>,
    w_hh: Tensor<B>,
    b_hh: Option<Tensor<B>>,
    w_hr: Option<Tensor<B>>,
    h0: Tensor<B>,
    c0: Option<Tensor<B>>,
}

impl<B: Backend> SeqValues<B> {
    fn run(&self, backend: &B, s: &SeqVars<'_>, concurrent: bool) -> Result<SeqOutputs<B>> {
        seq_forward(
            backend,
            &SeqInputs {
                kind: s.kind,
                hidden: s.hidden,
                x_proj: &self.x_proj,
                w_hh: &self.w_hh,
                b_hh: self.b_hh.as_ref(),
                w_hr: self.w_hr.as_ref(),
                h0: &self.h0,
                c0: self.c0.as_ref(),
                batch_sizes: s.batch_sizes,
                reverse: s.reverse,
                concurrent,
            },
        )
    }
}

impl SeqVars<'_> {
    fn parents(&self) -> Vec<Var> {
        [
            Some(self.x_proj),
            Some(self.w_hh),
            self.b_hh,
            self.w_hr,
            Some(self.h0),
            self.c0,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Parent gradients in [`SeqVars::parents`] order.
fn parent_grads<B: Backend>(saved: &SeqSaved<B>, grads: SeqGrads<B>) -> Vec<Option<Tensor<B>>> {
    let mut out = vec![Some(grads.x_proj), Some(grads.w_hh)];
    if saved.has_bias {
        out.push(grads.b_hh);
    }
    if saved.projection().is_some() {
        out.push(grads.w_hr);
    }
    out.push(Some(grads.h0));
    if saved.c0().is_some() {
        out.push(grads.c0);
    }
    out
}

/// Backward through time of one direction from its outputs' gradients `g`
/// (`[output, h_n, c_n?]`).
fn backward_one<B: Backend>(
    backend: &B,
    saved: &SeqSaved<B>,
    g: &[Option<Tensor<B>>],
) -> Result<Vec<Option<Tensor<B>>>> {
    let grads = seq_backward(
        backend,
        saved,
        g[0].as_ref(),
        g[1].as_ref(),
        g.get(2).and_then(Option::as_ref),
    )?;
    Ok(parent_grads(saved, grads))
}

impl<B: Backend> Tape<B> {
    fn seq_values(&self, s: &SeqVars<'_>) -> Result<SeqValues<B>> {
        Ok(SeqValues {
            x_proj: self.value(s.x_proj)?,
            w_hh: self.value(s.w_hh)?,
            b_hh: s.b_hh.map(|v| self.value(v)).transpose()?,
            w_hr: s.w_hr.map(|v| self.value(v)).transpose()?,
            h0: self.value(s.h0)?,
            c0: s.c0.map(|v| self.value(v)).transpose()?,
        })
    }

    /// Both directions of a bidirectional layer as one node: the two recurrences are
    /// independent, so they run on two threads, forward and backward. Returns
    /// `(output, h_n, c_n)` for each.
    #[allow(clippy::type_complexity)]
    pub fn recurrent_pair(
        &self,
        fwd: &SeqVars<'_>,
        rev: &SeqVars<'_>,
    ) -> Result<[(Var, Var, Option<Var>); 2]> {
        let (vf, vr) = (self.seq_values(fwd)?, self.seq_values(rev)?);
        let backend = self.backend().clone();
        let (of, or) = rayon::join(
            || vf.run(&backend, fwd, true),
            || vr.run(&backend, rev, true),
        );
        let (of, or) = (of?, or?);
        let n_out = 2 + usize::from(of.c_n.is_some());
        let mut outputs = vec![of.output, of.h_n];
        outputs.extend(of.c_n);
        outputs.extend([or.output, or.h_n]);
        outputs.extend(or.c_n);
        let (pf, pr) = (fwd.parents(), rev.parents());
        let n_pf = pf.len();
        let parents: Vec<Var> = pf.into_iter().chain(pr).collect();
        let saved = self.grad_enabled().then_some((of.saved, or.saved));
        let vars = self.record(outputs, &parents, move |g| {
            // the two directions' backward passes through time, concurrently
            let (sf, sr) = saved.ok_or_else(|| {
                recur_tensor::Error::invalid(
                    "recurrent_pair",
                    "backward on a tape without gradients",
                )
            })?;
            let (gf, gr) = g.split_at(n_out);
            let (a, b) = rayon::join(
                || backward_one(&backend, &sf, gf),
                || backward_one(&backend, &sr, gr),
            );
            let mut out = a?;
            debug_assert_eq!(out.len(), n_pf);
            out.extend(b?);
            Ok(out)
        })?;
        let pick = |o: usize| (vars[o], vars[o + 1], (n_out == 3).then(|| vars[o + 2]));
        Ok([pick(0), pick(n_out)])
    }

    /// Runs the fused recurrence; returns `(output [N, H_out], h_n [B, H_out], c_n [B, H])`.
    pub fn recurrent(&self, s: &SeqVars<'_>) -> Result<(Var, Var, Option<Var>)> {
        let out = self.seq_values(s)?.run(self.backend(), s, false)?;
        let mut outputs = vec![out.output, out.h_n];
        outputs.extend(out.c_n);
        let saved = self.grad_enabled().then_some(out.saved);
        let backend = self.backend().clone();
        let vars = self.record(outputs, &s.parents(), move |g| {
            // backward through time (see the backend kernels for the formulas)
            let saved = saved.ok_or_else(|| {
                recur_tensor::Error::invalid("recurrent", "backward on a tape without gradients")
            })?;
            backward_one(&backend, &saved, g)
        })?;
        Ok((vars[0], vars[1], vars.get(2).copied()))
    }
}
