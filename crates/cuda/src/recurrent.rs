//! The fused recurrent ops on the GPU: one layer-direction per call. Layers with `H ≤ 64`
//! and no projection run every step in one persistent launch (`kernels/persistent.rs`);
//! the others run step by step, one cuBLAS product and one fused cell kernel per step
//! (`kernels/{lstm,gru,rnn}.rs`). Both honour packed `batch_sizes` (each step touches a
//! shrinking prefix of rows). Weight gradients are single GEMMs over all packed rows after
//! the time loop, as on the CPU.

use cudarc::cublas::{CudaBlas, Gemm};
use recur_tensor::{
    CellKind, CellSaved, Error, Result, SeqGrads, SeqInputs, SeqOutputs, SeqSaved, StepLayout,
    Tensor,
};

use crate::scan;

use crate::device::dev_err;
use crate::handle::{dispatch, Cuda, CudaTensor};
use crate::kernels::gemm::{mm, rm};
use crate::kernels::steps::{col_sums, gather_prev, BwdBufs, BwdIn, FwdBufs, FwdIn};
use crate::kernels::{gru, lstm, persistent, rnn};
use crate::storage::sl;
use crate::storage::{CudaStorage, DevElem};

fn tensor(cuda: &Cuda, shape: Vec<usize>, s: CudaStorage) -> Result<CudaTensor> {
    Tensor::from_storage(cuda, shape, s)
}

/// Forward of any cell kind (`x` already validated): the scan cells go to `scan.rs`.
pub fn forward(cuda: &Cuda, x: &SeqInputs<'_, Cuda>) -> Result<SeqOutputs<Cuda>> {
    if x.cell.kind.recurrence() == recur_tensor::Recurrence::Scan {
        return scan::forward(cuda, x);
    }
    dispatch!(x.x_proj.dtype(), T => forward_t::<T>(cuda, x))
}

