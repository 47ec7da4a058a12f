//! [`CellKind`]: which recurrent cell a fused sequence op runs, and [`CellSpec`]: a cell
//! with its sizes, declaring the parameters and state tensors a pass over it takes.
//!
//! The generic recurrent op ([`crate::seq_forward`]), the tape op over it and the layers
//! iterate over these declarations; only a cell's own kernels know what each entry means.

/// The recurrent cell a sequence op runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnTanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnRelu,
    /// LSTM with gates i, f, g, o (PyTorch order), optional projection `h = W_hr (o · tanh c)`.
    Lstm,
    /// GRU with gates r, z, n (PyTorch order), `b_hn` inside the reset product.
    Gru,
    /// minGRU (Feng et al. 2024), blocks z, h̃ of `x·W_ihᵀ + b_ih`: `z = σ(k_z)`,
    /// `h' = (1 − z)·h + z·h̃`. No recurrent weight: a linear scan over time.
    MinGru,
    /// minLSTM (Feng et al. 2024), blocks f, i, h̃: `f = σ(k_f)`, `i = σ(k_i)`,
    /// `h' = f/(f+i)·h + i/(f+i)·h̃`. No recurrent weight, no cell state.
    MinLstm,
}

impl std::str::FromStr for CellKind {
    type Err = String;

    /// `rnn` (or `rnn-tanh`), `rnn-relu`, `lstm`, `gru`, `mingru` or `minlstm`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rnn" | "rnn-tanh" => Ok(CellKind::RnnTanh),
            "rnn-relu" => Ok(CellKind::RnnRelu),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            "mingru" | "min-gru" | "min_gru" => Ok(CellKind::MinGru),
            "minlstm" | "min-lstm" | "min_lstm" => Ok(CellKind::MinLstm),
            _ => Err(format!(
                "unknown cell {s:?}: expected rnn, rnn-relu, lstm, gru, mingru or minlstm"
            )),
        }
    }
}

impl CellKind {
    /// Number of gate blocks `G` stacked in `W_ih` (and `W_hh`): 1, 4, 3, 2 or 3.
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
            CellKind::MinGru => 2,
            CellKind::MinLstm => 3,
        }
    }

    /// Op name prefix (`rnn`, `lstm`, `gru`, `mingru`, `minlstm`).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
            CellKind::MinGru => "mingru",
            CellKind::MinLstm => "minlstm",
        }
    }

    /// How the cell runs over time: through the previous state's recurrent product, or as
    /// an elementwise linear scan.
    pub fn recurrence(self) -> Recurrence {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu | CellKind::Lstm | CellKind::Gru => {
                Recurrence::Gated
            }
            CellKind::MinGru | CellKind::MinLstm => Recurrence::Scan,
        }
    }

    /// The state tensors the cell carries from step to step, in order: `h` (every cell),
    /// then `c` (LSTM).
    pub fn states(self) -> &'static [StateName] {
        match self {
            CellKind::Lstm => &[StateName::Hidden, StateName::Cell],
            _ => &[StateName::Hidden],
        }
    }

    /// Whether the cell carries a cell state `c` beside `h` (LSTM).
    pub fn has_cell_state(self) -> bool {
        self.states().contains(&StateName::Cell)
    }
}

/// The two ways a recurrent cell runs over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Every step multiplies the previous state by a recurrent weight `W_hh [G·H, H_out]`:
    /// RNN, LSTM, GRU.
    Gated,
    /// The gates read the input only, so the state follows `h_t = a_t ⊙ h_{t−1} + b_t`: every
    /// product is one GEMM over all steps before the scan, and the cell declares no
    /// recurrent parameter: minGRU, minLSTM.
    Scan,
}

/// A state tensor a cell carries from step to step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateName {
    /// The hidden state `h`, `[B, H_out]`: every cell's output at each step.
    Hidden,
    /// The LSTM's cell state `c`, `[B, H]`.
    Cell,
}

impl StateName {
    /// `h` or `c`: the name of the initial state (`h0`, `c0`) without its index.
    pub fn letter(self) -> &'static str {
        match self {
            StateName::Hidden => "h",
            StateName::Cell => "c",
        }
    }
}

/// Where a parameter of one layer and direction is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamRole {
    /// `W_ih [G·H, I]`: the input projection, one GEMM over every step outside the pass.
    InputWeight,
    /// `b_ih [G·H]`: the input projection's bias.
    InputBias,
    /// A parameter the recurrence itself reads, passed to [`crate::seq_forward`] in
    /// [`CellSpec::recurrent_params`] order.
    Recurrent,
}

