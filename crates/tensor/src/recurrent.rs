//! Argument and result structs of the fused recurrent op pair ([`seq_forward`] /
//! [`seq_backward`]) and their validation.
//!
//! One call covers one layer and one direction over a whole sequence in packed layout:
//! rows are time-major, step `t` holds `batch_sizes[t]` rows (a non-increasing list whose
//! first entry is the batch size `B`); a padded batch is the case where every entry is `B`.
//! The input projection `x · W_ihᵀ + b_ih` for all steps is computed outside (one GEMM).

use crate::{Backend, Error, Result, SeqSaved, Tensor};

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

/// Inputs of one fused recurrent pass (one layer, one direction).
///
/// # Shapes
/// `N = Σ batch_sizes`, `G` = [`CellKind::gates`], `H` = `hidden`, `H_out` = `P` when
/// `w_hr` is given else `H`, `B = batch_sizes[0]`.
pub struct SeqInputs<'a, B: Backend> {
    /// The cell to run.
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// `x · W_ihᵀ + b_ih` for every packed row: `[N, G·H]`.
    pub x_proj: &'a Tensor<B>,
    /// Recurrent weight `[G·H, H_out]`.
    pub w_hh: &'a Tensor<B>,
    /// Recurrent bias `[G·H]` (absent when the layer has no bias).
    pub b_hh: Option<&'a Tensor<B>>,
    /// LSTM projection `[P, H]` (LSTM with `proj_size > 0` only).
    pub w_hr: Option<&'a Tensor<B>>,
    /// Initial hidden state `[B, H_out]`, rows in packed (sorted) order.
    pub h0: &'a Tensor<B>,
    /// Initial cell state `[B, H]` (LSTM only).
    pub c0: Option<&'a Tensor<B>>,
    /// Rows alive at each step; non-increasing, all ≥ 1.
    pub batch_sizes: &'a [usize],
    /// Run from the last step to the first; each row starts at its own last step.
    pub reverse: bool,
    /// Another pass (the other direction of a bidirectional layer) runs at the same time, so
    /// the backend should keep this one on a single thread.
    pub concurrent: bool,
}

/// Results of one fused recurrent pass.
#[derive(Clone, Debug)]
pub struct SeqOutputs<B: Backend> {
    /// `h_t` for every packed row: `[N, H_out]`.
    pub output: Tensor<B>,
    /// Final hidden state of each row (after its last step): `[B, H_out]`.
    pub h_n: Tensor<B>,
    /// Final cell state `[B, H]` (LSTM).
    pub c_n: Option<Tensor<B>>,
    /// Saved for backward.
    pub saved: SeqSaved<B>,
}

/// Gradients of one fused recurrent pass.
#[derive(Clone, Debug)]
pub struct SeqGrads<B: Backend> {
    /// `∂L/∂x_proj`: `[N, G·H]` (also `∂L/∂b_ih` after a column sum).
    pub x_proj: Tensor<B>,
    /// `∂L/∂W_hh`: `[G·H, H_out]`.
    pub w_hh: Tensor<B>,
    /// `∂L/∂b_hh`: `[G·H]` when the pass had a bias.
    pub b_hh: Option<Tensor<B>>,
    /// `∂L/∂W_hr`: `[P, H]` with projection.
    pub w_hr: Option<Tensor<B>>,
    /// `∂L/∂h0`: `[B, H_out]`.
    pub h0: Tensor<B>,
    /// `∂L/∂c0`: `[B, H]` (LSTM).
    pub c0: Option<Tensor<B>>,
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
    /// Checks every shape against the others; returns `(N, B, H_out)`.
    pub fn validate(&self) -> Result<(usize, usize, usize)> {
        let op = match self.kind {
            CellKind::Lstm => "lstm_seq_forward",
            CellKind::Gru => "gru_seq_forward",
            _ => "rnn_seq_forward",
        };
        let bs = self.batch_sizes;
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
        let n: usize = bs.iter().sum();
        let batch = bs[0];
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
