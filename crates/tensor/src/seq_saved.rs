//! Building and checking what a fused recurrent pass keeps for backward through time
//! ([`SeqSaved`] and its [`CellSaved`], defined with the `Backend` trait in `backend.rs`):
//! built from the pass's [`SeqInputs`], and the output gradients checked against it.

use crate::backend::{CellSaved, Projection, SeqInputs, SeqSaved, Tensor};
use crate::cell::CellKind;
use crate::recurrent::expect_shape;
use crate::{Backend, Error, Result};

impl<B: Backend> CellSaved<B> {
    /// An LSTM pass over `x` that produced `cells` and, with a projection, `hidden_pre`
    /// (`c0` and `W_hr` are taken from `x`); an error when `x` is not such a pass.
    pub fn lstm(
        x: &SeqInputs<'_, B>,
        cells: Tensor<B>,
        hidden_pre: Option<Tensor<B>>,
    ) -> Result<Self> {
        let op = "lstm_seq_forward";
        let c0 =
            x.c0.ok_or_else(|| Error::invalid(op, "c0 is required for LSTM"))?;
        let projection = match (x.w_hr, hidden_pre) {
            (Some(w_hr), Some(hidden_pre)) => Some(Projection {
                w_hr: w_hr.clone(),
                hidden_pre,
            }),
            (None, None) => None,
            (Some(_), None) => return Err(Error::invalid(op, "a projection saves hidden_pre")),
            (None, Some(_)) => return Err(Error::invalid(op, "hidden_pre without w_hr")),
        };
        Ok(CellSaved::Lstm {
            c0: c0.clone(),
            cells,
            projection,
        })
    }

    /// The cell kinds this saved state belongs to.
    fn matches(&self, kind: CellKind) -> bool {
        matches!(
            (self, kind),
            (CellSaved::Rnn, CellKind::RnnTanh | CellKind::RnnRelu)
                | (CellSaved::Lstm { .. }, CellKind::Lstm)
                | (CellSaved::Gru { .. }, CellKind::Gru)
        )
    }
}

impl<B: Backend> SeqSaved<B> {
    /// What a pass over `x` saves: its arguments, the gate activations `gates [N, G·H]`, the
    /// output `[N, H_out]` and the cell's own buffers (`cell`, which must be of `x`'s kind).
    pub fn from_inputs(
        x: &SeqInputs<'_, B>,
        gates: Tensor<B>,
        output: Tensor<B>,
        cell: CellSaved<B>,
    ) -> Result<Self> {
        if !cell.matches(x.kind) {
            return Err(Error::invalid(
                "seq_forward",
                format!("a {:?} pass cannot save another cell's state", x.kind),
            ));
        }
        Ok(SeqSaved {
            kind: x.kind,
            hidden: x.hidden,
            batch_sizes: x.batch_sizes.to_vec(),
            reverse: x.reverse,
            concurrent: x.concurrent,
            w_hh: x.w_hh.clone(),
            has_bias: x.b_hh.is_some(),
            h0: x.h0.clone(),
            gates,
            cell,
            output,
        })
    }

    /// The initial cell state `[B, H]` (LSTM).
    pub fn c0(&self) -> Option<&Tensor<B>> {
        match &self.cell {
            CellSaved::Lstm { c0, .. } => Some(c0),
            _ => None,
        }
    }

    /// The LSTM projection, when the pass had one.
    pub fn projection(&self) -> Option<&Projection<B>> {
        match &self.cell {
            CellSaved::Lstm { projection, .. } => projection.as_ref(),
            _ => None,
        }
    }

    /// Checks output gradients against what the forward pass saved (each may be absent:
    /// zero), and the saved tensors against each other.
    pub fn check_grads(
        &self,
        grad_output: Option<&Tensor<B>>,
        grad_h_n: Option<&Tensor<B>>,
        grad_c_n: Option<&Tensor<B>>,
    ) -> Result<()> {
        let op = "seq_backward";
        let n: usize = self.batch_sizes.iter().sum();
        if self.batch_sizes.is_empty() || self.output.shape().first() != Some(&n) {
            return Err(Error::invalid(
                op,
                format!(
                    "saved output {:?} does not hold the {n} rows of batch_sizes {:?}",
                    self.output.shape(),
                    self.batch_sizes
                ),
            ));
        }
        expect_shape(
            op,
            "gates",
            &self.gates,
            &[n, self.kind.gates() * self.hidden],
        )?;
        if !self.cell.matches(self.kind) {
            return Err(Error::invalid(
                op,
                format!("saved state of another cell than {:?}", self.kind),
            ));
        }
        if let Some(g) = grad_output {
            expect_shape(op, "grad_output", g, self.output.shape())?;
        }
        if let Some(g) = grad_h_n {
            expect_shape(op, "grad_h_n", g, self.h0.shape())?;
        }
        match (grad_c_n, self.c0()) {
            (Some(g), Some(c0)) => expect_shape(op, "grad_c_n", g, c0.shape())?,
            (Some(_), None) => {
                return Err(Error::invalid(op, "grad_c_n given for a cell without c"))
            }
            _ => {}
        }
        Ok(())
    }
}
