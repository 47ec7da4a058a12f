//! The scan cells' passes on the GPU (minGRU, minLSTM): one launch forward, one backward
//! (`scan_fwd` / `scan_bwd` in `kernels/recur.cu`), each a parallel prefix scan over time:
//! one block per batch row and 32 columns, its warps splitting the row's steps into chunks
//! whose composed maps are scanned, then replayed. The CPU twin is recur-cpu's `scan.rs`.

use cudarc::driver::{LaunchConfig, PushKernelArg};
use recur_tensor::{
    CellKind, CellSaved, Error, Result, SeqGrads, SeqInputs, SeqOutputs, SeqSaved, StepLayout,
    Tensor,
};

use crate::device::dev_err;
use crate::handle::{dispatch, Cuda, CudaTensor};
use crate::kernels::steps::{arg_or_null, step_tables};
use crate::storage::{sl, DevElem};

/// The kernels' cell code: 0 minGRU, 1 minLSTM.
fn cell_code(op: &'static str, kind: CellKind) -> Result<i32> {
    match kind {
        CellKind::MinGru => Ok(0),
        CellKind::MinLstm => Ok(1),
        other => Err(Error::invalid(op, format!("{other:?} is not a scan cell"))),
    }
}

/// Columns per block: one warp's lanes (`SCAN_LANES` in recur.cu).
const LANES: usize = 32;
/// Chunks each row's steps are split into: one warp each (`SCAN_CHUNKS` in recur.cu).
const CHUNKS: usize = 8;

/// The scan kernels' launch: blocks over (column groups, batch rows), each block
/// `LANES × CHUNKS` threads; rows past the grid's limit are taken by a block-stride loop.
fn scan_grid(b: usize, h: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (
            h.div_ceil(LANES).max(1) as u32,
            b.clamp(1, 65_535) as u32,
            1,
        ),
        block_dim: (LANES as u32, CHUNKS as u32, 1),
        shared_mem_bytes: 0,
    }
}

/// [`recur_tensor::Backend::seq_forward`] of a scan cell on the GPU.
pub fn forward(cuda: &Cuda, x: &SeqInputs<'_, Cuda>) -> Result<SeqOutputs<Cuda>> {
    dispatch!(x.x_proj.dtype(), T => forward_t::<T>(cuda, x))
}

fn forward_t<T: DevElem>(cuda: &Cuda, x: &SeqInputs<'_, Cuda>) -> Result<SeqOutputs<Cuda>> {
    let op = "scan_forward";
    let (n, b, h) = x.dims();
    let cell = cell_code(op, x.cell.kind)?;
    let steps = StepLayout::new(x.batch_sizes, x.reverse);
    let (d_bs, d_off) = step_tables(cuda, &steps)?;
    let st = cuda.stream();
    let mut state = st
        .clone_dtod(sl::<T>(op, x.state(0)?.storage())?)
        .map_err(dev_err)?;
    let mut output = cuda.zeros::<T>(n * h)?;
    let f = cuda.kernel::<T>("scan_fwd")?;
    let (nsteps, bi, hi, rev) = (steps.len() as i64, b as i64, h as i64, i32::from(x.reverse));
    let mut l = st.launch_builder(&f);
    l.arg(sl::<T>(op, x.x_proj.storage())?)
        .arg(&mut state)
        .arg(&mut output)
        .arg(&d_bs)
        .arg(&d_off)
        .arg(&nsteps)
        .arg(&bi)
        .arg(&hi)
        .arg(&rev)
        .arg(&cell);
    // SAFETY: validated shapes; the step tables name only rows of the [N, G·H] and [N, H]
    // buffers; each [B, H] state element is read by one thread and written by one thread
    // after the block's barrier.
    unsafe { l.launch(scan_grid(b, h)) }.map_err(dev_err)?;
    let output = Tensor::from_storage(cuda, vec![n, h], T::wrap(output))?;
    let buffers = CellSaved::Scan {
        x_proj: x.x_proj.clone(),
    };
    Ok(SeqOutputs {
        state_n: vec![Tensor::from_storage(cuda, vec![b, h], T::wrap(state))?],
        saved: SeqSaved::from_inputs(x, output.clone(), buffers)?,
        output,
    })
}

/// [`recur_tensor::Backend::seq_backward`] of a scan cell on the GPU (gradients already
/// checked).
pub fn backward(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    grad_output: Option<&CudaTensor>,
    grad_state_n: &[Option<CudaTensor>],
) -> Result<SeqGrads<Cuda>> {
    let grad_h_n = grad_state_n.first().and_then(Option::as_ref);
    dispatch!(s.output.dtype(), T => backward_t::<T>(cuda, s, grad_output, grad_h_n))
}

fn backward_t<T: DevElem>(
    cuda: &Cuda,
    s: &SeqSaved<Cuda>,
    grad_output: Option<&CudaTensor>,
    grad_h_n: Option<&CudaTensor>,
) -> Result<SeqGrads<Cuda>> {
    let op = "scan_backward";
    let cell = cell_code(op, s.cell.kind)?;
    let CellSaved::Scan { x_proj } = &s.buffers else {
        return Err(Error::invalid(op, "saved buffers are not a scan cell's"));
    };
    let steps = StepLayout::new(&s.batch_sizes, s.reverse);
    let (n, b, h) = (steps.rows(), steps.batch(), s.cell.hidden);
    let g = s.cell.gate_width();
    let (d_bs, d_off) = step_tables(cuda, &steps)?;
    let st = cuda.stream();
    let mut dh = match grad_h_n {
        Some(gh) => st.clone_dtod(sl::<T>(op, gh.storage())?).map_err(dev_err)?,
        None => cuda.zeros::<T>(b * h)?,
    };
    let mut dx = cuda.zeros::<T>(n * g)?;
    let go = grad_output.map(|t| sl::<T>(op, t.storage())).transpose()?;
    let f = cuda.kernel::<T>("scan_bwd")?;
    let (nsteps, bi, hi, rev) = (steps.len() as i64, b as i64, h as i64, i32::from(s.reverse));
    let mut l = st.launch_builder(&f);
    l.arg(sl::<T>(op, x_proj.storage())?)
        .arg(sl::<T>(op, s.state(0)?.storage())?)
        .arg(sl::<T>(op, s.output.storage())?);
    arg_or_null(&mut l, go);
    l.arg(&mut dh)
        .arg(&mut dx)
        .arg(&d_bs)
        .arg(&d_off)
        .arg(&nsteps)
        .arg(&bi)
        .arg(&hi)
        .arg(&rev)
        .arg(&cell);
    // SAFETY: as in the forward launch; a null grad_output is skipped by the kernel.
    unsafe { l.launch(scan_grid(b, h)) }.map_err(dev_err)?;
    Ok(SeqGrads {
        x_proj: Tensor::from_storage(cuda, vec![n, g], T::wrap(dx))?,
        params: Vec::new(),
        state0: vec![Tensor::from_storage(cuda, vec![b, h], T::wrap(dh))?],
    })
}
