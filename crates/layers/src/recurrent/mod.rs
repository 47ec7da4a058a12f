//! Multi-layer, optionally bidirectional RNN / LSTM / GRU / minGRU / minLSTM layers with
//! PyTorch's options, parameter names and state layouts. Each layer and direction is one
//! fused op on the tape (the gated recurrence, or the scan); [`Recurrent::forward_unrolled`]
//! is the cell-by-cell reference.

use recur_autograd::{Tape, Var};
use recur_packed::PackedSequence;
use recur_tensor::{Backend, CellKind, Tensor};

use crate::cells::CellParams;
use crate::{LayerError, ParamId, ParamStore, Result, Rng};

mod config;
mod pass;
mod unrolled;

pub use config::RecurrentConfig;

/// Parameters of one layer and direction.
#[derive(Clone, Debug)]
struct DirParams {
    w_ih: ParamId,
    /// Absent for the scan cells (so is `b_hh`).
    w_hh: Option<ParamId>,
    b_ih: Option<ParamId>,
    b_hh: Option<ParamId>,
    w_hr: Option<ParamId>,
}

/// Outputs of a recurrent layer.
#[derive(Clone, Copy, Debug)]
pub struct RecurrentOutput {
    /// `[B, T, D·H_out]` (batch_first) or `[T, B, D·H_out]`; for packed input, the packed
    /// data `[N, D·H_out]`.
    pub output: Var,
    /// `[L·D, B, H_out]`, index `layer·D + direction`, original batch order.
    pub h_n: Var,
    /// `[L·D, B, H]` (LSTM).
    pub c_n: Option<Var>,
}

/// A multi-layer recurrent layer (PyTorch `nn.RNN` / `nn.LSTM` / `nn.GRU`, and minGRU /
/// minLSTM with the same options but `proj_size`).
#[derive(Clone, Debug)]
pub struct Recurrent {
    /// The prefix of its parameters (`rnn`), naming it in errors.
    pub name: String,
    /// The options it was built with.
    pub config: RecurrentConfig,
    params: Vec<DirParams>,
}

