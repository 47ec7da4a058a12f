//! The validating front end of the fused recurrent op pair ([`seq_forward`] /
//! [`seq_backward`]); their argument and result structs are the `Backend` trait's
//! (`backend.rs`).
//!
//! One call covers one layer and one direction over a whole sequence in packed layout:
//! rows are time-major, step `t` holds `batch_sizes[t]` rows (a non-increasing list whose
//! first entry is the batch size `B`); a padded batch is the case where every entry is `B`.
//! The input projection `x · W_ihᵀ + b_ih` for all steps is computed outside (one GEMM).

use crate::backend::{SeqGrads, SeqInputs, SeqOutputs, SeqSaved, Tensor};
use crate::cell::{CellKind, Recurrence};
use crate::{Backend, Error, Result};

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

impl<B: Backend> SeqInputs<'_, B> {
    /// `(N, B, H_out)` read off the inputs without checking them: what a backend, whose
    /// inputs [`seq_forward`] has validated, sizes its buffers by.
    pub fn dims(&self) -> (usize, usize, usize) {
        let h_out = self
            .w_hr
            .and_then(|w| w.shape().first().copied())
            .unwrap_or(self.hidden);
        (
            self.batch_sizes.iter().sum(),
            self.batch_sizes.first().copied().unwrap_or(0),
            h_out,
        )
    }

    /// Checks every shape against the others; returns `(N, B, H_out)`.
    pub fn validate(&self) -> Result<(usize, usize, usize)> {
        let op = match self.kind {
            CellKind::Lstm => "lstm_seq_forward",
            CellKind::Gru => "gru_seq_forward",
            _ => "rnn_seq_forward",
        };
        if self.kind.recurrence() != Recurrence::Gated {
            return Err(self.kind.wrong_family(op));
        }
        let (n, batch) = check_batch_sizes(op, self.batch_sizes)?;
        let h = self.hidden;
        let gh = self.kind.gates() * h;
        let h_out = match self.w_hr {
            Some(w_hr) => {
                if self.kind != CellKind::Lstm {
                    return Err(Error::invalid(op, "w_hr (projection) is only for LSTM"));
                }
                if w_hr.rank() != 2 || w_hr.shape()[1] != h {
                    return Err(Error::shape(
                        op,
                        format!("w_hr: expected [P, {h}], found {:?}", w_hr.shape()),
                    ));
                }
                w_hr.shape()[0]
            }
            None => h,
        };
        expect_shape(op, "x_proj", self.x_proj, &[n, gh])?;
        expect_shape(op, "w_hh", self.w_hh, &[gh, h_out])?;
        if let Some(b) = self.b_hh {
            expect_shape(op, "b_hh", b, &[gh])?;
        }
        expect_shape(op, "h0", self.h0, &[batch, h_out])?;
        match (self.kind, self.c0) {
            (CellKind::Lstm, Some(c0)) => expect_shape(op, "c0", c0, &[batch, h])?,
            (CellKind::Lstm, None) => return Err(Error::invalid(op, "c0 is required for LSTM")),
            (_, Some(_)) => return Err(Error::invalid(op, "c0 is only for LSTM")),
            (_, None) => {}
        }
        let dtype = self.x_proj.dtype();
        for t in [
            Some(self.w_hh),
            self.b_hh,
            self.w_hr,
            Some(self.h0),
            self.c0,
        ]
        .into_iter()
        .flatten()
        {
            if t.dtype() != dtype {
                return Err(Error::DType {
                    op,
                    expected: dtype,
                    found: t.dtype(),
                });
            }
        }
        Ok((n, batch, h_out))
    }
}

/// Validates `inputs` and runs the backend's fused forward for its cell kind.
pub fn seq_forward<B: Backend>(backend: &B, inputs: &SeqInputs<'_, B>) -> Result<SeqOutputs<B>> {
    inputs.validate()?;
    backend.seq_forward(inputs)
}

/// Checks the output gradients against `saved` and runs the backend's backward through time.
/// A missing gradient means zero.
pub fn seq_backward<B: Backend>(
    backend: &B,
    saved: &SeqSaved<B>,
    grad_output: Option<&Tensor<B>>,
    grad_h_n: Option<&Tensor<B>>,
    grad_c_n: Option<&Tensor<B>>,
) -> Result<SeqGrads<B>> {
    saved.check_grads(grad_output, grad_h_n, grad_c_n)?;
    backend.seq_backward(saved, grad_output, grad_h_n, grad_c_n)
}
