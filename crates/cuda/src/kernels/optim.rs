//! Optimizer steps on the GPU: Adam (dense, lazy rows with catch-up, sparse rows) and SGD,
//! with the bias corrections folded into scalars on the host.

use cudarc::driver::CudaSlice;
use recur_tensor::{AdamHyper, Result, SgdHyper};

use crate::device::dev_err;
use crate::handle::{launch, Cuda};
use crate::storage::DevElem;

/// Adam's state of one parameter: the parameter, its first and second moments.
pub struct AdamState<'a, T> {
    /// The parameter, updated in place.
    pub p: &'a mut CudaSlice<T>,
    /// First moment.
    pub m: &'a mut CudaSlice<T>,
    /// Second moment.
    pub v: &'a mut CudaSlice<T>,
}

/// One dense Adam step of `p` with gradient `g` (equal lengths).
pub fn adam_step<T: DevElem>(
    cuda: &Cuda,
    s: AdamState<'_, T>,
    g: &CudaSlice<T>,
    h: &AdamHyper,
) -> Result<()> {
    let (bc1, bc2) = (
        1.0 - h.beta1.powi(h.step as i32),
        1.0 - h.beta2.powi(h.step as i32),
    );
    let n = g.len() as i64;
    let c = [
        1.0 - h.beta1,
        h.beta2,
        1.0 - h.beta2,
        h.lr / bc1,
        bc2.sqrt(),
        h.eps,
        h.weight_decay,
    ]
    .map(T::of);
    launch!(
        cuda,
        T,
        "adam_step",
        g.len(),
        [s.p, g, s.m, s.v, &n, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]]
    )
}

/// Lazy Adam on the touched `rows` of `[R, cols]` buffers: each row first replays the steps
/// it missed since `last[row]` (zero gradient), then takes step `h.step`; `last` is updated.
pub fn adam_rows_catch_up<T: DevElem>(
    cuda: &Cuda,
    s: AdamState<'_, T>,
    g: &CudaSlice<T>,
    cols: usize,
    rows: &[usize],
    last: &mut [u64],
    h: &AdamHyper,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // scalars of steps base+1..=now only: the oldest step a touched row replays from
    let base = rows.iter().map(|&r| last[r]).min().unwrap_or(h.step);
    let scal: Vec<T> = (base + 1..=h.step)
        .flat_map(|s| {
            let (bc1, bc2) = (1.0 - h.beta1.powi(s as i32), 1.0 - h.beta2.powi(s as i32));
            [T::of(h.lr / bc1), T::of(bc2.sqrt())]
        })
        .collect();
    let d_scal = cuda.stream().memcpy_stod(&scal).map_err(dev_err)?;
    let d_rows = cuda.upload_idx(rows)?;
    let from: Vec<usize> = rows.iter().map(|&r| last[r] as usize).collect();
    let d_from = cuda.upload_idx(&from)?;
    let a = [rows.len() as i64, cols as i64, h.step as i64, base as i64];
    let c = [1.0 - h.beta1, h.beta2, 1.0 - h.beta2, h.eps, h.weight_decay].map(T::of);
    launch!(
        cuda,
        T,
        "adam_rows_catch_up",
        rows.len() * cols,
        [
            s.p, g, s.m, s.v, &d_rows, &d_from, &d_scal, &a[0], &a[1], &a[2], &a[3], &c[0], &c[1],
            &c[2], &c[3], &c[4]
        ]
    )?;
    for &r in rows {
        last[r] = h.step;
    }
    Ok(())
}

/// `torch.optim.SparseAdam` on the touched `rows` of `[R, cols]` buffers.
pub fn sparse_adam_rows<T: DevElem>(
    cuda: &Cuda,
    s: AdamState<'_, T>,
    g: &CudaSlice<T>,
    cols: usize,
    rows: &[usize],
    h: &AdamHyper,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (bc1, bc2) = (
        1.0 - h.beta1.powi(h.step as i32),
        1.0 - h.beta2.powi(h.step as i32),
    );
    let d_rows = cuda.upload_idx(rows)?;
    let a = [rows.len() as i64, cols as i64];
    let c = [1.0 - h.beta1, 1.0 - h.beta2, h.lr * bc2.sqrt() / bc1, h.eps].map(T::of);
    launch!(
        cuda,
        T,
        "sparse_adam_rows",
        rows.len() * cols,
        [s.p, g, s.m, s.v, &d_rows, &a[0], &a[1], &c[0], &c[1], &c[2], &c[3]]
    )
}

/// One SGD step of `p` with gradient `g` and, with momentum, its buffer `buf`.
pub fn sgd_step<T: DevElem>(
    cuda: &Cuda,
    p: &mut CudaSlice<T>,
    g: &CudaSlice<T>,
    buf: Option<&mut CudaSlice<T>>,
    h: &SgdHyper,
) -> Result<()> {
    let n = g.len() as i64;
    let has_buf = i32::from(buf.is_some());
    let mut dummy = cuda.zeros::<T>(1)?;
    let buf = buf.unwrap_or(&mut dummy);
    let c = [h.lr, h.momentum, 1.0 - h.dampening, h.weight_decay].map(T::of);
    let (nest, first) = (i32::from(h.nesterov), i32::from(h.first));
    launch!(
        cuda,
        T,
        "sgd_step",
        g.len(),
        [p, g, buf, &n, &c[0], &c[1], &c[2], &c[3], &nest, &first, &has_buf]
    )
}
