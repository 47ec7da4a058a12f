//! Matrix products through cuBLAS: row-major views with arbitrary strides mapped onto
//! cuBLAS's column-major GEMM, and [`mm`], the short form the recurrent kernels use.

use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::CudaSlice;
use recur_tensor::{Error, GemmSpec, MatLayout, Result};

use crate::device::dev_err;
use crate::handle::Cuda;
use crate::storage::DevElem;

/// `c = alpha·a·b + beta·c` for the views `spec` describes (checked by the caller against
/// the buffer lengths).
pub fn gemm<T: DevElem>(
    cuda: &Cuda,
    spec: &GemmSpec,
    a: &CudaSlice<T>,
    b: &CudaSlice<T>,
    c: &mut CudaSlice<T>,
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    if spec.m == 0 || spec.n == 0 {
        return Ok(());
    }
    if spec.c.col_stride != 1 {
        return Err(Error::invalid(
            "gemm",
            "the output must be row-major (col_stride 1)",
        ));
    }
    // Row-major X with (rs, 1) is column-major Xᵀ with ld rs; (1, cs) is X with ld cs.
    let op = |l: MatLayout, cols: usize| -> Result<(cublasOperation_t, i32)> {
        if l.col_stride == 1 {
            Ok((
                cublasOperation_t::CUBLAS_OP_N,
                l.row_stride.max(cols) as i32,
            ))
        } else if l.row_stride == 1 {
            Ok((cublasOperation_t::CUBLAS_OP_T, l.col_stride as i32))
        } else {
            Err(Error::invalid("gemm", "operands need a unit stride"))
        }
    };
    let (opa, lda) = op(spec.a, spec.k)?;
    let (opb, ldb) = op(spec.b, spec.n)?;
    // Cᵀ[n,m] = Bᵀ[n,k] · Aᵀ[k,m] in column-major terms.
    let cfg = GemmConfig {
        transa: opb,
        transb: opa,
        m: spec.n as i32,
        n: spec.m as i32,
        k: spec.k as i32,
        alpha: T::of(spec.alpha),
        lda: ldb,
        ldb: lda,
        beta: T::of(spec.beta),
        ldc: spec.c.row_stride.max(spec.n) as i32,
    };
    let av = a.slice(spec.a.offset..);
    let bv = b.slice(spec.b.offset..);
    let mut cv = c.slice_mut(spec.c.offset..);
    // SAFETY: the front end checked every layout against its buffer length.
    unsafe { cuda.dev.blas.gemm(cfg, &bv, &av, &mut cv) }.map_err(dev_err)
}

/// A row-major `[·, cols]` matrix starting at element `offset` of its buffer.
pub fn rm(offset: usize, cols: usize) -> MatLayout {
    MatLayout::row_major(offset, cols)
}

/// `c[m,n] = a[m,k] · b[k,n] + beta · c[m,n]`, each operand a buffer and its layout.
pub fn mm<T: DevElem>(
    cuda: &Cuda,
    (m, n, k): (usize, usize, usize),
    (a, la): (&CudaSlice<T>, MatLayout),
    (b, lb): (&CudaSlice<T>, MatLayout),
    beta: f64,
    (c, lc): (&mut CudaSlice<T>, MatLayout),
) -> Result<()>
where
    CudaBlas: Gemm<T>,
{
    let spec = GemmSpec {
        m,
        n,
        k,
        alpha: 1.0,
        beta,
        a: la,
        b: lb,
        c: lc,
    };
    gemm(cuda, &spec, a, b, c)
}
