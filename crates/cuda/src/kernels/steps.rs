//! What every recurrent kernel family shares: the typed inputs and the named device buffers
//! of one pass (forward and backward), and the small per-step launches (`gather_prev`, row
//! sums, row additions, the step tables of the persistent kernels).

use cudarc::driver::{CudaSlice, CudaView, CudaViewMut, LaunchArgs, PushKernelArg};
use recur_tensor::{CellKind, Result, StepLayout};

use crate::device::dev_err;
use crate::handle::{launch, Cuda};
use crate::storage::DevElem;

/// The typed arguments of one forward pass (see `recur_tensor::SeqInputs`).
pub struct FwdIn<'a, T> {
    /// The cell.
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Output width `H_out` (`P` with an LSTM projection).
    pub out: usize,
    /// `x · W_ihᵀ + b_ih`: `[N, G·H]`.
    pub x_proj: &'a CudaSlice<T>,
    /// `[G·H, H_out]`.
    pub w_hh: &'a CudaSlice<T>,
    /// `[G·H]`.
    pub b_hh: Option<&'a CudaSlice<T>>,
    /// LSTM projection `[P, H]`.
    pub w_hr: Option<&'a CudaSlice<T>>,
}

impl<T> FwdIn<'_, T> {
    /// Gate width `G·H`.
    pub fn gate_width(&self) -> usize {
        self.kind.gates() * self.hidden
    }
}

/// The device buffers of one forward pass; what backward needs is kept in `SeqSaved`.
pub struct FwdBufs<T> {
    /// `[N, G·H]`: the `x_proj` rows, turned into gate activations step by step (LSTM,
    /// GRU; unused by the RNN, whose output rows are its activations).
    pub gates: CudaSlice<T>,
    /// `[B, H_out]`: the running hidden state; `h_n` at the end.
    pub h: CudaSlice<T>,
    /// `[B, H]`: the running cell state (LSTM); `c_n` at the end.
    pub c: Option<CudaSlice<T>>,
    /// `[N, H_out]`: every step's new hidden state.
    pub output: CudaSlice<T>,
    /// `[N, H]`: every LSTM cell state `c_t`.
    pub cells: Option<CudaSlice<T>>,
    /// `[N, H]`: LSTM with projection, `o · tanh(c_t)` before `W_hr`.
    pub hidden_pre: Option<CudaSlice<T>>,
    /// `[N, H]`: GRU, `W_hn h + b_hn` of every row.
    pub gh_n: Option<CudaSlice<T>>,
    /// `[B, G·H]`: GRU scratch, the recurrent product `W_hh h` of the current step.
    pub rec: Option<CudaSlice<T>>,
}

/// The typed saved tensors and output gradient of one backward pass.
pub struct BwdIn<'a, T> {
    /// The cell.
    pub kind: CellKind,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Output width `H_out`.
    pub out: usize,
    /// `[G·H, H_out]`.
    pub w_hh: &'a CudaSlice<T>,
    /// `[P, H]` (LSTM with projection).
    pub w_hr: Option<&'a CudaSlice<T>>,
    /// `[B, H_out]`.
    pub h0: &'a CudaSlice<T>,
    /// `[B, H]` (LSTM).
    pub c0: Option<&'a CudaSlice<T>>,
    /// `[N, G·H]`.
    pub gates: &'a CudaSlice<T>,
    /// `[N, H_out]`.
    pub output: &'a CudaSlice<T>,
    /// `[N, H]` (LSTM).
    pub cells: Option<&'a CudaSlice<T>>,
    /// `[N, H]` (LSTM with projection).
    pub hidden_pre: Option<&'a CudaSlice<T>>,
    /// `[N, H]` (GRU).
    pub gh_n: Option<&'a CudaSlice<T>>,
    /// `∂L/∂output`: `[N, H_out]`, absent when zero.
    pub grad_output: Option<&'a CudaSlice<T>>,
}

impl<T> BwdIn<'_, T> {
    /// Gate width `G·H`.
    pub fn gate_width(&self) -> usize {
        self.kind.gates() * self.hidden
    }
}

