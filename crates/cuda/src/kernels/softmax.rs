//! Row-wise log-softmax and the cross-entropy loss on the GPU: log-probabilities, the mean
//! NLL (summed on the host in f64) and the gradient from log-probabilities.

use cudarc::driver::CudaSlice;
use recur_tensor::Result;

use crate::device::dev_err;
use crate::handle::{launch, Cuda};
use crate::storage::to_f64;
use crate::storage::DevElem;

/// Row-wise log-softmax of `x [rows, cols]` (one thread per row).
pub fn log_softmax<T: DevElem>(cuda: &Cuda, x: &CudaSlice<T>, cols: usize) -> Result<CudaSlice<T>> {
    let rows = x.len() / cols.max(1);
    let mut out = cuda.zeros::<T>(x.len())?;
    let (r, c) = (rows as i64, cols as i64);
    launch!(cuda, T, "log_softmax", rows, [x, &mut out, &r, &c])?;
    Ok(out)
}

/// `mean_r(-log_probs[r, labels[r]])` (summed on the host in f64).
pub fn nll_mean<T: DevElem>(
    cuda: &Cuda,
    log_probs: &CudaSlice<T>,
    cols: usize,
    labels: &[usize],
) -> Result<f64> {
    let d_labels = cuda.upload_idx(labels)?;
    let mut out = cuda.zeros::<T>(labels.len())?;
    let (r, c) = (labels.len() as i64, cols as i64);
    launch!(
        cuda,
        T,
        "nll_rows",
        labels.len(),
        [log_probs, &d_labels, &mut out, &r, &c]
    )?;
    let host = cuda.stream().memcpy_dtov(&out).map_err(dev_err)?;
    let total: f64 = host.iter().take(labels.len()).map(|&v| to_f64(v)).sum();
    Ok(total / labels.len() as f64)
}

/// `scale · (softmax(row) - onehot(label))` per row, from the log-probabilities.
pub fn cross_entropy_backward<T: DevElem>(
    cuda: &Cuda,
    log_probs: &CudaSlice<T>,
    cols: usize,
    labels: &[usize],
    scale: f64,
) -> Result<CudaSlice<T>> {
    let d_labels = cuda.upload_idx(labels)?;
    let mut out = cuda.zeros::<T>(log_probs.len())?;
    let (s, r, c) = (T::of(scale), labels.len() as i64, cols as i64);
    let n = labels.len() * cols;
    launch!(
        cuda,
        T,
        "cross_entropy_backward",
        n,
        [log_probs, &d_labels, &s, &mut out, &r, &c]
    )?;
    Ok(out)
}
