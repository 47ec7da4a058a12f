//! RNN, LSTM, GRU, minGRU and minLSTM cells: one time step composed from primitive tape ops.
//! They are the reference the fused sequence ops are tested against, and PyTorch's
//! `nn.*Cell` modules (minGRU / minLSTM: the same shape with `weight_ih`, `bias_ih` only).

use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, CellKind, Recurrence, Tensor};

use crate::{Bias, LayerError, ParamId, ParamStore, Result, Rng};

/// The tape variables of one cell's parameters.
#[derive(Clone, Copy, Debug)]
pub struct CellParams {
    /// `[G·H, I]`.
    pub w_ih: Var,
    /// `[G·H, H_out]` (absent for the scan cells, whose gates read the input only).
    pub w_hh: Option<Var>,
    /// `[G·H]`.
    pub b_ih: Option<Var>,
    /// `[G·H]`.
    pub b_hh: Option<Var>,
    /// `[P, H]` (LSTM projection).
    pub w_hr: Option<Var>,
}

impl CellParams {
    /// `x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh`, or an error for a cell without `W_hh`.
    fn both<B: Backend>(&self, tape: &Tape<B>, x: Var, h: Var) -> Result<(Var, Var)> {
        let w_hh = self.w_hh.ok_or_else(|| {
            LayerError::Config("a gated cell step needs its recurrent weight".into())
        })?;
        Ok((
            tape.linear(x, self.w_ih, self.b_ih)?,
            tape.linear(h, w_hh, self.b_hh)?,
        ))
    }
}

/// `h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)` for `x [B, I]`, `h [B, H]`.
pub fn rnn_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    relu: bool,
    x: Var,
    h: Var,
) -> Result<Var> {
    let (gi, gh) = p.both(tape, x, h)?;
    let pre = tape.add(gi, gh)?;
    Ok(if relu {
        tape.relu(pre)?
    } else {
        tape.tanh(pre)?
    })
}

/// One LSTM step (gates i, f, g, o): `c' = f·c + i·g`, `h' = o·tanh(c')` (then `W_hr ·` with
/// projection). Returns `(h' [B, H_out], c' [B, H])`.
pub fn lstm_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    hidden: usize,
    x: Var,
    h: Var,
    c: Var,
) -> Result<(Var, Var)> {
    let (gi, gh) = p.both(tape, x, h)?;
    let gates = tape.add(gi, gh)?;
    let gate = |k: usize| tape.narrow(gates, 1, k * hidden, hidden);
    let i = tape.sigmoid(gate(0)?)?;
    let f = tape.sigmoid(gate(1)?)?;
    let g = tape.tanh(gate(2)?)?;
    let o = tape.sigmoid(gate(3)?)?;
    let c_new = tape.add(tape.mul(f, c)?, tape.mul(i, g)?)?;
    let mut h_new = tape.mul(o, tape.tanh(c_new)?)?;
    if let Some(w_hr) = p.w_hr {
        h_new = tape.linear(h_new, w_hr, None)?;
    }
    Ok((h_new, c_new))
}

/// One GRU step (gates r, z, n): `n = tanh(x_n + r·(W_hn h + b_hn))`, `h' = (1−z)·n + z·h`.
pub fn gru_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    hidden: usize,
    x: Var,
    h: Var,
) -> Result<Var> {
    let (gi, gh) = p.both(tape, x, h)?;
    let part = |v: Var, k: usize| tape.narrow(v, 1, k * hidden, hidden);
    let r = tape.sigmoid(tape.add(part(gi, 0)?, part(gh, 0)?)?)?;
    let z = tape.sigmoid(tape.add(part(gi, 1)?, part(gh, 1)?)?)?;
    let n = tape.tanh(tape.add(part(gi, 2)?, tape.mul(r, part(gh, 2)?)?)?)?;
    // (1−z)·n + z·h = n + z·(h − n)
    Ok(tape.add(n, tape.mul(z, tape.sub(h, n)?)?)?)
}

/// One minGRU step (blocks z, h̃ of `x·W_ihᵀ + b_ih`): `z = σ(k_z)`,
/// `h' = (1−z)·h + z·h̃ = h + z·(h̃ − h)`.
pub fn min_gru_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    hidden: usize,
    x: Var,
    h: Var,
) -> Result<Var> {
    let gi = tape.linear(x, p.w_ih, p.b_ih)?;
    let z = tape.sigmoid(tape.narrow(gi, 1, 0, hidden)?)?;
    let c = tape.narrow(gi, 1, hidden, hidden)?;
    Ok(tape.add(h, tape.mul(z, tape.sub(c, h)?)?)?)
}

/// One minLSTM step (blocks f, i, h̃ of `x·W_ihᵀ + b_ih`): `f = σ(k_f)`, `i = σ(k_i)`,
/// `h' = f/(f+i)·h + i/(f+i)·h̃`.
pub fn min_lstm_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    hidden: usize,
    x: Var,
    h: Var,
) -> Result<Var> {
    let gi = tape.linear(x, p.w_ih, p.b_ih)?;
    let part = |k: usize| tape.narrow(gi, 1, k * hidden, hidden);
    let f = tape.sigmoid(part(0)?)?;
    let i = tape.sigmoid(part(1)?)?;
    let sum = tape.add(f, i)?;
    let keep = tape.mul(tape.div(f, sum)?, h)?;
    Ok(tape.add(keep, tape.mul(tape.div(i, sum)?, part(2)?)?)?)
}

