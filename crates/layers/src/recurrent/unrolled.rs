//! [`Recurrent::forward_unrolled`]: the reference the fused layer is tested against, the
//! same layer run cell by cell on primitive tape ops.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use super::{Recurrent, RecurrentOutput};
use crate::cells::cell_step;
use crate::{ParamStore, Result};

impl Recurrent {
    /// Reference implementation: the same layer unrolled cell by cell on primitive tape ops
    /// (padded input only, no dropout). Same inputs and outputs as [`Recurrent::forward`].
    pub fn forward_unrolled<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        input: Var,
        h0: Option<Var>,
        c0: Option<Var>,
    ) -> Result<RecurrentOutput> {
        let cfg = &self.config;
        let shape = tape.shape(input)?;
        if shape.len() != 3 || shape[2] != cfg.input_size {
            return Err(self.shape_err(format!("unexpected input shape {shape:?}")));
        }
        let (d, h, p) = (cfg.directions(), cfg.hidden_size, cfg.out_size());
        let mut x = if cfg.batch_first {
            tape.transpose01(input)?
        } else {
            input
        };
        let (t, b) = (tape.shape(x)?[0], tape.shape(x)?[1]);
        self.initial_states(tape, b, h0, c0)?;
        let (mut h_ns, mut c_ns) = (Vec::new(), Vec::new());
        for layer in 0..cfg.num_layers {
            let mut dir_outs = Vec::new();
            for dir in 0..d {
                let idx = layer * d + dir;
                let cp = self.cell_params(tape, store, idx)?;
                let mut hs = self.initial(tape, store, h0, idx, b, p)?;
                let mut cs = self.initial(tape, store, c0, idx, b, h)?;
                let mut outs = vec![None; t];
                let order: Vec<usize> = if dir == 1 {
                    (0..t).rev().collect()
                } else {
                    (0..t).collect()
                };
                for step in order {
                    let in_w = tape.shape(x)?[2];
                    let xt = tape.reshape(tape.narrow(x, 0, step, 1)?, &[b, in_w])?;
                    let (hn, cn) = cell_step(tape, &cp, cfg.kind, h, xt, (hs, Some(cs)))?;
                    hs = hn;
                    cs = cn.unwrap_or(cs);
                    outs[step] = Some(tape.reshape(hs, &[1, b, p])?);
                }
                let outs: Vec<Var> = outs.into_iter().flatten().collect();
                dir_outs.push(tape.cat(&outs, 0)?);
                h_ns.push(tape.reshape(hs, &[1, b, p])?);
                c_ns.push(tape.reshape(cs, &[1, b, h])?);
            }
            x = if d == 1 {
                dir_outs[0]
            } else {
                tape.cat(&dir_outs, 2)?
            };
        }
        let output = if cfg.batch_first {
            tape.transpose01(x)?
        } else {
            x
        };
        let h_n = tape.cat(&h_ns, 0)?;
        let c_n = if cfg.kind.has_cell_state() {
            Some(tape.cat(&c_ns, 0)?)
        } else {
            None
        };
        Ok(RecurrentOutput { output, h_n, c_n })
    }
}
