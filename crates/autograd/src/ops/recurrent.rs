//! The fused recurrent op on the tape, for every cell: one node per layer and direction,
//! whose backward is the backend's hand-written backward through time. The node's parents
//! are the input projection, then the cell's recurrent parameters and initial states as its
//! `CellSpec` declares them; its outputs are the output rows, then the final states.

use recur_tensor::{
    seq_backward, seq_forward, Backend, CellSpec, Result, SeqGrads, SeqInputs, SeqOutputs,
    SeqSaved, Tensor,
};

use crate::{Tape, Var};

/// Variables of one fused recurrent pass (see `recur_tensor::SeqInputs` for shapes).
pub struct SeqVars<'a> {
    /// The cell and its sizes.
    pub cell: CellSpec,
    /// `[N, G·H]` input projection of every packed row.
    pub x_proj: Var,
    /// The recurrent parameters, in `cell.recurrent_params()` order.
    pub params: Vec<Var>,
    /// The initial states `[B, width]` in `cell.kind.states()` order, rows in packed order.
    pub state0: Vec<Var>,
    /// Rows alive per step.
    pub batch_sizes: &'a [usize],
    /// Direction.
    pub reverse: bool,
}

/// The outputs of one pass on the tape.
#[derive(Clone, Debug)]
pub struct SeqOut {
    /// `[N, H_out]`: every packed row's hidden state.
    pub output: Var,
    /// The final states `[B, width]` in the cell's state order (`h_n`, then `c_n`).
    pub state_n: Vec<Var>,
}

/// The values a [`SeqVars`] names, fetched from the tape.
struct SeqValues<B: Backend> {
    x_proj: Tensor<B>,
    params: Vec<Tensor<B>>,
    state0: Vec<Tensor<B>>,
}

impl<B: Backend> SeqValues<B> {
    fn run(&self, backend: &B, s: &SeqVars<'_>, concurrent: bool) -> Result<SeqOutputs<B>> {
        seq_forward(
            backend,
            &SeqInputs {
                cell: s.cell,
                x_proj: &self.x_proj,
                params: &self.params,
                state0: &self.state0,
                batch_sizes: s.batch_sizes,
                reverse: s.reverse,
                concurrent,
            },
        )
    }
}

impl SeqVars<'_> {
    /// The node's parents: `x_proj`, the parameters, the initial states.
    fn parents(&self) -> Vec<Var> {
        let mut out = vec![self.x_proj];
        out.extend(&self.params);
        out.extend(&self.state0);
        out
    }
}

/// Parent gradients in [`SeqVars::parents`] order.
fn parent_grads<B: Backend>(grads: SeqGrads<B>) -> Vec<Option<Tensor<B>>> {
    std::iter::once(grads.x_proj)
        .chain(grads.params)
        .chain(grads.state0)
        .map(Some)
        .collect()
}

/// Backward through time of one direction from its outputs' gradients `g`
/// (`[output, state_n…]`).
fn backward_one<B: Backend>(
    backend: &B,
    saved: &SeqSaved<B>,
    g: &[Option<Tensor<B>>],
) -> Result<Vec<Option<Tensor<B>>>> {
    let (output, state_n) = g.split_first().ok_or_else(|| {
        recur_tensor::Error::invalid("recurrent", "no gradient slot for the output")
    })?;
    let grads = seq_backward(backend, saved, output.as_ref(), state_n)?;
    Ok(parent_grads(grads))
}

/// A pass's results as the node's outputs: `output`, then the final states.
fn outputs_of<B: Backend>(out: SeqOutputs<B>) -> (Vec<Tensor<B>>, SeqSaved<B>) {
    let mut outputs = vec![out.output];
    outputs.extend(out.state_n);
    (outputs, out.saved)
}

impl<B: Backend> Tape<B> {
    fn seq_values(&self, s: &SeqVars<'_>) -> Result<SeqValues<B>> {
        let values = |vars: &[Var]| -> Result<Vec<Tensor<B>>> {
            vars.iter().map(|&v| self.value(v)).collect()
        };
        Ok(SeqValues {
            x_proj: self.value(s.x_proj)?,
            params: values(&s.params)?,
            state0: values(&s.state0)?,
        })
    }

    /// Both directions of a bidirectional layer as one node: the two recurrences are
    /// independent, so they run on two threads, forward and backward.
    pub fn recurrent_pair(&self, fwd: &SeqVars<'_>, rev: &SeqVars<'_>) -> Result<[SeqOut; 2]> {
        let (vf, vr) = (self.seq_values(fwd)?, self.seq_values(rev)?);
        let backend = self.backend().clone();
        let (of, or) = rayon::join(
            || vf.run(&backend, fwd, true),
            || vr.run(&backend, rev, true),
        );
        let ((mut outputs, sf), (outputs_r, sr)) = (outputs_of(of?), outputs_of(or?));
        let n_out = outputs.len();
        outputs.extend(outputs_r);
        let (pf, pr) = (fwd.parents(), rev.parents());
        let parents: Vec<Var> = pf.into_iter().chain(pr).collect();
        let saved = self.grad_enabled().then_some((sf, sr));
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
            out.extend(b?);
            Ok(out)
        })?;
        let pick = |vs: &[Var]| SeqOut {
            output: vs[0],
            state_n: vs[1..].to_vec(),
        };
        Ok([pick(&vars[..n_out]), pick(&vars[n_out..])])
    }

    /// Runs the fused recurrence of one direction.
    pub fn recurrent(&self, s: &SeqVars<'_>) -> Result<SeqOut> {
        let out = self.seq_values(s)?.run(self.backend(), s, false)?;
        let (outputs, saved) = outputs_of(out);
        let saved = self.grad_enabled().then_some(saved);
        let backend = self.backend().clone();
        let vars = self.record(outputs, &s.parents(), move |g| {
            // backward through time (see the backend kernels for the formulas)
            let saved = saved.ok_or_else(|| {
                recur_tensor::Error::invalid("recurrent", "backward on a tape without gradients")
            })?;
            backward_one(&backend, &saved, g)
        })?;
        Ok(SeqOut {
            output: vars[0],
            state_n: vars[1..].to_vec(),
        })
    }
}
