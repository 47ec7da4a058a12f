//! One GRU time step on the GPU, step-by-step path: the recurrent product `W_hh h` by
//! cuBLAS into a scratch buffer (the reset gate scales its `n` block, so it cannot be
//! accumulated into the gates), then the fused cell kernel (`gru_cell_fwd` / `gru_cell_bwd`).

use cudarc::cublas::{CudaBlas, Gemm};
use cudarc::driver::PushKernelArg;
use recur_tensor::{Error, Result};

use crate::device::{dev_err, grid};
use crate::handle::Cuda;
use crate::kernels::gemm::{mm, rm};
use crate::kernels::steps::{add_rows, arg_or_null, BwdBufs, BwdIn, FwdBufs, FwdIn};
use crate::storage::DevElem;

fn missing(op: &'static str, what: &str) -> Error {
    Error::invalid(op, format!("the GRU step needs {what}"))
}

/// Step rows `off..off + bs`: gates, `W_hn h + b_hn`, and the new `h` rows (written to
/// both `output` and the running state).
pub fn step_forward<T: DevElem>(
    cuda: &Cuda,
    x: &FwdIn<'_, T>,
    bufs: &mut FwdBufs<T>,
    (off, bs): (usize, usize),
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let (h, g) = (x.hidden, x.gate_width());
    let op = "gru_seq_forward";
    let rec = bufs
        .rec
        .as_mut()
        .ok_or_else(|| missing(op, "its scratch buffer"))?;
    mm(
        cuda,
        (bs, g, h),
        (&bufs.h, rm(0, h)),
        (x.w_hh, rm(0, h).t()),
        0.0,
        (rec, rm(0, g)),
    )?;
    let f = cuda.kernel::<T>("gru_cell_fwd")?;
    let mut gv = bufs.gates.slice_mut(off * g..);
    let mut ghv = bufs
        .gh_n
        .as_mut()
        .ok_or_else(|| missing(op, "gh_n"))?
        .slice_mut(off * h..);
    let mut ov = bufs.output.slice_mut(off * h..);
    let (bsi, hi) = (bs as i64, h as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&mut gv).arg(&*rec);
    arg_or_null(&mut l, x.b_hh);
    l.arg(&mut ghv)
        .arg(&mut bufs.h)
        .arg(&mut ov)
        .arg(&bsi)
        .arg(&hi);
    // SAFETY: rows off..off+bs exist; rec and h hold B rows.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    Ok(())
}

/// Backward through step rows `off..off + bs`, whose previous states are rows
/// `prev_off..prev_off + prev_rows` of the output (`None`: all start from `h0`).
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
    let (h, g) = (s.hidden, s.gate_width());
    let op = "gru_seq_backward";
    if let Some(go) = s.grad_output {
        let rows = go.slice(off * h..(off + bs) * h);
        add_rows(cuda, &rows, &mut bufs.dh.slice_mut(0..bs * h), bs * h)?;
    }
    let gh_n = s.gh_n.ok_or_else(|| missing(op, "gh_n"))?;
    let drec = bufs.drec.as_mut().ok_or_else(|| missing(op, "drec"))?;
    let f = cuda.kernel::<T>("gru_cell_bwd")?;
    let gv = s.gates.slice(off * g..);
    let ghv = gh_n.slice(off * h..);
    let pv = prev.map(|(o, _)| s.output.slice(o * h..));
    let prev_rows = prev.map_or(0, |(_, r)| r as i64);
    let mut dxv = bufs.dgates.slice_mut(off * g..);
    let mut drv = drec.slice_mut(off * g..);
    let (bsi, hi) = (bs as i64, h as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&gv).arg(&ghv);
    arg_or_null(&mut l, pv.as_ref());
    l.arg(&prev_rows)
        .arg(s.h0)
        .arg(&mut bufs.dh)
        .arg(&mut dxv)
        .arg(&mut drv)
        .arg(&bsi)
        .arg(&hi);
    // SAFETY: all row ranges exist; previous rows are read only below prev_rows.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    mm(
        cuda,
        (bs, h, g),
        (&*drec, rm(off * g, g)),
        (s.w_hh, rm(0, h)),
        1.0,
        (&mut bufs.dh, rm(0, h)),
    )
}
