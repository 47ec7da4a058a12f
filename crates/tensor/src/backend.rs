//! The [`Backend`] trait: the raw kernels a device must provide, grouped in op families,
//! and the types its signatures carry ([`Tensor`] and the fused recurrent pass's
//! [`SeqInputs`], [`SeqOutputs`], [`SeqGrads`], [`SeqSaved`] with its [`CellSaved`]). It
//! stays one file because the trait and those types name each other: from two files they
//! would import each other in a circle. Their behaviour lives apart (`tensor.rs`, `ops/`,
//! `recurrent.rs`, `seq_saved.rs`).
//!
//! Arguments reaching a backend have already been validated by the [`crate::Tensor`]
//! front end (shapes, lengths, dtypes and index ranges), so kernels only compute.
//! Storage is owned by the backend: `Vec` on the CPU, device memory on a GPU.

use std::fmt;
use std::sync::Arc;

#[cfg(doc)]
use crate::cell::CellKind;
use crate::cell::CellSpec;
use crate::{BinaryOp, DType, HostData, Result, UnaryOp};

/// Where a matrix lives inside a storage: element offset and the two strides.
/// A transposed operand is the same buffer with the strides swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatLayout {
    /// Index of element (0, 0).
    pub offset: usize,
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl MatLayout {
    /// A dense row-major matrix with `cols` columns starting at `offset`.
    pub fn row_major(offset: usize, cols: usize) -> MatLayout {
        MatLayout {
            offset,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same buffer read as its transpose.
    pub fn t(self) -> MatLayout {
        MatLayout {
            offset: self.offset,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Index one past the last element touched by a `rows × cols` matrix.
    pub fn end(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            return self.offset;
        }
        self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride + 1
    }
}

/// `C[m,n] = alpha · A[m,k] · B[k,n] + beta · C[m,n]` with arbitrary strides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmSpec {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Columns of A, rows of B.
    pub k: usize,
    /// Scale of the product.
    pub alpha: f64,
    /// Scale of the existing C (0 overwrites, NaNs included).
    pub beta: f64,
    /// Layout of A.
    pub a: MatLayout,
    /// Layout of B.
    pub b: MatLayout,
    /// Layout of C.
    pub c: MatLayout,
}

/// One Adam step's hyper-parameters, with PyTorch's meaning (`torch.optim.Adam`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamHyper {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to `sqrt(v̂)`.
    pub eps: f64,
    /// L2 penalty added to the gradient (`g + wd · p`).
    pub weight_decay: f64,
    /// 1-based step number used in the bias corrections.
    pub step: u64,
}

/// One SGD step's hyper-parameters, with PyTorch's meaning (`torch.optim.SGD`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdHyper {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0: no momentum buffer).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient (`g + wd · p`).
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// The first step (the momentum buffer starts as the gradient).
    pub first: bool,
}

