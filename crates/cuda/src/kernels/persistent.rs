//! The persistent recurrent kernels: every time step of one layer-direction in a single
//! launch (`<cell>_persist_fwd_{32,64}` / `_bwd_`), one block per batch row, one thread per
//! gate row with its slice of `W_hh` in registers. They serve layers with `H ≤ 64` and no
//! LSTM projection; everything else runs step by step (`lstm.rs`, `gru.rs`, `rnn.rs`).

use cudarc::driver::{LaunchConfig, PushKernelArg};
use recur_tensor::{CellKind, Error, Result, StepLayout};

use crate::device::dev_err;
use crate::handle::Cuda;
use crate::kernels::steps::{arg_or_null, step_tables, BwdBufs, BwdIn, FwdBufs, FwdIn};
use crate::storage::DevElem;

/// Largest hidden size of the persistent kernels.
const PERSISTENT_MAX_H: usize = 64;

/// The register width (`<cell>_persist_*_{32,64}`) of the persistent kernel for this layer,
/// or `None` when it runs step by step (LSTM projections, hidden sizes above 64).
pub fn width(projected: bool, h: usize) -> Option<usize> {
    (!projected && (1..=PERSISTENT_MAX_H).contains(&h)).then_some(if h <= 32 { 32 } else { 64 })
}

/// One block per batch row, one thread per gate row (`threads` = G·H).
fn config(b: usize, threads: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (b as u32, 1, 1),
        block_dim: (threads as u32, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn missing(what: &str) -> Error {
    Error::invalid("seq_forward", format!("the persistent kernel needs {what}"))
}

/// The whole forward pass in one launch of the `kmax`-wide kernel; `bufs` as the step-by-step
/// path leaves them (the RNN's `output` must already hold the `x_proj` rows).
pub fn forward<T: DevElem>(
    cuda: &Cuda,
    x: &FwdIn<'_, T>,
    steps: &StepLayout<'_>,
    kmax: usize,
    bufs: &mut FwdBufs<T>,
) -> Result<()> {
    let (d_bs, d_off) = step_tables(cuda, steps)?;
    let f = cuda.kernel::<T>(&format!("{}_persist_fwd_{kmax}", x.kind.name()))?;
    let (nsteps, hi, rev) = (
        steps.len() as i64,
        x.hidden as i64,
        i32::from(steps.reverse),
    );
    let relu = i32::from(x.kind == CellKind::RnnRelu);
    let mut l = cuda.stream().launch_builder(&f);
    match x.kind {
        CellKind::Lstm => {
            let c = bufs.c.as_mut().ok_or_else(|| missing("the cell state"))?;
            let cells = bufs.cells.as_mut().ok_or_else(|| missing("cells"))?;
            l.arg(&mut bufs.gates).arg(x.w_hh);
            arg_or_null(&mut l, x.b_hh);
            l.arg(&mut bufs.h).arg(c).arg(cells).arg(&mut bufs.output)
        }
        CellKind::Gru => {
            let gh_n = bufs.gh_n.as_mut().ok_or_else(|| missing("gh_n"))?;
            l.arg(&mut bufs.gates).arg(x.w_hh);
            arg_or_null(&mut l, x.b_hh);
            l.arg(gh_n).arg(&mut bufs.h).arg(&mut bufs.output)
        }
        CellKind::RnnTanh | CellKind::RnnRelu => {
            l.arg(&mut bufs.output).arg(x.w_hh);
            arg_or_null(&mut l, x.b_hh);
            l.arg(&mut bufs.h)
        }
        _ => return Err(missing("a recurrent weight")), // the scan cells
    };
    l.arg(&d_bs).arg(&d_off).arg(&nsteps).arg(&hi).arg(&rev);
    if x.kind.gates() == 1 {
        l.arg(&relu);
    }
    // SAFETY: one block per batch row and G·H threads (H <= kmax); every index stays in the
    // [N, G·H], [N, H] and [B, H] buffers given by the step tables.
    unsafe { l.launch(config(steps.batch(), x.gate_width())) }.map_err(dev_err)?;
    Ok(())
}

/// The whole backward pass in one launch of the `kmax`-wide kernel.
pub fn backward<T: DevElem>(
    cuda: &Cuda,
    s: &BwdIn<'_, T>,
    steps: &StepLayout<'_>,
    kmax: usize,
    bufs: &mut BwdBufs<T>,
) -> Result<()> {
    let (d_bs, d_off) = step_tables(cuda, steps)?;
    let f = cuda.kernel::<T>(&format!("{}_persist_bwd_{kmax}", s.kind.name()))?;
    let (nsteps, hi, rev) = (
        steps.len() as i64,
        s.hidden as i64,
        i32::from(steps.reverse),
    );
    let relu = i32::from(s.kind == CellKind::RnnRelu);
    let mut l = cuda.stream().launch_builder(&f);
    match s.kind {
        CellKind::Lstm => {
            let cells = s.cells.ok_or_else(|| missing("cells"))?;
            let c0 = s.c0.ok_or_else(|| missing("c0"))?;
            l.arg(s.gates).arg(cells).arg(s.w_hh).arg(c0)
        }
        CellKind::Gru => {
            let gh_n = s.gh_n.ok_or_else(|| missing("gh_n"))?;
            l.arg(s.gates).arg(gh_n).arg(s.w_hh).arg(s.h0).arg(s.output)
        }
        CellKind::RnnTanh | CellKind::RnnRelu => l.arg(s.output).arg(s.w_hh),
        _ => return Err(missing("a recurrent weight")), // the scan cells
    };
    arg_or_null(&mut l, s.grad_output);
    l.arg(&mut bufs.dh);
    match s.kind {
        CellKind::Lstm => {
            let dc = bufs.dc.as_mut().ok_or_else(|| missing("dc"))?;
            l.arg(dc).arg(&mut bufs.dgates)
        }
        CellKind::Gru => {
            let drec = bufs.drec.as_mut().ok_or_else(|| missing("drec"))?;
            l.arg(&mut bufs.dgates).arg(drec)
        }
        CellKind::RnnTanh | CellKind::RnnRelu => l.arg(&mut bufs.dgates),
        _ => return Err(missing("a recurrent weight")), // the scan cells
    };
    l.arg(&d_bs).arg(&d_off).arg(&nsteps).arg(&hi).arg(&rev);
    if s.kind.gates() == 1 {
        l.arg(&relu);
    }
    // SAFETY: as in the forward launch; previous rows are read only where they are alive at
    // the neighbouring step.
    unsafe { l.launch(config(steps.batch(), s.gate_width())) }.map_err(dev_err)?;
    Ok(())
}
