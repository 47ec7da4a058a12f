//! The validating front end of the fused recurrent op pair ([`seq_forward`] /
//! [`seq_backward`]) for every cell; their argument and result structs are the `Backend`
//! trait's (`backend.rs`).
//!
//! One call covers one layer and one direction over a whole sequence in packed layout:
//! rows are time-major, step `t` holds `batch_sizes[t]` rows (a non-increasing list whose
//! first entry is the batch size `B`); a padded batch is the case where every entry is `B`.
//! The input projection `x · W_ihᵀ + b_ih` for all steps is computed outside (one GEMM).
//! What a pass takes beyond it (recurrent parameters, initial states) is whatever its
//! [`crate::CellSpec`] declares, checked here entry by entry.

use crate::backend::{SeqGrads, SeqInputs, SeqOutputs, SeqSaved, Tensor};
use crate::{Backend, DType, Error, Result};

/// Checks a packed pass's `batch_sizes` (non-empty, no zero, non-increasing); returns
/// `(N, B)`.
pub(crate) fn check_batch_sizes(op: &'static str, bs: &[usize]) -> Result<(usize, usize)> {
    if bs.is_empty() {
        return Err(Error::invalid(op, "batch_sizes is empty (no time step)"));
    }
    if bs.contains(&0) {
        return Err(Error::invalid(
            op,
            format!("batch_sizes {bs:?} has a zero entry"),
        ));
    }
    if bs.windows(2).any(|w| w[1] > w[0]) {
        return Err(Error::invalid(
            op,
            format!("batch_sizes {bs:?} must be non-increasing"),
        ));
    }
    Ok((bs.iter().sum(), bs[0]))
}

pub(crate) fn expect_shape<B: Backend>(
    op: &'static str,
    what: &str,
    t: &Tensor<B>,
    want: &[usize],
) -> Result<()> {
    if t.shape() != want {
        return Err(Error::shape(
            op,
            format!("{what}: expected {want:?}, found {:?}", t.shape()),
        ));
    }
    Ok(())
}

fn expect_dtype<B: Backend>(op: &'static str, t: &Tensor<B>, dtype: DType) -> Result<()> {
    if t.dtype() != dtype {
        return Err(Error::DType {
            op,
            expected: dtype,
            found: t.dtype(),
        });
    }
    Ok(())
}

impl<B: Backend> SeqInputs<'_, B> {
    /// `(N, B, H_out)` read off the inputs without checking them: what a backend, whose
    /// inputs [`seq_forward`] has validated, sizes its buffers by.
    pub fn dims(&self) -> (usize, usize, usize) {
        (
            self.batch_sizes.iter().sum(),
            self.batch_sizes.first().copied().unwrap_or(0),
            self.cell.out(),
        )
    }

    /// The recurrent parameter the cell declares as `name` (`weight_hh`, `bias_hh`,
    /// `weight_hr`), when it has one.
    pub fn param(&self, name: &str) -> Option<&Tensor<B>> {
        param_named(&self.cell, self.params, name)
    }

    /// The recurrent parameter `name`, which the cell must have (an error otherwise).
    pub fn required(&self, name: &str) -> Result<&Tensor<B>> {
        required(self.param(name), name)
    }

    /// Initial state `idx` (in [`crate::CellKind::states`] order), an error when absent.
    pub fn state(&self, idx: usize) -> Result<&Tensor<B>> {
        state_at(self.state0, idx)
    }

    /// Checks the cell, `batch_sizes`, and every declared parameter and initial state's
    /// shape and dtype against the others; returns `(N, B, H_out)`.
    pub fn validate(&self) -> Result<(usize, usize, usize)> {
        let op = "seq_forward";
        self.cell.validate(op)?;
        let (n, batch) = check_batch_sizes(op, self.batch_sizes)?;
        let dtype = self.x_proj.dtype();
        expect_shape(op, "x_proj", self.x_proj, &[n, self.cell.gate_width()])?;
        let slots = self.cell.recurrent_params();
        if self.params.len() != slots.len() {
            let names: Vec<_> = slots.iter().map(|s| s.name).collect();
            return Err(Error::invalid(
                op,
                format!(
                    "a {:?} pass takes {} recurrent parameters {names:?}, found {}",
                    self.cell.kind,
                    slots.len(),
                    self.params.len()
                ),
            ));
        }
        for (slot, t) in slots.iter().zip(self.params) {
            expect_shape(op, slot.name, t, &slot.shape)?;
            expect_dtype(op, t, dtype)?;
        }
        let states = self.cell.kind.states();
        if self.state0.len() != states.len() {
            return Err(Error::invalid(
                op,
                format!(
                    "a {:?} pass takes {} initial states, found {}",
                    self.cell.kind,
                    states.len(),
                    self.state0.len()
                ),
            ));
        }
        for (&s, t) in states.iter().zip(self.state0) {
            let what = format!("{}0", s.letter());
            expect_shape(op, &what, t, &[batch, self.cell.state_width(s)])?;
            expect_dtype(op, t, dtype)?;
        }
        Ok((n, batch, self.cell.out()))
    }
}

/// The entry of `params` (in `cell`'s [`crate::CellSpec::recurrent_params`] order) named
/// `name`.
pub(crate) fn param_named<'t, B: Backend>(
    cell: &crate::CellSpec,
    params: &'t [Tensor<B>],
    name: &str,
) -> Option<&'t Tensor<B>> {
    let idx = cell
        .recurrent_params()
        .iter()
        .position(|s| s.name == name)?;
    params.get(idx)
}

/// Entry `idx` of a validated pass's initial states, or an error naming it.
pub(crate) fn state_at<B: Backend>(states: &[Tensor<B>], idx: usize) -> Result<&Tensor<B>> {
    states
        .get(idx)
        .ok_or_else(|| Error::invalid("seq_forward", format!("initial state {idx} is missing")))
}

/// The parameter `name` the cell requires, or an error naming it.
pub(crate) fn required<'t, B: Backend>(
    t: Option<&'t Tensor<B>>,
    name: &str,
) -> Result<&'t Tensor<B>> {
    t.ok_or_else(|| Error::invalid("seq_forward", format!("{name} is missing")))
}

/// Validates `inputs` and runs the backend's fused forward for its cell.
pub fn seq_forward<B: Backend>(backend: &B, inputs: &SeqInputs<'_, B>) -> Result<SeqOutputs<B>> {
    inputs.validate()?;
    backend.seq_forward(inputs)
}

/// Checks the output gradients against `saved` and runs the backend's backward through time.
/// `grad_state_n` holds the final states' gradients in [`crate::CellKind::states`] order; a
/// missing gradient (a `None`, or an entry past the end) means zero.
pub fn seq_backward<B: Backend>(
    backend: &B,
    saved: &SeqSaved<B>,
    grad_output: Option<&Tensor<B>>,
    grad_state_n: &[Option<Tensor<B>>],
) -> Result<SeqGrads<B>> {
    saved.check_grads(grad_output, grad_state_n)?;
    backend.seq_backward(saved, grad_output, grad_state_n)
}
