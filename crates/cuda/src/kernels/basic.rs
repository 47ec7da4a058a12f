//! Elementwise ops, reductions, and row/block copies on the GPU (softmax and the losses are
//! in `softmax.rs`). The
//! `Backend` methods in `lib.rs` check every length first (`recur_tensor::check`), so each
//! grid-stride kernel here stays inside its buffers.

use cudarc::driver::CudaSlice;
use recur_tensor::{BinaryOp, Result, UnaryOp};

use crate::handle::{launch, Cuda};
use crate::storage::DevElem;

/// `[len]` filled with `value`.
pub fn fill<T: DevElem>(cuda: &Cuda, len: usize, value: f64) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(len)?;
    if value != 0.0 && len > 0 {
        let (v, n) = (T::of(value), len as i64);
        launch!(cuda, T, "fill", len, [&v, &mut out, &n])?;
    }
    Ok(out)
}

/// `op(x)` elementwise, by the op's own kernel (`recur.cu`'s `UNARY` lines).
pub fn unary<T: DevElem>(cuda: &Cuda, op: UnaryOp, x: &CudaSlice<T>) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(x.len())?;
    let n = x.len() as i64;
    launch!(cuda, T, op.name(), x.len(), [x, &mut out, &n])?;
    Ok(out)
}

/// `g · op'(y)` elementwise from the op's output `y` (`<name>_backward`).
pub fn unary_backward<T: DevElem>(
    cuda: &Cuda,
    op: UnaryOp,
    y: &CudaSlice<T>,
    g: &CudaSlice<T>,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(y.len())?;
    let n = y.len() as i64;
    launch!(cuda, T, op.backward_name(), y.len(), [y, g, &mut out, &n])?;
    Ok(out)
}

/// `op(a, b)` elementwise over equal lengths.
pub fn binary<T: DevElem>(
    cuda: &Cuda,
    op: BinaryOp,
    a: &CudaSlice<T>,
    b: &CudaSlice<T>,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(a.len())?;
    let n = a.len() as i64;
    launch!(cuda, T, op.name(), a.len(), [a, b, &mut out, &n])?;
    Ok(out)
}

/// `y += alpha · x`.
pub fn axpy<T: DevElem>(
    cuda: &Cuda,
    alpha: f64,
    x: &CudaSlice<T>,
    y: &mut CudaSlice<T>,
) -> Result<()> {
    let (a, n) = (T::of(alpha), x.len() as i64);
    launch!(cuda, T, "axpy", x.len(), [&a, x, y, &n])
}

/// `alpha · x`.
pub fn scale<T: DevElem>(cuda: &Cuda, x: &CudaSlice<T>, alpha: f64) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(x.len())?;
    let (a, n) = (T::of(alpha), x.len() as i64);
    launch!(cuda, T, "scale", x.len(), [&a, x, &mut out, &n])?;
    Ok(out)
}

/// `x[r, :] += bias` for every row of `x [rows, cols]`.
pub fn add_bias_rows<T: DevElem>(
    cuda: &Cuda,
    x: &mut CudaSlice<T>,
    cols: usize,
    bias: &CudaSlice<T>,
) -> Result<()> {
    let (c, n) = (cols as i64, x.len() as i64);
    let len = x.len();
    launch!(cuda, T, "add_bias_rows", len, [x, bias, &c, &n])
}

/// `[outer, n, inner]` summed over the middle axis: `[outer, inner]`.
pub fn sum_axis<T: DevElem>(
    cuda: &Cuda,
    x: &CudaSlice<T>,
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(outer * inner)?;
    let (o, nn, i) = (outer as i64, n as i64, inner as i64);
    launch!(
        cuda,
        T,
        "sum_axis",
        outer * inner,
        [x, &mut out, &o, &nn, &i]
    )?;
    Ok(out)
}

/// `[outer, inner]` repeated along a new middle axis of size `n`: `[outer, n, inner]`.
pub fn broadcast_axis<T: DevElem>(
    cuda: &Cuda,
    x: &CudaSlice<T>,
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(outer * n * inner)?;
    let (o, nn, i) = (outer as i64, n as i64, inner as i64);
    launch!(
        cuda,
        T,
        "broadcast_axis",
        outer * n * inner,
        [x, &mut out, &o, &nn, &i]
    )?;
    Ok(out)
}

/// Where one block copy reads and writes: `[outer, dim, inner]` views and the first index of
/// the copied range along `dim` on each side.
pub struct Block {
    /// Leading extent.
    pub outer: usize,
    /// Trailing extent.
    pub inner: usize,
    /// Source's middle extent.
    pub src_dim: usize,
    /// First source index along the middle axis.
    pub src_start: usize,
    /// Destination's middle extent.
    pub dst_dim: usize,
    /// First destination index along the middle axis.
    pub dst_start: usize,
    /// Middle-axis indices copied.
    pub len: usize,
}

/// `dst[o, dst_start + i, :] = src[o, src_start + i, :]` for `i < len`.
pub fn copy_block<T: DevElem>(
    cuda: &Cuda,
    src: &CudaSlice<T>,
    dst: &mut CudaSlice<T>,
    b: &Block,
) -> Result<()> {
    let a = [
        b.outer,
        b.inner,
        b.src_dim,
        b.src_start,
        b.dst_dim,
        b.dst_start,
        b.len,
    ]
    .map(|v| v as i64);
    let n = b.outer * b.len * b.inner;
    launch!(
        cuda,
        T,
        "copy_block",
        n,
        [src, dst, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]]
    )
}

/// `[d0, d1, inner]` with its first two axes swapped: `[d1, d0, inner]`.
pub fn transpose01<T: DevElem>(
    cuda: &Cuda,
    x: &CudaSlice<T>,
    d0: usize,
    d1: usize,
    inner: usize,
) -> Result<CudaSlice<T>> {
    let mut out = cuda.zeros::<T>(x.len())?;
    let a = [d0 as i64, d1 as i64, inner as i64];
    launch!(
        cuda,
        T,
        "transpose01",
        d0 * d1 * inner,
        [x, &mut out, &a[0], &a[1], &a[2]]
    )?;
    Ok(out)
}

/// Rows `idx` of `src [rows, cols]`: `[idx.len(), cols]`.
pub fn gather_rows<T: DevElem>(
    cuda: &Cuda,
    src: &CudaSlice<T>,
    cols: usize,
    idx: &[usize],
) -> Result<CudaSlice<T>> {
    if idx.is_empty() || cols == 0 {
        return cuda.zeros::<T>(0);
    }
    let d_idx = cuda.upload_idx(idx)?;
    let mut out = cuda.zeros::<T>(idx.len() * cols)?;
    let (n, c) = (idx.len() as i64, cols as i64);
    launch!(
        cuda,
        T,
        "gather_rows",
        idx.len() * cols,
        [src, &d_idx, &mut out, &n, &c]
    )?;
    Ok(out)
}

/// `dst[idx[i], :] (+)= src[i, :]` by kernel `name` (`scatter_add_rows` accumulates,
/// `scatter_rows` overwrites).
pub fn scatter<T: DevElem>(
    cuda: &Cuda,
    name: &'static str,
    dst: &mut CudaSlice<T>,
    cols: usize,
    idx: &[usize],
    src: &CudaSlice<T>,
) -> Result<()> {
    if idx.is_empty() || cols == 0 {
        return Ok(());
    }
    let d_idx = cuda.upload_idx(idx)?;
    let (n, c) = (idx.len() as i64, cols as i64);
    launch!(cuda, T, name, idx.len() * cols, [dst, &d_idx, src, &n, &c])
}
