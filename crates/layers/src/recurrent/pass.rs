//! The pass of a [`Recurrent`] layer over packed rows: every layer and direction in turn,
//! each one fused op on the tape (the gated recurrence, both directions of a layer at once;
//! or the scan of a minGRU / minLSTM layer), inter-layer dropout when training, and the
//! final states gathered.

use recur_autograd::{ScanVars, SeqVars, Tape, Var};
use recur_tensor::{Backend, Recurrence, Tensor};

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
    /// first layer's input projections); states in packed order.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_packed<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        first: FirstLayer<'_>,
        batch_sizes: &[usize],
        h0: Option<Var>,
        c0: Option<Var>,
        mut train_rng: Option<&mut Rng>,
    ) -> Result<(Var, Var, Option<Var>)> {
        let cfg = &self.config;
        let (d, h, p) = (cfg.directions(), cfg.hidden_size, cfg.out_size());
        let b = batch_sizes[0];
        let lstm = cfg.kind.has_cell_state();
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
        let (mut h_ns, mut c_ns) = (Vec::new(), Vec::new());
        for layer in 0..cfg.num_layers {
            if layer > 0 && cfg.dropout > 0.0 {
                if let Some(rng) = train_rng.as_deref_mut() {
                    layer_input =
                        crate::dropout(tape, layer_input, cfg.dropout, store.dtype(), rng)?;
                }
            }
            let mut dirs = Vec::with_capacity(d);
            for dir in 0..d {
                let idx = layer * d + dir;
                let cp = self.cell_params(tape, store, idx)?;
                let x_proj = match projected.filter(|_| layer == 0) {
                    Some(p) => p[dir],
                    None => tape.linear(layer_input, cp.w_ih, cp.b_ih)?,
                };
                let h_init = self.initial(tape, store, h0, idx, b, p)?;
                let c_init = if lstm {
                    Some(self.initial(tape, store, c0, idx, b, h)?)
                } else {
                    None
                };
                dirs.push((cp, x_proj, h_init, c_init));
            }
            let results = match cfg.kind.recurrence() {
                Recurrence::Gated => {
                    let mut seqs = Vec::with_capacity(d);
                    for (dir, &(cp, x_proj, h0, c0)) in dirs.iter().enumerate() {
                        let w_hh = cp.w_hh.ok_or_else(|| {
                            self.shape_err("a gated layer without its recurrent weight".into())
                        })?;
                        seqs.push(SeqVars {
                            kind: cfg.kind,
                            hidden: h,
                            x_proj,
                            w_hh,
                            b_hh: cp.b_hh,
                            w_hr: cp.w_hr,
                            h0,
                            c0,
                            batch_sizes,
                            reverse: dir == 1,
                        });
                    }
                    if d == 2 {
                        tape.recurrent_pair(&seqs[0], &seqs[1])?.to_vec()
                    } else {
                        vec![tape.recurrent(&seqs[0])?]
                    }
                }
                Recurrence::Scan => {
                    let mut out = Vec::with_capacity(d);
                    for (dir, &(_, x_proj, h0, _)) in dirs.iter().enumerate() {
                        let (o, h_n) = tape.scan(&ScanVars {
                            kind: cfg.kind,
                            hidden: h,
                            x_proj,
                            h0,
                            batch_sizes,
                            reverse: dir == 1,
                        })?;
                        out.push((o, h_n, None));
                    }
                    out
                }
            };
            let mut outs = Vec::with_capacity(d);
            for (out, h_n, c_n) in results {
                outs.push(out);
                h_ns.push(tape.reshape(h_n, &[1, b, p])?);
                if let Some(c_n) = c_n {
                    c_ns.push(tape.reshape(c_n, &[1, b, h])?);
                }
            }
            layer_input = if d == 1 { outs[0] } else { tape.cat(&outs, 1)? };
        }
        let h_n = tape.cat(&h_ns, 0)?;
        let c_n = if lstm {
            Some(tape.cat(&c_ns, 0)?)
        } else {
            None
        };
        Ok((layer_input, h_n, c_n))
    }
}
