//! One LSTM time step on the GPU, step-by-step path: the recurrent product by cuBLAS, then
//! the fused cell kernel (`lstm_cell_fwd` / `lstm_cell_bwd`), then the projection `W_hr`
//! when the layer has one.

use cudarc::cublas::{CudaBlas, Gemm};
use cudarc::driver::PushKernelArg;
use recur_tensor::{Error, Result};

use crate::device::{dev_err, grid};
use crate::handle::Cuda;
use crate::kernels::gemm::{mm, rm};
use crate::kernels::steps::{add_rows, arg_or_null, BwdBufs, BwdIn, FwdBufs, FwdIn};
use crate::storage::DevElem;

fn missing(op: &'static str, what: &str) -> Error {
    Error::invalid(op, format!("the LSTM step needs {what}"))
}

/// Step rows `off..off + bs`: gates, cell and hidden state, and the new `h` rows.
pub fn step_forward<T: DevElem>(
    cuda: &Cuda,
    x: &FwdIn<'_, T>,
    bufs: &mut FwdBufs<T>,
    (off, bs): (usize, usize),
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let (h, p, g) = (x.hidden, x.out, x.gate_width());
    let op = "lstm_seq_forward";
    mm(
        cuda,
        (bs, g, p),
        (&bufs.h, rm(0, p)),
        (x.w_hh, rm(0, p).t()),
        1.0,
        (&mut bufs.gates, rm(off * g, g)),
    )?;
    let f = cuda.kernel::<T>("lstm_cell_fwd")?;
    let mut gv = bufs.gates.slice_mut(off * g..);
    let c = bufs
        .c
        .as_mut()
        .ok_or_else(|| missing(op, "the cell state"))?;
    let mut cv = bufs
        .cells
        .as_mut()
        .ok_or_else(|| missing(op, "cells"))?
        .slice_mut(off * h..);
    let mut hv = match bufs.hidden_pre.as_mut() {
        Some(hp) => hp.slice_mut(off * h..),
        None => bufs.output.slice_mut(off * p..),
    };
    let (bsi, hi) = (bs as i64, h as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&mut gv);
    arg_or_null(&mut l, x.b_hh);
    l.arg(c).arg(&mut cv).arg(&mut hv).arg(&bsi).arg(&hi);
    // SAFETY: rows off..off+bs of every buffer exist.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    if let (Some(w_hr), Some(hp)) = (x.w_hr, bufs.hidden_pre.as_ref()) {
        mm(
            cuda,
            (bs, p, h),
            (hp, rm(off * h, h)),
            (w_hr, rm(0, h).t()),
            0.0,
            (&mut bufs.output, rm(off * p, p)),
        )?;
    }
    let new_h = bufs.output.slice(off * p..(off + bs) * p);
    cuda.stream()
        .memcpy_dtod(&new_h, &mut bufs.h.slice_mut(0..bs * p))
        .map_err(dev_err)
}

/// Backward through step rows `off..off + bs`, whose previous states are rows
/// `prev_off..prev_off + prev_rows` (`None`: all start from `h0`/`c0`).
pub fn step_backward<T: DevElem>(
    cuda: &Cuda,
    s: &BwdIn<'_, T>,
    bufs: &mut BwdBufs<T>,
    (off, bs): (usize, usize),
    prev: Option<(usize, usize)>,
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let (h, p, g) = (s.hidden, s.out, s.gate_width());
    let op = "lstm_seq_backward";
    if let Some(go) = s.grad_output {
        let rows = go.slice(off * p..(off + bs) * p);
        add_rows(cuda, &rows, &mut bufs.dh.slice_mut(0..bs * p), bs * p)?;
    }
    if let (Some(w_hr), Some(all), Some(dh_pre)) =
        (s.w_hr, bufs.dh_rows.as_mut(), bufs.dh_pre.as_mut())
    {
        cuda.stream()
            .memcpy_dtod(
                &bufs.dh.slice(0..bs * p),
                &mut all.slice_mut(off * p..(off + bs) * p),
            )
            .map_err(dev_err)?;
        mm(
            cuda,
            (bs, h, p),
            (&bufs.dh, rm(0, p)),
            (w_hr, rm(0, h)),
            0.0,
            (dh_pre, rm(0, h)),
        )?;
    }
    let cells = s.cells.ok_or_else(|| missing(op, "cells"))?;
    let c0 = s.c0.ok_or_else(|| missing(op, "c0"))?;
    let f = cuda.kernel::<T>("lstm_cell_bwd")?;
    let gv = s.gates.slice(off * g..);
    let cv = cells.slice(off * h..);
    let pv = prev.map(|(o, _)| cells.slice(o * h..));
    let prev_rows = prev.map_or(0, |(_, r)| r as i64);
    let mut dgv = bufs.dgates.slice_mut(off * g..);
    let dc = bufs.dc.as_mut().ok_or_else(|| missing(op, "dc"))?;
    let (bsi, hi) = (bs as i64, h as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&gv).arg(&cv);
    arg_or_null(&mut l, pv.as_ref());
    l.arg(&prev_rows).arg(c0);
    match bufs.dh_pre.as_ref() {
        Some(d) => l.arg(d),
        None => l.arg(&bufs.dh),
    };
    l.arg(dc).arg(&mut dgv).arg(&bsi).arg(&hi);
    // SAFETY: all row ranges exist; previous rows are read only below prev_rows.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    mm(
        cuda,
        (bs, p, g),
        (&bufs.dgates, rm(off * g, g)),
        (s.w_hh, rm(0, p)),
        0.0,
        (&mut bufs.dh, rm(0, p)),
    )
}
