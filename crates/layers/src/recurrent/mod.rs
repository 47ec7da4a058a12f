//! Multi-layer, optionally bidirectional RNN / LSTM / GRU / minGRU / minLSTM layers with
//! PyTorch's options, parameter names and state layouts. Each layer and direction is one
//! fused op on the tape (the gated recurrence, or the scan); [`Recurrent::forward_unrolled`]
//! is the cell-by-cell reference.

use recur_autograd::{Tape, Var};
use recur_packed::PackedSequence;
use recur_tensor::{Backend, ParamRole, StateName, Tensor};

use crate::cells::CellParams;
use crate::{LayerError, ParamId, ParamStore, Result, Rng};

mod config;
mod pass;
mod unrolled;

pub use config::RecurrentConfig;

/// Parameters of one layer and direction.
#[derive(Clone, Debug)]
struct DirParams {
    /// `weight_ih`: the input projection.
    w_ih: ParamId,
    /// `bias_ih`, with bias.
    b_ih: Option<ParamId>,
    /// What the recurrence reads, in the cell's `CellSpec::recurrent_params` order.
    recurrent: Vec<ParamId>,
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
                let (mut w_ih, mut b_ih, mut recurrent) = (None, None, Vec::new());
                // every parameter the cell declares, in PyTorch's order (the draws' order)
                for slot in config.cell().params(in_size) {
                    let id = store.add_uniform(&name(slot.name), &slot.shape, k, rng)?;
                    match slot.role {
                        ParamRole::InputWeight => w_ih = Some(id),
                        ParamRole::InputBias => b_ih = Some(id),
                        ParamRole::Recurrent => recurrent.push(id),
                    }
                }
                let w_ih = w_ih.ok_or_else(|| {
                    LayerError::Config(format!("{:?} declares no weight_ih", config.kind))
                })?;
                params.push(DirParams {
                    w_ih,
                    b_ih,
                    recurrent,
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

    /// Layer-direction `idx`'s recurrent parameters on the tape, in the cell's order.
    fn recurrent_vars<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        idx: usize,
    ) -> Result<Vec<Var>> {
        self.params[idx]
            .recurrent
            .iter()
            .map(|&id| store.var_of(tape, id, &self.name))
            .collect()
    }

    /// Layer-direction `idx`'s parameters for the cell-by-cell reference.
    fn cell_params<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        idx: usize,
    ) -> Result<CellParams> {
        let p = &self.params[idx];
        let var = |id: ParamId| store.var_of(tape, id, &self.name);
        let slots = self.config.cell().recurrent_params();
        let named = |n: &str| -> Result<Option<Var>> {
            let i = slots.iter().position(|s| s.name == n);
            i.and_then(|i| p.recurrent.get(i))
                .map(|&id| var(id))
                .transpose()
        };
        Ok(CellParams {
            w_ih: var(p.w_ih)?,
            w_hh: named("weight_hh")?,
            b_ih: p.b_ih.map(var).transpose()?,
            b_hh: named("bias_hh")?,
            w_hr: named("weight_hr")?,
        })
    }

    /// The initial states as given (`h0`, `c0`) in the cell's state order, each checked
    /// against `[L·D, b, width]`; a state the cell does not carry is refused.
    fn initial_states<B: Backend>(
        &self,
        tape: &Tape<B>,
        b: usize,
        h0: Option<Var>,
        c0: Option<Var>,
    ) -> Result<Vec<Option<Var>>> {
        let states = self.config.kind.states();
        if c0.is_some() && !states.contains(&StateName::Cell) {
            return Err(self.shape_err(format!(
                "c0 is only accepted by LSTM, not {}",
                self.config.kind.name()
            )));
        }
        let ld = self.config.num_layers * self.config.directions();
        let cell = self.config.cell();
        states
            .iter()
            .map(|&s| {
                let (given, what) = match s {
                    StateName::Hidden => (h0, "hidden"),
                    StateName::Cell => (c0, "cell"),
                };
                if let Some(v) = given {
                    let want = [ld, b, cell.state_width(s)];
                    if tape.shape(v)? != want {
                        return Err(self.shape_err(format!(
                            "expected {what} size {want:?}, got {:?}",
                            tape.shape(v)?
                        )));
                    }
                }
                Ok(given)
            })
            .collect()
    }

    /// The final states of a pass (in the cell's order) as [`RecurrentOutput`]'s `h_n`, `c_n`.
    fn final_states(&self, states: Vec<Var>) -> Result<(Var, Option<Var>)> {
        let mut by_name = self.config.kind.states().iter().zip(states);
        let h_n = match by_name.next() {
            Some((StateName::Hidden, v)) => v,
            _ => return Err(self.shape_err("the pass returned no hidden state".into())),
        };
        let c_n = by_name
            .find(|(s, _)| **s == StateName::Cell)
            .map(|(_, v)| v);
        Ok((h_n, c_n))
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
        let init = self.initial_states(tape, b, h0, c0)?;
        let time_major = if self.config.batch_first {
            tape.transpose01(input)?
        } else {
            input
        };
        let data = tape.reshape(time_major, &[t * b, self.config.input_size])?;
        let batch_sizes = vec![b; t];
        let (out, states) = self.run_packed(
            tape,
            store,
            FirstLayer::Rows(data),
            &batch_sizes,
            &init,
            train_rng,
        )?;
        let (h_n, c_n) = self.final_states(states)?;
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
        let init = self.initial_states(tape, b, h0, c0)?;
        let permute = |v: Option<Var>, idx: Option<&[usize]>| -> Result<Option<Var>> {
            match (v, idx) {
                (Some(v), Some(idx)) => {
                    let bt = tape.transpose01(v)?;
                    Ok(Some(tape.transpose01(tape.gather_rows(bt, idx)?)?))
                }
                (v, _) => Ok(v),
            }
        };
        let init = init
            .into_iter()
            .map(|s| permute(s, input.sorted_indices()))
            .collect::<Result<Vec<_>>>()?;
        let first = match projected {
            Some(p) => FirstLayer::Projected(p),
            None => FirstLayer::Rows(input.data()),
        };
        let (out, states) =
            self.run_packed(tape, store, first, input.batch_sizes(), &init, train_rng)?;
        let states = states
            .into_iter()
            .map(|s| Ok(permute(Some(s), input.unsorted_indices())?.unwrap_or(s)))
            .collect::<Result<Vec<_>>>()?;
        let (h_n, c_n) = self.final_states(states)?;
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