/// One step of any cell from state `h` (and `c`, LSTM): `(h', c')`.
pub fn cell_step<B: Backend>(
    tape: &Tape<B>,
    p: &CellParams,
    kind: CellKind,
    hidden: usize,
    x: Var,
    (h, c): (Var, Option<Var>),
) -> Result<(Var, Option<Var>)> {
    Ok(match kind {
        CellKind::RnnTanh => (rnn_step(tape, p, false, x, h)?, None),
        CellKind::RnnRelu => (rnn_step(tape, p, true, x, h)?, None),
        CellKind::Gru => (gru_step(tape, p, hidden, x, h)?, None),
        CellKind::MinGru => (min_gru_step(tape, p, hidden, x, h)?, None),
        CellKind::MinLstm => (min_lstm_step(tape, p, hidden, x, h)?, None),
        CellKind::Lstm => {
            let c =
                c.ok_or_else(|| LayerError::Config("an LSTM step needs its cell state".into()))?;
            let (h, c) = lstm_step(tape, p, hidden, x, h, c)?;
            (h, Some(c))
        }
    })
}

/// PyTorch's `RNNCell` / `LSTMCell` / `GRUCell`: one step with parameters `weight_ih`,
/// `weight_hh`, `bias_ih`, `bias_hh` (minGRU / minLSTM: `weight_ih`, `bias_ih`).
#[derive(Clone, Debug)]
pub struct Cell {
    /// The prefix of its parameters, naming it in errors.
    pub name: String,
    /// Which cell.
    pub kind: CellKind,
    /// Input size `I`.
    pub input_size: usize,
    /// Hidden size `H`.
    pub hidden_size: usize,
    /// `[G·H, I]`.
    pub weight_ih: ParamId,
    /// `[G·H, H]` (absent for the scan cells).
    pub weight_hh: Option<ParamId>,
    /// `[G·H]`.
    pub bias_ih: Option<ParamId>,
    /// `[G·H]`.
    pub bias_hh: Option<ParamId>,
}

impl Cell {
    /// Registers `{prefix}.weight_ih` etc., all `U(-1/√H, 1/√H)` (`weight_hh` and `bias_hh`
    /// only for the cells with a recurrent weight).
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        prefix: &str,
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        bias: Bias,
        rng: &mut Rng,
    ) -> Result<Self> {
        if hidden_size == 0 || input_size == 0 {
            return Err(LayerError::Config(format!(
                "cell sizes must be positive (input_size {input_size}, hidden_size {hidden_size})"
            )));
        }
        let gh = kind.gates() * hidden_size;
        let k = 1.0 / (hidden_size as f64).sqrt();
        let name = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}.{n}")
            }
        };
        let weight_ih = store.add_uniform(&name("weight_ih"), &[gh, input_size], k, rng)?;
        let gated = kind.recurrence() == Recurrence::Gated;
        let weight_hh = gated
            .then(|| store.add_uniform(&name("weight_hh"), &[gh, hidden_size], k, rng))
            .transpose()?;
        let with = bias == Bias::With;
        let bias_ih = with
            .then(|| store.add_uniform(&name("bias_ih"), &[gh], k, rng))
            .transpose()?;
        let bias_hh = (with && gated)
            .then(|| store.add_uniform(&name("bias_hh"), &[gh], k, rng))
            .transpose()?;
        Ok(Cell {
            name: prefix.to_string(),
            kind,
            input_size,
            hidden_size,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        })
    }

    /// One step: `x [B, I]`, optional `h [B, H]` and (LSTM) `c [B, H]` (zeros when absent).
    /// Returns `(h', c')` (`c'` for LSTM only).
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        x: Var,
        h: Option<Var>,
        c: Option<Var>,
    ) -> Result<(Var, Option<Var>)> {
        let xs = tape.shape(x)?;
        if xs.len() != 2 || xs[1] != self.input_size {
            return Err(LayerError::Shape {
                layer: format!("{}cell", self.kind.name()),
                detail: format!("input: expected [B, {}], found {xs:?}", self.input_size),
            });
        }
        let b = xs[0];
        let state = |v: Option<Var>, what: &str| -> Result<Var> {
            match v {
                Some(v) if tape.shape(v)? == [b, self.hidden_size] => Ok(v),
                Some(v) => Err(LayerError::Shape {
                    layer: format!("{}cell", self.kind.name()),
                    detail: format!(
                        "{what}: expected [{b}, {}], found {:?}",
                        self.hidden_size,
                        tape.shape(v)?
                    ),
                }),
                None => Ok(tape.constant(Tensor::zeros(
                    store.backend(),
                    &[b, self.hidden_size],
                    store.dtype(),
                )?)),
            }
        };
        let h = state(h, "hx")?;
        let p = CellParams {
            w_ih: store.var_of(tape, self.weight_ih, &self.name)?,
            w_hh: self
                .weight_hh
                .map(|id| store.var_of(tape, id, &self.name))
                .transpose()?,
            b_ih: self
                .bias_ih
                .map(|id| store.var_of(tape, id, &self.name))
                .transpose()?,
            b_hh: self
                .bias_hh
                .map(|id| store.var_of(tape, id, &self.name))
                .transpose()?,
            w_hr: None,
        };
        let c = match self.kind.has_cell_state() {
            true => Some(state(c, "cx")?),
            false => None,
        };
        cell_step(tape, &p, self.kind, self.hidden_size, x, (h, c))
    }
}