/// One parameter of a cell (one layer, one direction) as the cell declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSlot {
    /// PyTorch's name without the layer suffix: `weight_ih`, `weight_hh`, `bias_ih`,
    /// `bias_hh`, `weight_hr`.
    pub name: &'static str,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Where it is used.
    pub role: ParamRole,
}

/// A recurrent cell with its sizes: what a pass over it takes and keeps.
///
/// # Shapes
/// `G` = [`CellKind::gates`], `H` = `hidden`, `H_out` = [`CellSpec::out`] (`proj` when
/// non-zero, else `H`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellSpec {
    /// The cell.
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// LSTM projection size `P` (`W_hr [P, H]`); 0 for none.
    pub proj: usize,
    /// Whether the cell has biases.
    pub bias: bool,
}

impl CellSpec {
    /// A cell without projection.
    pub fn new(kind: CellKind, hidden: usize, bias: bool) -> Self {
        CellSpec {
            kind,
            hidden,
            proj: 0,
            bias,
        }
    }

    /// Width of the hidden state it emits, `H_out`: `P` with a projection, else `H`.
    pub fn out(&self) -> usize {
        if self.proj > 0 {
            self.proj
        } else {
            self.hidden
        }
    }

    /// Width of its input projection (and of its gate activations), `G·H`.
    pub fn gate_width(&self) -> usize {
        self.kind.gates().saturating_mul(self.hidden)
    }

    /// Every parameter of one layer and direction reading `input` features, in PyTorch's
    /// order: `weight_ih [G·H, I]`, `weight_hh [G·H, H_out]`, `bias_ih [G·H]`,
    /// `bias_hh [G·H]`, `weight_hr [P, H]`. The scan cells have no `weight_hh` / `bias_hh`;
    /// only an LSTM with `proj > 0` has `weight_hr`; without bias there are no biases.
    pub fn params(&self, input: usize) -> Vec<ParamSlot> {
        let gh = self.gate_width();
        let gated = self.kind.recurrence() == Recurrence::Gated;
        let slot = |name, shape, role| ParamSlot { name, shape, role };
        let mut out = vec![slot("weight_ih", vec![gh, input], ParamRole::InputWeight)];
        if gated {
            out.push(slot(
                "weight_hh",
                vec![gh, self.out()],
                ParamRole::Recurrent,
            ));
        }
        if self.bias {
            out.push(slot("bias_ih", vec![gh], ParamRole::InputBias));
            if gated {
                out.push(slot("bias_hh", vec![gh], ParamRole::Recurrent));
            }
        }
        if self.proj > 0 {
            out.push(slot(
                "weight_hr",
                vec![self.proj, self.hidden],
                ParamRole::Recurrent,
            ));
        }
        out
    }

    /// The parameters the recurrence reads ([`ParamRole::Recurrent`]), in the order
    /// [`crate::SeqInputs::params`] holds them.
    pub fn recurrent_params(&self) -> Vec<ParamSlot> {
        let mut all = self.params(0);
        all.retain(|p| p.role == ParamRole::Recurrent);
        all
    }

    /// Puts values a kernel produced per parameter name (`named`, in any order) into
    /// [`CellSpec::recurrent_params`] order, each made with its slot's shape; an error
    /// names a declared parameter the kernel gave nothing for.
    pub fn in_param_order<V, X>(
        &self,
        op: &'static str,
        mut named: Vec<(&'static str, V)>,
        mut make: impl FnMut(Vec<usize>, V) -> crate::Result<X>,
    ) -> crate::Result<Vec<X>> {
        self.recurrent_params()
            .into_iter()
            .map(|slot| {
                let i = named
                    .iter()
                    .position(|(n, _)| *n == slot.name)
                    .ok_or_else(|| {
                        crate::Error::invalid(
                            op,
                            format!("the {:?} kernel gave no {}", self.kind, slot.name),
                        )
                    })?;
                make(slot.shape, named.swap_remove(i).1)
            })
            .collect()
    }

    /// Width of state `s`: `H_out` for `h`, `H` for `c`.
    pub fn state_width(&self, s: StateName) -> usize {
        match s {
            StateName::Hidden => self.out(),
            StateName::Cell => self.hidden,
        }
    }

    /// Checks the sizes against the kind: a positive hidden size, and a projection only on
    /// an LSTM.
    pub fn validate(&self, op: &'static str) -> crate::Result<()> {
        if self.hidden == 0 {
            return Err(crate::Error::invalid(op, "hidden size is 0"));
        }
        if self.proj > 0 && self.kind != CellKind::Lstm {
            return Err(crate::Error::invalid(
                op,
                format!(
                    "a projection (proj {}) is only for LSTM, not {:?}",
                    self.proj, self.kind
                ),
            ));
        }
        Ok(())
    }
}