/// The kernels a device provides. See the crate docs for the validation contract.
pub trait Backend: Clone + fmt::Debug + Send + Sync + 'static {
    /// Backend-owned contiguous storage of one element type.
    type Storage: Clone + fmt::Debug + Send + Sync;

    /// Short name used in messages (`cpu`, `cuda`).
    fn name(&self) -> &'static str;
    /// Element type of a storage.
    fn dtype_of(&self, s: &Self::Storage) -> DType;
    /// Number of elements of a storage.
    fn len_of(&self, s: &Self::Storage) -> usize;

    // ---------------------------------------------------------------- transfer
    /// Moves host data into backend storage.
    fn upload(&self, data: HostData) -> Result<Self::Storage>;
    /// Copies storage back to the host.
    fn download(&self, s: &Self::Storage) -> Result<HostData>;
    /// A new storage of `len` elements all equal to `value`.
    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Self::Storage>;
    /// A new storage of `len` elements for an output the next kernel writes in full (a
    /// `beta = 0` GEMM's `C`): its values are unspecified, so a backend may hand out a
    /// recycled buffer without clearing it. The default is [`Backend::full`] of zeros.
    fn output(&self, dtype: DType, len: usize) -> Result<Self::Storage> {
        self.full(dtype, len, 0.0)
    }

    // ---------------------------------------------------------------- gemm
    /// `C = alpha·A·B + beta·C` (see [`GemmSpec`]); A, B, C share one dtype.
    fn gemm(
        &self,
        spec: &GemmSpec,
        a: &Self::Storage,
        b: &Self::Storage,
        c: &mut Self::Storage,
    ) -> Result<()>;

    // ---------------------------------------------------------------- elementwise
    /// `op(x)` elementwise.
    fn unary(&self, op: UnaryOp, x: &Self::Storage) -> Result<Self::Storage>;
    /// Gradient of `op` given its output `y` and the output gradient `g`.
    fn unary_backward(
        &self,
        op: UnaryOp,
        y: &Self::Storage,
        g: &Self::Storage,
    ) -> Result<Self::Storage>;
    /// `a op b` elementwise (same length).
    fn binary(&self, op: BinaryOp, a: &Self::Storage, b: &Self::Storage) -> Result<Self::Storage>;
    /// `y += alpha · x`.
    fn axpy(&self, alpha: f64, x: &Self::Storage, y: &mut Self::Storage) -> Result<()>;
    /// `alpha · x`.
    fn scale(&self, x: &Self::Storage, alpha: f64) -> Result<Self::Storage>;
    /// `x[r, :] += bias` for every row of `x` viewed as `[len/cols, cols]`.
    fn add_bias_rows(&self, x: &mut Self::Storage, cols: usize, bias: &Self::Storage)
        -> Result<()>;

    // ---------------------------------------------------------------- reductions
    /// `Σ x²` over every element, accumulated in f64 in an order that does not depend on the
    /// thread count (a gradient's squared norm). The default downloads the storage.
    fn sum_squares(&self, x: &Self::Storage) -> Result<f64> {
        Ok(self.download(x)?.to_f64().iter().map(|v| v * v).sum())
    }
    /// Sum over the middle axis of `x` viewed as `[outer, n, inner]` → `[outer, inner]`.
    fn sum_axis(
        &self,
        x: &Self::Storage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<Self::Storage>;
    /// Repeats `x` viewed as `[outer, inner]` `n` times along a new middle axis → `[outer, n,
    /// inner]`.
    fn broadcast_axis(
        &self,
        x: &Self::Storage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<Self::Storage>;

    // ---------------------------------------------------------------- softmax and loss
    /// Row-wise log-softmax of `x` viewed as `[rows, cols]`.
    fn log_softmax(&self, x: &Self::Storage, cols: usize) -> Result<Self::Storage>;
    /// Mean over rows of `-log_probs[r, labels[r]]`.
    fn nll_mean(&self, log_probs: &Self::Storage, cols: usize, labels: &[usize]) -> Result<f64>;
    /// Gradient of `scale · Σ_r -log_softmax(x)[r, labels[r]]` w.r.t. `x`:
    /// `scale · (exp(log_probs) - onehot(labels))`.
    fn cross_entropy_backward(
        &self,
        log_probs: &Self::Storage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<Self::Storage>;

    /// Cross-entropy of logits `x [rows, cols]` in one pass: returns the mean over rows of
    /// `−log_softmax(x)[r, labels[r]]` and the gradient of `scale · Σ_r` of it,
    /// `scale · (softmax(x) − onehot(labels))` — what [`Backend::log_softmax`],
    /// [`Backend::nll_mean`] and [`Backend::cross_entropy_backward`] give together (the
    /// default), without keeping the log-probabilities.
    fn cross_entropy_with_grad(
        &self,
        x: &Self::Storage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<(f64, Self::Storage)> {
        let log_probs = self.log_softmax(x, cols)?;
        let loss = self.nll_mean(&log_probs, cols, labels)?;
        let grad = self.cross_entropy_backward(&log_probs, cols, labels, scale)?;
        Ok((loss, grad))
    }

    // ---------------------------------------------------------------- layout
    /// Copies the block `[outer, len, inner]` of `src` (viewed `[outer, src_dim, inner]`,
    /// starting at `src_start` on the middle axis) into `dst` (viewed `[outer, dst_dim, inner]`)
    /// at `dst_start`. Slicing, concatenation and their backward passes are this one kernel.
    #[allow(clippy::too_many_arguments)]
    fn copy_block(
        &self,
        src: &Self::Storage,
        outer: usize,
        inner: usize,
        src_dim: usize,
        src_start: usize,
        dst: &mut Self::Storage,
        dst_dim: usize,
        dst_start: usize,
        len: usize,
    ) -> Result<()>;
    /// Swaps the first two axes of `x` viewed as `[d0, d1, inner]` → `[d1, d0, inner]`.
    fn transpose01(
        &self,
        x: &Self::Storage,
        d0: usize,
        d1: usize,
        inner: usize,
    ) -> Result<Self::Storage>;

    // ---------------------------------------------------------------- rows
    /// `out[i, :] = src[idx[i], :]` with `src` viewed as `[_, cols]`.
    fn gather_rows(&self, src: &Self::Storage, cols: usize, idx: &[usize])
        -> Result<Self::Storage>;
    /// `dst[idx[i], :] += src[i, :]` (repeated indices accumulate).
    fn scatter_add_rows(
        &self,
        dst: &mut Self::Storage,
        cols: usize,
        idx: &[usize],
        src: &Self::Storage,
    ) -> Result<()>;
    /// `dst[idx[i], :] = src[i, :]` (indices are distinct).
    fn scatter_rows(
        &self,
        dst: &mut Self::Storage,
        cols: usize,
        idx: &[usize],
        src: &Self::Storage,
    ) -> Result<()>;

    // ---------------------------------------------------------------- optimizers
    /// One fused Adam step over a parameter: reads p, g, m, v once, writes p, m, v once.
    fn adam_step(
        &self,
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        hyper: &AdamHyper,
    ) -> Result<()>;
    /// Adam on selected rows of a `[_, cols]` table whose other rows had zero gradient
    /// since their last update: for each `rows[i]`, first replays the zero-gradient steps
    /// `last[rows[i]]+1 .. hyper.step-1` (exactly the dense update with g = 0), then applies
    /// step `hyper.step` with gradient row `i` of `g`. `last` is updated. Bit-identical to
    /// running [`Backend::adam_step`] on the whole table every step.
    #[allow(clippy::too_many_arguments)]
    fn adam_rows_catch_up(
        &self,
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        cols: usize,
        rows: &[usize],
        last: &mut [u64],
        hyper: &AdamHyper,
    ) -> Result<()>;
    /// PyTorch's `SparseAdam` on rows `rows` of a `[_, cols]` table (lazy: other rows, and
    /// their moments, do not move): `m = m + (1−β1)(g − m)`, `v = v + (1−β2)(g² − v)`,
    /// `p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + eps)`, `t = hyper.step`.
    #[allow(clippy::too_many_arguments)]
    fn sparse_adam_rows(
        &self,
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        cols: usize,
        rows: &[usize],
        hyper: &AdamHyper,
    ) -> Result<()>;
    /// SGD with PyTorch's momentum, dampening, nesterov and weight decay ([`SgdHyper`]).
    /// `buf` is the momentum buffer (`None` when momentum is 0).
    fn sgd_step(
        &self,
        p: &mut Self::Storage,
        g: &Self::Storage,
        buf: Option<&mut Self::Storage>,
        hyper: &SgdHyper,
    ) -> Result<()>;

    // ---------------------------------------------------------------- recurrent
    /// One recurrent layer and direction over a whole (packed) sequence: the cell of
    /// `inputs.cell` at every step (a gated cell through its recurrent product, a scan cell
    /// as its elementwise scan), keeping what backward needs. Called through
    /// [`crate::seq_forward`], which validates the inputs once.
    fn seq_forward(&self, inputs: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>>;
    /// Backward through time of [`Backend::seq_forward`] from the gradients of its output
    /// and of its final states (one per [`CellKind::states`] entry; a missing or `None`
    /// entry is zero). Called through [`crate::seq_backward`], which checks the gradients
    /// against `saved`.
    fn seq_backward(
        &self,
        saved: &SeqSaved<Self>,
        grad_output: Option<&Tensor<Self>>,
        grad_state_n: &[Option<Tensor<Self>>],
    ) -> Result<SeqGrads<Self>>;
}

/// A dense row-major tensor whose storage lives in backend `B`.
///
/// Cloning is cheap (the storage is shared); mutation goes through
/// [`Tensor::storage_mut`], which copies first when the storage is shared.
#[derive(Clone)]
pub struct Tensor<B: Backend> {
    pub(crate) backend: B,
    pub(crate) shape: Vec<usize>,
    pub(crate) storage: Arc<B::Storage>,
}

/// Inputs of one fused recurrent pass (one layer, one direction), for any cell.
///
/// # Shapes
/// `N = Σ batch_sizes`, `B = batch_sizes[0]`, `G·H` = [`CellSpec::gate_width`],
/// `H_out` = [`CellSpec::out`].
pub struct SeqInputs<'a, B: Backend> {
    /// The cell and its sizes.
    pub cell: CellSpec,
    /// `x · W_ihᵀ + b_ih` for every packed row: `[N, G·H]`.
    pub x_proj: &'a Tensor<B>,
    /// The parameters the recurrence reads, in [`CellSpec::recurrent_params`] order with
    /// those shapes (`weight_hh [G·H, H_out]`, `bias_hh [G·H]`, `weight_hr [P, H]` for the
    /// cells that have them; none for the scan cells).
    pub params: &'a [Tensor<B>],
    /// The initial states in [`CellKind::states`] order, each `[B, width]`
    /// ([`CellSpec::state_width`]), rows in packed (sorted) order.
    pub state0: &'a [Tensor<B>],
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
    /// Final states of each row (after its last step), in [`CellKind::states`] order: `h_n
    /// [B, H_out]`, then (LSTM) `c_n [B, H]`.
    pub state_n: Vec<Tensor<B>>,
    /// Saved for backward.
    pub saved: SeqSaved<B>,
}

/// Gradients of one fused recurrent pass.
#[derive(Clone, Debug)]
pub struct SeqGrads<B: Backend> {
    /// `∂L/∂x_proj`: `[N, G·H]` (also `∂L/∂b_ih` after a column sum).
    pub x_proj: Tensor<B>,
    /// The gradient of each of [`SeqInputs::params`], same order and shapes.
    pub params: Vec<Tensor<B>>,
    /// The gradient of each initial state, same order and shapes as
    /// [`SeqInputs::state0`].
    pub state0: Vec<Tensor<B>>,
}

/// What the forward pass keeps for backward through time.
///
/// # Shapes
/// As in [`SeqInputs`]; every per-step buffer is in packed row order.
#[derive(Clone, Debug)]
pub struct SeqSaved<B: Backend> {
    /// The cell that ran.
    pub cell: CellSpec,
    /// Rows alive per step.
    pub batch_sizes: Vec<usize>,
    /// Direction of the pass.
    pub reverse: bool,
    /// Whether the pass ran beside another one (see [`SeqInputs::concurrent`]); backward runs
    /// the same way.
    pub concurrent: bool,
    /// The recurrent parameters, as in [`SeqInputs::params`].
    pub params: Vec<Tensor<B>>,
    /// The initial states, as in [`SeqInputs::state0`].
    pub state0: Vec<Tensor<B>>,
    /// Hidden states `h_t`: `[N, H_out]` (also the op's output).
    pub output: Tensor<B>,
    /// What this cell kind keeps beyond the common fields.
    pub buffers: CellSaved<B>,
}

/// What one cell kind saves for backward beyond what every kind saves.
///
/// # Shapes
/// As in [`SeqInputs`]; per-step buffers are in packed row order.
#[derive(Clone, Debug)]
pub enum CellSaved<B: Backend> {
    /// Elman RNN (tanh or relu): nothing more (its activations are its outputs).
    Rnn,
    /// LSTM.
    Lstm {
        /// Gate activations i, f, g, o: `[N, 4·H]`.
        gates: Tensor<B>,
        /// Cell states `c_t`: `[N, H]`.
        cells: Tensor<B>,
        /// With a projection: `o · tanh(c_t)` before `W_hr`, `[N, H]`.
        hidden_pre: Option<Tensor<B>>,
    },
    /// GRU.
    Gru {
        /// Gate activations r, z, n: `[N, 3·H]`.
        gates: Tensor<B>,
        /// `W_hn h_{t-1} + b_hn`: `[N, H]` (the reset gate multiplies it).
        gh_n: Tensor<B>,
    },
    /// minGRU / minLSTM: the input projection, from which backward recomputes the gates
    /// (cheaper than storing them).
    Scan {
        /// `[N, G·H]`.
        x_proj: Tensor<B>,
    },
}