impl Recurrent {
    /// Registers `{prefix}.weight_ih_l{k}{_reverse}` etc. in PyTorch's order, all drawn from
    /// `U(-1/√H, 1/√H)`. Prints PyTorch's warning for dropout with one layer.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        prefix: &str,
        config: RecurrentConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        for w in config.validate()? {
            eprintln!("warning: {w}");
        }
        let (h, d) = (config.hidden_size, config.directions());
        let gh = config.kind.gates() * h;
        let k = 1.0 / (h as f64).sqrt();
        let mut params = Vec::new();
        for layer in 0..config.num_layers {
            let in_size = if layer == 0 {
                config.input_size
            } else {
                d * config.out_size()
            };
            for dir in 0..d {
                let sfx = format!("l{layer}{}", if dir == 1 { "_reverse" } else { "" });
                let name = |n: &str| {
                    if prefix.is_empty() {
                        format!("{n}_{sfx}")
                    } else {
                        format!("{prefix}.{n}_{sfx}")
                    }
                };
                let w_ih = store.add_uniform(&name("weight_ih"), &[gh, in_size], k, rng)?;
                let gated = config.has_recurrent_weight();
                let w_hh = gated
                    .then(|| {
                        store.add_uniform(&name("weight_hh"), &[gh, config.out_size()], k, rng)
                    })
                    .transpose()?;
                let b_ih = config
                    .bias
                    .then(|| store.add_uniform(&name("bias_ih"), &[gh], k, rng))
                    .transpose()?;
                let b_hh = (config.bias && gated)
                    .then(|| store.add_uniform(&name("bias_hh"), &[gh], k, rng))
                    .transpose()?;
                let w_hr = if config.proj_size > 0 {
                    Some(store.add_uniform(&name("weight_hr"), &[config.proj_size, h], k, rng)?)
                } else {
                    None
                };
                params.push(DirParams {
                    w_ih,
                    w_hh,
                    b_ih,
                    b_hh,
                    w_hr,
                });
            }
        }
        Ok(Recurrent {
            name: if prefix.is_empty() {
                "rnn".to_string()
            } else {
                prefix.to_string()
            },
            config,
            params,
        })
    }

    fn shape_err(&self, detail: String) -> LayerError {
        LayerError::Shape {
            layer: format!("{} ({})", self.name, self.config.kind.name()),
            detail,
        }
    }

    fn cell_params<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        idx: usize,
    ) -> Result<CellParams> {
        let p = &self.params[idx];
        let var = |id: ParamId| store.var_of(tape, id, &self.name);
        Ok(CellParams {
            w_ih: var(p.w_ih)?,
            w_hh: p.w_hh.map(var).transpose()?,
            b_ih: p.b_ih.map(var).transpose()?,
            b_hh: p.b_hh.map(var).transpose()?,
            w_hr: p.w_hr.map(var).transpose()?,
        })
    }

    /// Checks `h0 [L·D, B, H_out]` / `c0 [L·D, B, H]` against batch size `b`.
    fn check_states<B: Backend>(
        &self,
        tape: &Tape<B>,
        b: usize,
        h0: Option<Var>,
        c0: Option<Var>,
    ) -> Result<()> {
        let ld = self.config.num_layers * self.config.directions();
        if let Some(h0) = h0 {
            let want = [ld, b, self.config.out_size()];
            if tape.shape(h0)? != want {
                return Err(self.shape_err(format!(
                    "expected hidden size {want:?}, got {:?}",
                    tape.shape(h0)?
                )));
            }
        }
        match (self.config.kind, c0) {
            (CellKind::Lstm, Some(c0)) => {
                let want = [ld, b, self.config.hidden_size];
                if tape.shape(c0)? != want {
                    return Err(self.shape_err(format!(
                        "expected cell size {want:?}, got {:?}",
                        tape.shape(c0)?
                    )));
                }
            }
            (CellKind::Lstm, None) => {}
            (_, Some(_)) => return Err(self.shape_err("c0 is only accepted by LSTM".into())),
            (_, None) => {}
        }
        Ok(())
    }

    /// Padded input: `[B, T, I]` (batch_first) or `[T, B, I]`, optional `h0`, `c0`.
    /// `train_rng` enables inter-layer dropout (training) and draws its masks.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        input: Var,
        h0: Option<Var>,
        c0: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<RecurrentOutput> {
        let shape = tape.shape(input)?;
        if shape.len() != 3 {
            return Err(self.shape_err(format!(
                "expected a 3-D input ([B, T, I] with batch_first, else [T, B, I]), got {shape:?}"
            )));
        }
        if shape[2] != self.config.input_size {
            return Err(self.shape_err(format!(
                "input.size(-1) must be equal to input_size. Expected {}, got {}",
                self.config.input_size, shape[2]
            )));
        }
        let (b, t) = if self.config.batch_first {
            (shape[0], shape[1])
        } else {
            (shape[1], shape[0])
        };
        if b == 0 || t == 0 {
            return Err(self.shape_err(format!("empty input {shape:?}")));
        }
        self.check_states(tape, b, h0, c0)?;
        let time_major = if self.config.batch_first {
            tape.transpose01(input)?
        } else {
            input
        };
        let data = tape.reshape(time_major, &[t * b, self.config.input_size])?;
        let batch_sizes = vec![b; t];
        let (out, h_n, c_n) = self.run_packed(
            tape,
            store,
            FirstLayer::Rows(data),
            &batch_sizes,
            h0,
            c0,
            train_rng,
        )?;
        let width = self.config.directions() * self.config.out_size();
        let out = tape.reshape(out, &[t, b, width])?;
        let output = if self.config.batch_first {
            tape.transpose01(out)?
        } else {
            out
        };
        Ok(RecurrentOutput { output, h_n, c_n })
    }

    /// Packed input; returns the packed output (same batch sizes and permutation) and
    /// `h_n`/`c_n` in the original batch order. `h0`/`c0` are in the original order too.
    pub fn forward_packed<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        input: &PackedSequence,
        h0: Option<Var>,
        c0: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<(PackedSequence, RecurrentOutput)> {
        self.packed_pass(tape, store, input, None, h0, c0, train_rng)
    }

    /// [`Recurrent::forward_packed`] for inference from the first layer's input
    /// projections (`x · W_ihᵀ + b_ih`, `[N, G·H]` per direction, rows in `input`'s packed
    /// order, e.g. gathered from [`Recurrent::input_table`]): `input` gives the batch
    /// sizes and permutation, its data is not read.
    pub fn forward_projected<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        input: &PackedSequence,
        projected: &[Var],
    ) -> Result<(PackedSequence, RecurrentOutput)> {
        let gh = self.config.kind.gates() * self.config.hidden_size;
        for &p in projected {
            let shape = tape.shape(p)?;
            if shape != [input.rows(), gh] {
                return Err(self.shape_err(format!(
                    "input projection: expected [{}, {gh}], got {shape:?}",
                    input.rows()
                )));
            }
        }
        self.packed_pass(tape, store, input, Some(projected), None, None, None)
    }

    /// The first layer's input projection of every row of `table [V, I]` (an embedding's
    /// weight), one `[V, G·H]` per direction: gathering its rows by token id gives what the
    /// first layer computes from the embedded tokens, without the product.
    pub fn input_table<B: Backend>(
        &self,
        store: &ParamStore<B>,
        table: &Tensor<B>,
    ) -> Result<Vec<Tensor<B>>> {
        (0..self.config.directions())
            .map(|dir| {
                let p = &self.params[dir];
                let w = store.get(p.w_ih)?;
                let b = p.b_ih.map(|b| store.get(b)).transpose()?;
                Ok(table.linear(w, b)?)
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn packed_pass<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        input: &PackedSequence,
        projected: Option<&[Var]>,
        h0: Option<Var>,
        c0: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<(PackedSequence, RecurrentOutput)> {
        let shape = tape.shape(input.data())?;
        let width = match projected {
            Some(_) => self.config.kind.gates() * self.config.hidden_size,
            None => self.config.input_size,
        };
        if shape.len() != 2 || shape[1] != width || shape[0] != input.rows() {
            return Err(self.shape_err(format!(
                "packed data: expected [{}, {width}], got {shape:?}",
                input.rows(),
            )));
        }
        let b = input.batch();
        self.check_states(tape, b, h0, c0)?;
        let permute = |v: Option<Var>, idx: Option<&[usize]>| -> Result<Option<Var>> {
            match (v, idx) {
                (Some(v), Some(idx)) => {
                    let bt = tape.transpose01(v)?;
                    Ok(Some(tape.transpose01(tape.gather_rows(bt, idx)?)?))
                }
                (v, _) => Ok(v),
            }
        };
        let h0 = permute(h0, input.sorted_indices())?;
        let c0 = permute(c0, input.sorted_indices())?;
        let first = match projected {
            Some(p) => FirstLayer::Projected(p),
            None => FirstLayer::Rows(input.data()),
        };
        let (out, h_n, c_n) =
            self.run_packed(tape, store, first, input.batch_sizes(), h0, c0, train_rng)?;
        let h_n = permute(Some(h_n), input.unsorted_indices())?.unwrap_or(h_n);
        let c_n = match c_n {
            Some(c) => permute(Some(c), input.unsorted_indices())?,
            None => None,
        };
        Ok((
            input.with_data(out),
            RecurrentOutput {
                output: out,
                h_n,
                c_n,
            },
        ))
    }
}

/// What the first layer reads.
#[derive(Clone, Copy)]
enum FirstLayer<'a> {
    /// The input rows `[N, I]`.
    Rows(Var),
    /// Their projections `x · W_ihᵀ + b_ih`, `[N, G·H]` per direction.
    Projected(&'a [Var]),
}