fn forward_t<T: DevElem>(cuda: &Cuda, x: &SeqInputs<'_, Cuda>) -> Result<SeqOutputs<Cuda>>
where
    CudaBlas: Gemm<T>,
{
    let op = "seq_forward";
    let (n, b, p) = x.dims();
    let st = cuda.stream();
    let steps = StepLayout::new(x.batch_sizes, x.reverse);
    let w_hr = x.param("weight_hr");
    let input = FwdIn {
        kind: x.cell.kind,
        hidden: x.cell.hidden,
        out: p,
        x_proj: sl::<T>(op, x.x_proj.storage())?,
        w_hh: sl::<T>(op, x.required("weight_hh")?.storage())?,
        b_hh: opt_sl::<T>(op, x.param("bias_hh"))?,
        w_hr: opt_sl::<T>(op, w_hr)?,
    };
    let (h, g, kind) = (x.cell.hidden, input.gate_width(), x.cell.kind);
    let lstm = kind == CellKind::Lstm;
    let copy = |s: &cudarc::driver::CudaSlice<T>| st.clone_dtod(s).map_err(dev_err);
    let c = match lstm {
        true => Some(copy(sl::<T>(op, x.state(1)?.storage())?)?),
        false => None,
    };
    let mut bufs = FwdBufs {
        gates: copy(input.x_proj)?,
        h: copy(sl::<T>(op, x.state(0)?.storage())?)?,
        c,
        output: cuda.zeros::<T>(n * p)?,
        cells: lstm.then(|| cuda.zeros::<T>(n * h)).transpose()?,
        hidden_pre: (lstm && w_hr.is_some())
            .then(|| cuda.zeros::<T>(n * h))
            .transpose()?,
        gh_n: (kind == CellKind::Gru)
            .then(|| cuda.zeros::<T>(n * h))
            .transpose()?,
        rec: (kind == CellKind::Gru)
            .then(|| cuda.zeros::<T>(b * g))
            .transpose()?,
    };
    if let Some(kmax) = persistent::width(w_hr.is_some(), h) {
        if kind.gates() == 1 {
            // the RNN kernel turns x_proj rows into states in place
            st.memcpy_dtod(input.x_proj, &mut bufs.output)
                .map_err(dev_err)?;
        }
        persistent::forward(cuda, &input, &steps, kmax, &mut bufs)?;
    } else {
        for t in steps.order() {
            let rows = (steps.offsets[t], steps.batch_sizes[t]);
            match kind {
                CellKind::Lstm => lstm::step_forward(cuda, &input, &mut bufs, rows)?,
                CellKind::Gru => gru::step_forward(cuda, &input, &mut bufs, rows)?,
                CellKind::RnnTanh | CellKind::RnnRelu => {
                    rnn::step_forward(cuda, &input, &mut bufs, rows)?
                }
                _ => return Err(Error::invalid(op, format!("{kind:?} is a scan cell"))),
            }
        }
    }
    let n_h = |v: Option<_>| v.map(|c| tensor(cuda, vec![n, h], T::wrap(c))).transpose();
    let missing = |what| Error::invalid(op, format!("the pass did not keep {what}"));
    let gates = |g_buf| tensor(cuda, vec![n, g], T::wrap(g_buf));
    let buffers = match kind {
        CellKind::Lstm => CellSaved::Lstm {
            gates: gates(bufs.gates)?,
            cells: n_h(bufs.cells)?.ok_or_else(|| missing("cells"))?,
            hidden_pre: n_h(bufs.hidden_pre)?,
        },
        CellKind::Gru => CellSaved::Gru {
            gates: gates(bufs.gates)?,
            gh_n: n_h(bufs.gh_n)?.ok_or_else(|| missing("gh_n"))?,
        },
        CellKind::RnnTanh | CellKind::RnnRelu => CellSaved::Rnn,
        _ => return Err(Error::invalid(op, format!("{kind:?} is a scan cell"))),
    };
    let output = tensor(cuda, vec![n, p], T::wrap(bufs.output))?;
    let mut state_n = vec![tensor(cuda, vec![b, p], T::wrap(bufs.h))?];
    if let Some(c) = bufs.c {
        state_n.push(tensor(cuda, vec![b, h], T::wrap(c))?);
    }
    Ok(SeqOutputs {
        state_n,
        saved: SeqSaved::from_inputs(x, output.clone(), buffers)?,
        output,
    })
}

/// Backward through time of any cell kind (gradients already checked against `s`): the
/// scan cells go to `scan.rs`.
pub fn backward(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    grad_output: Option<&CudaTensor>,
    grad_state_n: &[Option<CudaTensor>],
) -> Result<SeqGrads<Cuda>> {
    if s.cell.kind.recurrence() == recur_tensor::Recurrence::Scan {
        return scan::backward(cuda, s, grad_output, grad_state_n);
    }
    let grad_h_n = grad_state_n.first().and_then(Option::as_ref);
    let grad_c_n = grad_state_n.get(1).and_then(Option::as_ref);
    dispatch!(s.output.dtype(), T => backward_t::<T>(cuda, s, grad_output, grad_h_n, grad_c_n))
}

fn backward_t<T: DevElem>(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    grad_output: Option<&CudaTensor>,
    grad_h_n: Option<&CudaTensor>,
    grad_c_n: Option<&CudaTensor>,
) -> Result<SeqGrads<Cuda>>
where
    CudaBlas: Gemm<T>,
{
    let op = "seq_backward";
    let st = cuda.stream();
    let steps = StepLayout::new(&s.batch_sizes, s.reverse);
    let (n, b, h, kind) = (steps.rows(), steps.batch(), s.cell.hidden, s.cell.kind);
    let p = s.cell.out();
    let slice = |t| opt_sl::<T>(op, t);
    let w_hr = s.param("weight_hr");
    // the RNN's activations are its outputs
    let (gates, cells, hidden_pre, gh_n) = match &s.buffers {
        CellSaved::Lstm {
            gates,
            cells,
            hidden_pre,
        } => (gates, Some(cells), hidden_pre.as_ref(), None),
        CellSaved::Gru { gates, gh_n } => (gates, None, None, Some(gh_n)),
        CellSaved::Rnn => (&s.output, None, None, None),
        CellSaved::Scan { .. } => return Err(Error::invalid(op, "saved buffers of a scan cell")),
    };
    let input = BwdIn {
        kind,
        hidden: h,
        out: p,
        w_hh: sl::<T>(op, s.required("weight_hh")?.storage())?,
        w_hr: slice(w_hr)?,
        h0: sl::<T>(op, s.state(0)?.storage())?,
        c0: slice(s.state0.get(1))?,
        gates: sl::<T>(op, gates.storage())?,
        output: sl::<T>(op, s.output.storage())?,
        cells: slice(cells)?,
        hidden_pre: slice(hidden_pre)?,
        gh_n: slice(gh_n)?,
        grad_output: slice(grad_output)?,
    };
    let g = input.gate_width();
    let lstm = kind == CellKind::Lstm;
    let projected = lstm && w_hr.is_some();
    let start = |grad: Option<&CudaTensor>, len: usize| match opt_sl::<T>(op, grad)? {
        Some(v) => st.clone_dtod(v).map_err(dev_err),
        None => cuda.zeros::<T>(len),
    };
    let mut bufs = BwdBufs {
        dh: start(grad_h_n, b * p)?,
        dc: lstm.then(|| start(grad_c_n, b * h)).transpose()?,
        dgates: cuda.zeros::<T>(n * g)?,
        drec: (kind == CellKind::Gru)
            .then(|| cuda.zeros::<T>(n * g))
            .transpose()?,
        dh_rows: projected.then(|| cuda.zeros::<T>(n * p)).transpose()?,
        dh_pre: projected.then(|| cuda.zeros::<T>(b * h)).transpose()?,
    };
    if let Some(kmax) = persistent::width(w_hr.is_some(), h) {
        persistent::backward(cuda, &input, &steps, kmax, &mut bufs)?;
    } else {
        for t in steps.order().rev() {
            let rows = (steps.offsets[t], steps.batch_sizes[t]);
            let prev = steps.prev_step(t);
            match kind {
                CellKind::Lstm => lstm::step_backward(cuda, &input, &mut bufs, rows, prev)?,
                CellKind::Gru => gru::step_backward(cuda, &input, &mut bufs, rows, prev)?,
                CellKind::RnnTanh | CellKind::RnnRelu => {
                    rnn::step_backward(cuda, &input, &mut bufs, rows)?
                }
                _ => return Err(Error::invalid(op, format!("{kind:?} is a scan cell"))),
            }
        }
    }
    let h_prev = gather_prev(cuda, &steps, input.h0, input.output, p)?;
    let rec = bufs.recurrent_grad();
    let mut dw_hh = cuda.zeros::<T>(g * p)?;
    mm(
        cuda,
        (g, p, n),
        (rec, rm(0, g).t()),
        (&h_prev, rm(0, p)),
        0.0,
        (&mut dw_hh, rm(0, p)),
    )?;
    let db = match s.cell.bias {
        true => Some(col_sums(cuda, rec, n, g)?),
        false => None,
    };
    let dw_hr = match (&bufs.dh_rows, input.hidden_pre) {
        (Some(all), Some(hp)) => {
            let mut dw = cuda.zeros::<T>(p * h)?;
            mm(
                cuda,
                (p, h, n),
                (all, rm(0, p).t()),
                (hp, rm(0, h)),
                0.0,
                (&mut dw, rm(0, h)),
            )?;
            Some(dw)
        }
        _ => None,
    };
    let mut named = vec![("weight_hh", dw_hh)];
    named.extend(db.map(|d| ("bias_hh", d)));
    named.extend(dw_hr.map(|d| ("weight_hr", d)));
    let mut state0 = vec![tensor(cuda, vec![b, p], T::wrap(bufs.dh))?];
    if let Some(dc) = bufs.dc {
        state0.push(tensor(cuda, vec![b, h], T::wrap(dc))?);
    }
    Ok(SeqGrads {
        x_proj: tensor(cuda, vec![n, g], T::wrap(bufs.dgates))?,
        params: s
            .cell
            .in_param_order(op, named, |shape, v| tensor(cuda, shape, T::wrap(v)))?,
        state0,
    })
}

/// Borrows an optional tensor's storage as a slice of `T`.
fn opt_sl<'a, T: DevElem>(
    op: &'static str,
    t: Option<&'a CudaTensor>,
) -> Result<Option<&'a cudarc::driver::CudaSlice<T>>> {
    t.map(|t| sl::<T>(op, t.storage())).transpose()
}
