//! One Elman RNN time step on the GPU, step-by-step path: the output rows start as the
//! `x_proj` rows, cuBLAS adds `W_hh h`, and the cell kernel applies bias and activation in
//! place (`rnn_cell_fwd`); backward is `rnn_cell_bwd` then one product with `W_hh`.

use cudarc::cublas::{CudaBlas, Gemm};
use cudarc::driver::PushKernelArg;
use recur_tensor::{CellKind, Result};

use crate::device::{dev_err, grid};
use crate::handle::Cuda;
use crate::kernels::gemm::{mm, rm};
use crate::kernels::steps::{arg_or_null, BwdBufs, BwdIn, FwdBufs, FwdIn};
use crate::storage::DevElem;

/// Step rows `off..off + bs`: the new `h` rows, in `output` and the running state.
pub fn step_forward<T: DevElem>(
    cuda: &Cuda,
    x: &FwdIn<'_, T>,
    bufs: &mut FwdBufs<T>,
    (off, bs): (usize, usize),
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let h = x.hidden;
    let st = cuda.stream();
    let rows = off * h..(off + bs) * h;
    st.memcpy_dtod(
        &x.x_proj.slice(rows.clone()),
        &mut bufs.output.slice_mut(rows.clone()),
    )
    .map_err(dev_err)?;
    mm(
        cuda,
        (bs, h, h),
        (&bufs.h, rm(0, h)),
        (x.w_hh, rm(0, h).t()),
        1.0,
        (&mut bufs.output, rm(off * h, h)),
    )?;
    let f = cuda.kernel::<T>("rnn_cell_fwd")?;
    let relu = i32::from(x.kind == CellKind::RnnRelu);
    let (bsi, hi) = (bs as i64, h as i64);
    let mut ov = bufs.output.slice_mut(off * h..);
    let mut l = st.launch_builder(&f);
    l.arg(&mut ov);
    arg_or_null(&mut l, x.b_hh);
    l.arg(&bsi).arg(&hi).arg(&relu);
    // SAFETY: rows off..off+bs exist.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    st.memcpy_dtod(&bufs.output.slice(rows), &mut bufs.h.slice_mut(0..bs * h))
        .map_err(dev_err)
}

/// Backward through step rows `off..off + bs`.
pub fn step_backward<T: DevElem>(
    cuda: &Cuda,
    s: &BwdIn<'_, T>,
    bufs: &mut BwdBufs<T>,
    (off, bs): (usize, usize),
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let h = s.hidden;
    let f = cuda.kernel::<T>("rnn_cell_bwd")?;
    let relu = i32::from(s.kind == CellKind::RnnRelu);
    let yv = s.output.slice(off * h..);
    let gov = s.grad_output.map(|g| g.slice(off * h..));
    let mut dv = bufs.dgates.slice_mut(off * h..);
    let (bsi, hi) = (bs as i64, h as i64);
    let mut l = cuda.stream().launch_builder(&f);
    l.arg(&yv).arg(&bufs.dh);
    arg_or_null(&mut l, gov.as_ref());
    l.arg(&mut dv).arg(&bsi).arg(&hi).arg(&relu);
    // SAFETY: rows off..off+bs exist.
    unsafe { l.launch(grid(bs * h)) }.map_err(dev_err)?;
    mm(
        cuda,
        (bs, h, h),
        (&bufs.dgates, rm(off * h, h)),
        (s.w_hh, rm(0, h)),
        0.0,
        (&mut bufs.dh, rm(0, h)),
    )
}
