//! The validating front end of the scan cells' op pair ([`scan_forward`] /
//! [`scan_backward`]; minGRU and minLSTM); their argument and result structs are the
//! `Backend` trait's (`backend.rs`).
//!
//! One call covers one layer and one direction over a whole sequence in packed layout, as
//! [`crate::seq_forward`] does; the input projection `x · W_ihᵀ + b_ih` of every step is one
//! GEMM outside, and no weight enters the scan.

use crate::backend::{ScanGrads, ScanInputs, ScanOutputs, ScanSaved, Tensor};
use crate::cell::Recurrence;
use crate::recurrent::{check_batch_sizes, expect_shape};
use crate::{Backend, Error, Result};

impl<B: Backend> ScanInputs<'_, B> {
    /// `(N, B)` read off the inputs without checking them: what a backend, whose inputs
    /// [`scan_forward`] has validated, sizes its buffers by.
    pub fn dims(&self) -> (usize, usize) {
        (
            self.batch_sizes.iter().sum(),
            self.batch_sizes.first().copied().unwrap_or(0),
        )
    }

    /// Checks the kind, `batch_sizes` and every shape and dtype; returns `(N, B)`.
    pub fn validate(&self) -> Result<(usize, usize)> {
        let op = "scan_forward";
        if self.kind.recurrence() != Recurrence::Scan {
            return Err(self.kind.wrong_family(op));
        }
        if self.hidden == 0 {
            return Err(Error::invalid(op, "hidden size is 0"));
        }
        let (n, batch) = check_batch_sizes(op, self.batch_sizes)?;
        let gh = self.kind.gates() * self.hidden;
        expect_shape(op, "x_proj", self.x_proj, &[n, gh])?;
        expect_shape(op, "h0", self.h0, &[batch, self.hidden])?;
        if self.h0.dtype() != self.x_proj.dtype() {
            return Err(Error::DType {
                op,
                expected: self.x_proj.dtype(),
                found: self.h0.dtype(),
            });
        }
        Ok((n, batch))
    }
}

impl<B: Backend> ScanSaved<B> {
    /// What a pass over `x` that produced `output [N, H]` keeps.
    pub fn from_inputs(x: &ScanInputs<'_, B>, output: Tensor<B>) -> Self {
        ScanSaved {
            kind: x.kind,
            hidden: x.hidden,
            batch_sizes: x.batch_sizes.to_vec(),
            reverse: x.reverse,
            x_proj: x.x_proj.clone(),
            h0: x.h0.clone(),
            output,
        }
    }

    /// Checks output gradients (each may be absent: zero) against what the pass saved, and
    /// the saved tensors against each other.
    pub fn check_grads(
        &self,
        grad_output: Option<&Tensor<B>>,
        grad_h_n: Option<&Tensor<B>>,
    ) -> Result<()> {
        let op = "scan_backward";
        let (n, batch) = check_batch_sizes(op, &self.batch_sizes)?;
        let h = self.hidden;
        expect_shape(op, "x_proj", &self.x_proj, &[n, self.kind.gates() * h])?;
        expect_shape(op, "h0", &self.h0, &[batch, h])?;
        expect_shape(op, "output", &self.output, &[n, h])?;
        if let Some(g) = grad_output {
            expect_shape(op, "grad_output", g, &[n, h])?;
        }
        if let Some(g) = grad_h_n {
            expect_shape(op, "grad_h_n", g, &[batch, h])?;
        }
        Ok(())
    }
}

/// Validates `inputs` and runs the backend's fused scan.
pub fn scan_forward<B: Backend>(backend: &B, inputs: &ScanInputs<'_, B>) -> Result<ScanOutputs<B>> {
    inputs.validate()?;
    backend.scan_forward(inputs)
}

/// Checks the output gradients against `saved` and runs the backend's backward scan. A
/// missing gradient means zero.
pub fn scan_backward<B: Backend>(
    backend: &B,
    saved: &ScanSaved<B>,
    grad_output: Option<&Tensor<B>>,
    grad_h_n: Option<&Tensor<B>>,
) -> Result<ScanGrads<B>> {
    saved.check_grads(grad_output, grad_h_n)?;
    backend.scan_backward(saved, grad_output, grad_h_n)
}
