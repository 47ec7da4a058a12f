//! The pass of a [`Recurrent`] layer over packed rows: every layer and direction in turn,
//! each one fused op on the tape (both directions of a layer at once), inter-layer dropout
//! when training, and the final states gathered. Nothing here depends on the cell: its
//! recurrent parameters and states are the lists its `CellSpec` declares.

use recur_autograd::{SeqOut, SeqVars, Tape, Var};
use recur_tensor::{Backend, Tensor};

use super::{FirstLayer, Recurrent};
use crate::{ParamStore, Result, Rng};

impl Recurrent {
    /// Initial state `idx` of `[L·D, B, W]` as `[B, W]`, or zeros.
    pub(super) fn initial<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        all: Option<Var>,
        idx: usize,
        b: usize,
        width: usize,
    ) -> Result<Var> {
        Ok(match all {
            Some(all) => tape.reshape(tape.narrow(all, 0, idx, 1)?, &[b, width])?,
            None => tape.constant(Tensor::zeros(store.backend(), &[b, width], store.dtype())?),
        })
    }

    /// Runs every layer and direction over packed rows (`first`: the rows `[N, I]`, or the
    /// first layer's input projections). `init` holds each of the cell's states as
    /// `[L·D, B, W]` (absent: zeros), in packed order; returns the last layer's output and
    /// each state's final values `[L·D, B, W]`, in the same order.
    pub(super) fn run_packed<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        first: FirstLayer<'_>,
        batch_sizes: &[usize],
        init: &[Option<Var>],
        mut train_rng: Option<&mut Rng>,
    ) -> Result<(Var, Vec<Var>)> {
        let cfg = &self.config;
        let cell = cfg.cell();
        let states = cfg.kind.states();
        let d = cfg.directions();
        let b = batch_sizes[0];
        let (mut layer_input, projected) = match first {
            FirstLayer::Rows(data) => (data, None),
            FirstLayer::Projected(p) => {
                if p.len() != d {
                    return Err(
                        self.shape_err(format!("{} input projections for {d} directions", p.len()))
                    );
                }
                (p[0], Some(p))
            }
        };
        // per state, every layer-direction's final value
        let mut finals = vec![Vec::new(); states.len()];
        for layer in 0..cfg.num_layers {
            if layer > 0 && cfg.dropout > 0.0 {
                if let Some(rng) = train_rng.as_deref_mut() {
                    layer_input =
                        crate::dropout(tape, layer_input, cfg.dropout, store.dtype(), rng)?;
                }
            }
            let mut seqs = Vec::with_capacity(d);
            for dir in 0..d {
                let idx = layer * d + dir;
                let p = &self.params[idx];
                let x_proj = match projected.filter(|_| layer == 0) {
                    Some(proj) => proj[dir],
                    None => {
                        let w_ih = store.var_of(tape, p.w_ih, &self.name)?;
                        let b_ih = p
                            .b_ih
                            .map(|id| store.var_of(tape, id, &self.name))
                            .transpose()?;
                        tape.linear(layer_input, w_ih, b_ih)?
                    }
                };
                let state0 = states
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| {
                        let given = init.get(i).copied().flatten();
                        self.initial(tape, store, given, idx, b, cell.state_width(s))
                    })
                    .collect::<Result<Vec<_>>>()?;
                seqs.push(SeqVars {
                    cell,
                    x_proj,
                    params: self.recurrent_vars(tape, store, idx)?,
                    state0,
                    batch_sizes,
                    reverse: dir == 1,
                });
            }
            let results: Vec<SeqOut> = if d == 2 {
                tape.recurrent_pair(&seqs[0], &seqs[1])?.to_vec()
            } else {
                vec![tape.recurrent(&seqs[0])?]
            };
            let mut outs = Vec::with_capacity(d);
            for r in results {
                outs.push(r.output);
                for ((&s, v), all) in states.iter().zip(r.state_n).zip(&mut finals) {
                    all.push(tape.reshape(v, &[1, b, cell.state_width(s)])?);
                }
            }
            layer_input = if d == 1 { outs[0] } else { tape.cat(&outs, 1)? };
        }
        let finals = finals
            .iter()
            .map(|all| tape.cat(all, 0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((layer_input, finals))
    }
}
