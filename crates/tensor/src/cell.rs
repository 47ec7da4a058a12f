//! [`CellKind`]: which recurrent cell a fused sequence op runs.

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

    /// The error for this cell sent to the other family's op (`op`): a scan cell to the
    /// gated recurrence, or a gated cell to the scan.
    pub fn wrong_family(self, op: &'static str) -> crate::Error {
        let detail = match self.recurrence() {
            Recurrence::Scan => format!("{self:?} is a scan cell: it runs through scan_forward"),
            Recurrence::Gated => {
                format!("{self:?} is not a scan cell: it runs through seq_forward")
            }
        };
        crate::Error::invalid(op, detail)
    }

    /// Whether the cell carries a cell state `c` beside `h` (LSTM).
    pub fn has_cell_state(self) -> bool {
        self == CellKind::Lstm
    }
}

/// The two ways a recurrent cell runs over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Every step multiplies the previous state by a recurrent weight `W_hh [G·H, H_out]`
    /// ([`crate::seq_forward`]): RNN, LSTM, GRU.
    Gated,
    /// The gates read the input only, so the state follows `h_t = a_t ⊙ h_{t−1} + b_t`: every
    /// product is one GEMM over all steps before the scan ([`crate::scan_forward`]): minGRU,
    /// minLSTM.
    Scan,
}
