//! Building and checking what a fused recurrent pass keeps for backward through time
//! ([`SeqSaved`] and its [`CellSaved`], defined with the `Backend` trait in `backend.rs`):
//! built from the pass's [`SeqInputs`], and the output gradients checked against it.

use crate::backend::{CellSaved, SeqInputs, SeqSaved, Tensor};
use crate::cell::CellKind;
use crate::recurrent::{check_batch_sizes, expect_shape, param_named, required, state_at};
use crate::{Backend, Error, Result};

impl<B: Backend> CellSaved<B> {
    /// The cell kinds these buffers belong to.
    fn matches(&self, kind: CellKind) -> bool {
        matches!(
            (self, kind),
            (CellSaved::Rnn, CellKind::RnnTanh | CellKind::RnnRelu)
                | (CellSaved::Lstm { .. }, CellKind::Lstm)
                | (CellSaved::Gru { .. }, CellKind::Gru)
                | (CellSaved::Scan { .. }, CellKind::MinGru | CellKind::MinLstm)
        )
    }
}

impl<B: Backend> SeqSaved<B> {
    /// What a pass over `x` saves: its parameters and initial states, the output
    /// `[N, H_out]` and the cell's own `buffers` (which must be of `x`'s kind).
    pub fn from_inputs(
        x: &SeqInputs<'_, B>,
        output: Tensor<B>,
        buffers: CellSaved<B>,
    ) -> Result<Self> {
        if !buffers.matches(x.cell.kind) {
            return Err(Error::invalid(
                "seq_forward",
                format!(
                    "a {:?} pass cannot save another cell's buffers",
                    x.cell.kind
                ),
            ));
        }
        Ok(SeqSaved {
            cell: x.cell,
            batch_sizes: x.batch_sizes.to_vec(),
            reverse: x.reverse,
            concurrent: x.concurrent,
            params: x.params.to_vec(),
            state0: x.state0.to_vec(),
            output,
            buffers,
        })
    }

    /// The recurrent parameter the cell declares as `name`, when it has one.
    pub fn param(&self, name: &str) -> Option<&Tensor<B>> {
        param_named(&self.cell, &self.params, name)
    }

    /// The recurrent parameter `name`, which the cell must have (an error otherwise).
    pub fn required(&self, name: &str) -> Result<&Tensor<B>> {
        required(self.param(name), name)
    }

    /// Initial state `idx` (in [`crate::CellKind::states`] order), an error when absent.
    pub fn state(&self, idx: usize) -> Result<&Tensor<B>> {
        state_at(&self.state0, idx)
    }

    /// Checks output gradients against what the forward pass saved (each may be absent:
    /// zero), and the saved tensors against each other.
    pub fn check_grads(
        &self,
        grad_output: Option<&Tensor<B>>,
        grad_state_n: &[Option<Tensor<B>>],
    ) -> Result<()> {
        let op = "seq_backward";
        let (n, _) = check_batch_sizes(op, &self.batch_sizes)?;
        expect_shape(op, "saved output", &self.output, &[n, self.cell.out()])?;
        if !self.buffers.matches(self.cell.kind) {
            return Err(Error::invalid(
                op,
                format!("saved buffers of another cell than {:?}", self.cell.kind),
            ));
        }
        let states = self.cell.kind.states();
        if self.state0.len() != states.len()
            || self.params.len() != self.cell.recurrent_params().len()
        {
            return Err(Error::invalid(
                op,
                format!(
                    "saved {} initial states and {} parameters for a {:?} pass",
                    self.state0.len(),
                    self.params.len(),
                    self.cell.kind
                ),
            ));
        }
        if let Some(g) = grad_output {
            expect_shape(op, "grad_output", g, self.output.shape())?;
        }
        if grad_state_n.len() > states.len() {
            return Err(Error::invalid(
                op,
                format!(
                    "{} final-state gradients for a {:?} pass, which has {} states",
                    grad_state_n.len(),
                    self.cell.kind,
                    states.len()
                ),
            ));
        }
        for ((s, g), s0) in states.iter().zip(grad_state_n).zip(&self.state0) {
            if let Some(g) = g {
                expect_shape(op, &format!("grad_{}_n", s.letter()), g, s0.shape())?;
            }
        }
        Ok(())
    }
}
