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
}

impl std::str::FromStr for CellKind {
    type Err = String;

    /// `rnn` (or `rnn-tanh`), `rnn-relu`, `lstm` or `gru`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rnn" | "rnn-tanh" => Ok(CellKind::RnnTanh),
            "rnn-relu" => Ok(CellKind::RnnRelu),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            _ => Err(format!(
                "unknown cell {s:?}: expected rnn, rnn-relu, lstm or gru"
            )),
        }
    }
}

impl CellKind {
    /// Number of gate blocks `G` stacked in `W_ih` / `W_hh` (1, 4 or 3).
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// Op name prefix (`rnn`, `lstm`, `gru`).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}
