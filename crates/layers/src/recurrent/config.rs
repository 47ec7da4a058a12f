//! [`RecurrentConfig`]: PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU` constructor arguments (and
//! the same for minGRU / minLSTM), with the checks PyTorch makes and the shapes they imply.

use recur_tensor::{CellKind, CellSpec, Recurrence};
use serde::{Deserialize, Serialize};

use crate::{LayerError, Result};

/// PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU` constructor arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecurrentConfig {
    /// The cell.
    pub kind: CellKind,
    /// Features of the input `I`.
    pub input_size: usize,
    /// Hidden size `H`.
    pub hidden_size: usize,
    /// Stacked layers `L`.
    pub num_layers: usize,
    /// Whether the layers have `b_ih` and `b_hh` (the scan cells: `b_ih`).
    pub bias: bool,
    /// Input and output are `[B, T, ..]` instead of `[T, B, ..]`.
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last, in training.
    pub dropout: f64,
    /// Run a second, reversed direction and concatenate (`D = 2`).
    pub bidirectional: bool,
    /// LSTM projection size `P` (0 = none).
    pub proj_size: usize,
}

impl RecurrentConfig {
    fn new(kind: CellKind, input_size: usize, hidden_size: usize) -> Self {
        RecurrentConfig {
            kind,
            input_size,
            hidden_size,
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
            proj_size: 0,
        }
    }

    /// `nn.RNN(input_size, hidden_size)` with tanh.
    pub fn rnn(input_size: usize, hidden_size: usize) -> Self {
        Self::new(CellKind::RnnTanh, input_size, hidden_size)
    }

    /// `nn.RNN(.., nonlinearity='relu')`.
    pub fn rnn_relu(input_size: usize, hidden_size: usize) -> Self {
        Self::new(CellKind::RnnRelu, input_size, hidden_size)
    }

    /// `nn.LSTM(input_size, hidden_size)`.
    pub fn lstm(input_size: usize, hidden_size: usize) -> Self {
        Self::new(CellKind::Lstm, input_size, hidden_size)
    }

    /// `nn.GRU(input_size, hidden_size)`.
    pub fn gru(input_size: usize, hidden_size: usize) -> Self {
        Self::new(CellKind::Gru, input_size, hidden_size)
    }

    /// Any cell kind with PyTorch's defaults (one layer, bias, time-major).
    pub fn of(kind: CellKind, input_size: usize, hidden_size: usize) -> Self {
        Self::new(kind, input_size, hidden_size)
    }

    /// The cell one layer and direction runs, with its sizes.
    pub fn cell(&self) -> CellSpec {
        CellSpec {
            kind: self.kind,
            hidden: self.hidden_size,
            proj: self.proj_size,
            bias: self.bias,
        }
    }

    /// Whether each layer and direction has a recurrent weight `weight_hh` (and `bias_hh`):
    /// every cell but the scan cells.
    pub fn has_recurrent_weight(&self) -> bool {
        self.kind.recurrence() == Recurrence::Gated
    }

    /// Number of directions `D`.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Size of each direction's output `H_out` (`P` with projection).
    pub fn out_size(&self) -> usize {
        if self.proj_size > 0 {
            self.proj_size
        } else {
            self.hidden_size
        }
    }

    /// Every parameter `Recurrent::new` registers under `prefix`, with its shape, in
    /// PyTorch's order (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`,
    /// `weight_hr_l0`, then `_reverse`, then the next layer; the scan cells have no
    /// `weight_hh` / `bias_hh`). Computed without allocating,
    /// so a size read from a file is checked before anything is built.
    pub fn param_shapes(&self, prefix: &str) -> Vec<(String, Vec<usize>)> {
        let d = self.directions();
        let cell = self.cell();
        let mut out = Vec::new();
        for layer in 0..self.num_layers {
            let in_size = if layer == 0 {
                self.input_size
            } else {
                d.saturating_mul(self.out_size())
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
                out.extend(
                    cell.params(in_size)
                        .into_iter()
                        .map(|slot| (name(slot.name), slot.shape)),
                );
            }
        }
        out
    }

    /// Checks the options as PyTorch does; returns warnings (dropout with one layer).
    pub fn validate(&self) -> Result<Vec<String>> {
        let bad = |m: String| Err(LayerError::Config(m));
        if self.input_size == 0 || self.hidden_size == 0 {
            return bad(format!(
                "input_size ({}) and hidden_size ({}) must be positive",
                self.input_size, self.hidden_size
            ));
        }
        if self.num_layers == 0 {
            return bad("num_layers must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.dropout) || self.dropout.is_nan() {
            return bad(format!(
                "dropout should be a number in range [0, 1] representing the probability of an \
                    element being zeroed, found {}",
                self.dropout
            ));
        }
        if self.proj_size > 0 {
            if self.kind != CellKind::Lstm {
                return bad("proj_size is only supported for LSTM".into());
            }
            if self.proj_size >= self.hidden_size {
                return bad(format!(
                    "proj_size ({}) has to be smaller than hidden_size ({})",
                    self.proj_size, self.hidden_size
                ));
            }
        }
        let mut warnings = Vec::new();
        if self.dropout > 0.0 && self.num_layers == 1 {
            warnings.push(format!(
                "dropout option adds dropout after all but last recurrent layer, so non-zero \
                    dropout expects num_layers greater than 1, but got dropout={} and num_layers=1",
                self.dropout
            ));
        }
        Ok(warnings)
    }
}