/// The device buffers of one backward pass.
pub struct BwdBufs<T> {
    /// `[B, H_out]`: the gradient reaching the running hidden state; `∂L/∂h0` at the end.
    pub dh: CudaSlice<T>,
    /// `[B, H]`: the gradient reaching the running cell state (LSTM); `∂L/∂c0` at the end.
    pub dc: Option<CudaSlice<T>>,
    /// `[N, G·H]`: the gradient of the gate pre-activations, which is `∂L/∂x_proj`.
    pub dgates: CudaSlice<T>,
    /// `[N, G·H]`: GRU, the gradient of the recurrent pre-activations `W_hh h + b_hh`
    /// (differs from `dgates` in the `n` block, where the reset gate scales it).
    pub drec: Option<CudaSlice<T>>,
    /// `[N, P]`: LSTM with projection, the hidden gradient of every row (for `∂W_hr`).
    pub dh_rows: Option<CudaSlice<T>>,
    /// `[B, H]`: LSTM with projection, `dh` through `W_hr`, `∂L/∂(o · tanh c)`.
    pub dh_pre: Option<CudaSlice<T>>,
}

impl<T> BwdBufs<T> {
    /// The gradient of the recurrent pre-activations, from which `∂W_hh` and `∂b_hh` follow.
    pub fn recurrent_grad(&self) -> &CudaSlice<T> {
        self.drec.as_ref().unwrap_or(&self.dgates)
    }
}

/// A null device pointer for optional kernel arguments.
const NULL: u64 = 0;

/// Pushes an optional buffer (slice or view) as a kernel argument, a null pointer when absent.
pub fn arg_or_null<'a, A>(l: &mut LaunchArgs<'a>, v: Option<&'a A>)
where
    LaunchArgs<'a>: PushKernelArg<&'a A>,
{
    match v {
        Some(v) => PushKernelArg::<&A>::arg(l, v),
        None => PushKernelArg::<&u64>::arg(l, &NULL),
    };
}

/// `y[..n] += x[..n]` on views.
pub fn add_rows<T: DevElem>(
    cuda: &Cuda,
    x: &CudaView<'_, T>,
    y: &mut CudaViewMut<'_, T>,
    n: usize,
) -> Result<()> {
    let (one, nn) = (T::of(1.0), n as i64);
    launch!(cuda, T, "axpy", n, [&one, x, y, &nn])
}

/// `[N, width]`: row `offsets[t] + r` holds the state row `r` of step `t` started from
/// (a row of `states [N, width]`, or of `init [B, width]` for rows starting fresh).
pub fn gather_prev<T: DevElem>(
    cuda: &Cuda,
    steps: &StepLayout<'_>,
    init: &CudaSlice<T>,
    states: &CudaSlice<T>,
    width: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(steps.rows() * width)?;
    for t in 0..steps.len() {
        let (po, pr) = steps
            .prev_step(t)
            .map_or((-1i64, 0i64), |(o, r)| (o as i64, r as i64));
        let a = [
            steps.offsets[t] as i64,
            steps.batch_sizes[t] as i64,
            po,
            pr,
            width as i64,
        ];
        let n = steps.batch_sizes[t] * width;
        launch!(
            cuda,
            T,
            "gather_prev",
            n,
            [init, states, &mut out, &a[0], &a[1], &a[2], &a[3], &a[4]]
        )?;
    }
    Ok(out)
}

/// Column sums of `x [rows, cols]`: `[cols]`.
pub fn col_sums<T: DevElem>(
    cuda: &Cuda,
    x: &CudaSlice<T>,
    rows: usize,
    cols: usize,
) -> Result<CudaSlice<T>> {
    crate::kernels::basic::sum_axis(cuda, x, 1, rows, cols)
}

/// `batch_sizes` and the packed row offsets on the device, for the persistent kernels.
pub fn step_tables(
    cuda: &Cuda,
    steps: &StepLayout<'_>,
) -> Result<(CudaSlice<i64>, CudaSlice<i64>)> {
    let bs: Vec<i64> = steps.batch_sizes.iter().map(|&v| v as i64).collect();
    let off: Vec<i64> = steps.offsets.iter().map(|&v| v as i64).collect();
    let st = cuda.stream();
    Ok((
        st.memcpy_stod(&bs).map_err(dev_err)?,
        st.memcpy_stod(&off).map_err(dev_err)?,
    ))
}
