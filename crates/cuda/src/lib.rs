//! The CUDA backend: `cudarc` with dynamic loading (the crate builds and its tests run on
//! machines without CUDA; [`Cuda::new`] then returns a clear error), cuBLAS for GEMMs, and
//! the kernels of `kernels/recur.cu` compiled with NVRTC at first use. Every kernel has a CPU
//! twin of the same op name in `recur-cpu`; `tests/parity.rs` compares them.
//!
//! ```no_run
//! use recur_cuda::Cuda;
//! use recur_tensor::{DType, Tensor};
//!
//! // without a GPU (or its driver) `Cuda::new` is an error that says so
//! let gpu = Cuda::new(0)?;
//! let x = Tensor::from_f64(&gpu, &[2], &[1.0, 2.0], DType::F32)?;
//! assert_eq!(x.scale(2.0)?.to_f64_vec()?, vec![2.0, 4.0]);
//! # Ok::<(), recur_tensor::Error>(())
//! ```

mod device;
mod recurrent;

use std::sync::Arc;

use cudarc::cublas::{sys::cublasOperation_t, Gemm, GemmConfig};
use cudarc::driver::{CudaSlice, DeviceRepr, PushKernelArg, ValidAsZeroBits};
use recur_tensor::{
    check, AdamHyper, Backend, BinaryOp, DType, Error, GemmSpec, HostData, Result, SeqGrads,
    SeqInputs, SeqOutputs, SeqSaved, SgdHyper, Tensor, UnaryOp,
};

pub use device::{compile_kernels, KERNELS};
use device::{dev_err, grid, Device};

/// Device storage of one element type.
#[derive(Clone)]
pub enum CudaStorage {
    /// f32 elements.
    F32(CudaSlice<f32>),
    /// f64 elements.
    F64(CudaSlice<f64>),
}

impl std::fmt::Debug for CudaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CudaStorage::F32(s) => write!(f, "CudaStorage::F32({})", s.len()),
            CudaStorage::F64(s) => write!(f, "CudaStorage::F64({})", s.len()),
        }
    }
}

impl CudaStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            CudaStorage::F32(_) => DType::F32,
            CudaStorage::F64(_) => DType::F64,
        }
    }
}

/// A float the CUDA kernels are instantiated for.
pub trait DevElem:
    DeviceRepr + ValidAsZeroBits + Copy + Default + Send + Sync + std::fmt::Debug + 'static
{
    /// Kernel name suffix (`f32`, `f64`).
    const SUFFIX: &'static str;
    /// The dtype tag.
    const DTYPE: DType;
    /// From f64.
    fn of(x: f64) -> Self;
    /// Borrows a storage of this type.
    fn get(s: &CudaStorage) -> Option<&CudaSlice<Self>>;
    /// Mutably borrows a storage of this type.
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<Self>>;
    /// Wraps a slice.
    fn wrap(s: CudaSlice<Self>) -> CudaStorage;
    /// Host data of this type.
    fn host(v: Vec<Self>) -> HostData;
}

impl DevElem for f32 {
    const SUFFIX: &'static str = "f32";
    const DTYPE: DType = DType::F32;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn get(s: &CudaStorage) -> Option<&CudaSlice<f32>> {
        match s {
            CudaStorage::F32(v) => Some(v),
            CudaStorage::F64(_) => None,
        }
    }
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<f32>> {
        match s {
            CudaStorage::F32(v) => Some(v),
            CudaStorage::F64(_) => None,
        }
    }
    fn wrap(s: CudaSlice<f32>) -> CudaStorage {
        CudaStorage::F32(s)
    }
    fn host(v: Vec<f32>) -> HostData {
        HostData::F32(v)
    }
}

impl DevElem for f64 {
    const SUFFIX: &'static str = "f64";
    const DTYPE: DType = DType::F64;
    fn of(x: f64) -> f64 {
        x
    }
    fn get(s: &CudaStorage) -> Option<&CudaSlice<f64>> {
        match s {
            CudaStorage::F64(v) => Some(v),
            CudaStorage::F32(_) => None,
        }
    }
    fn get_mut(s: &mut CudaStorage) -> Option<&mut CudaSlice<f64>> {
        match s {
            CudaStorage::F64(v) => Some(v),
            CudaStorage::F32(_) => None,
        }
    }
    fn wrap(s: CudaSlice<f64>) -> CudaStorage {
        CudaStorage::F64(s)
    }
    fn host(v: Vec<f64>) -> HostData {
        HostData::F64(v)
    }
}

fn sl<'a, T: DevElem>(op: &'static str, s: &'a CudaStorage) -> Result<&'a CudaSlice<T>> {
    T::get(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found: s.dtype(),
    })
}

fn sl_mut<'a, T: DevElem>(
    op: &'static str,
    s: &'a mut CudaStorage,
) -> Result<&'a mut CudaSlice<T>> {
    let found = s.dtype();
    T::get_mut(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found,
    })
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// Launches kernel `$name` (for element type `$T`) over `$n` elements with `args`.
/// SAFETY of every use: the method calling it first checked each buffer against `$n` and
/// the shapes (`recur_tensor::check`), so the kernel's grid-stride loop stays in bounds.
macro_rules! launch {
    ($self:ident, $T:ty, $name:expr, $n:expr, [$($arg:expr),* $(,)?]) => {{
        let f = $self.kernel::<$T>($name)?;
        let mut l = $self.dev.stream.launch_builder(&f);
        $( l.arg($arg); )*
        // SAFETY: see the macro's doc comment.
        unsafe { l.launch(grid($n)) }.map(|_| ()).map_err(dev_err)
    }};
}

/// The CUDA backend (one GPU, one stream).
#[derive(Clone)]
pub struct Cuda {
    dev: Arc<Device>,
}

impl std::fmt::Debug for Cuda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cuda({:?})", self.dev)
    }
}

/// A tensor on the GPU.
pub type CudaTensor = Tensor<Cuda>;

impl Cuda {
    /// Opens GPU `ordinal`; a machine without a usable GPU gets an error saying so.
    pub fn new(ordinal: usize) -> Result<Cuda> {
        Ok(Cuda {
            dev: Arc::new(Device::open(ordinal)?),
        })
    }

    /// Waits for all queued work.
    pub fn synchronize(&self) -> Result<()> {
        self.dev.stream.synchronize().map_err(dev_err)
    }

    pub(crate) fn zeros<T: DevElem>(&self, n: usize) -> Result<CudaSlice<T>> {
        self.dev.stream.alloc_zeros::<T>(n).map_err(dev_err)
    }

    pub(crate) fn upload_idx(&self, idx: &[usize]) -> Result<CudaSlice<i64>> {
        let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        if v.is_empty() {
            return self.dev.stream.alloc_zeros::<i64>(1).map_err(dev_err);
        }
        self.dev.stream.memcpy_stod(&v).map_err(dev_err)
    }

    pub(crate) fn kernel<T: DevElem>(&self, name: &str) -> Result<cudarc::driver::CudaFunction> {
        self.dev.function(&format!("{name}_{}", T::SUFFIX))
    }

    pub(crate) fn stream(&self) -> &Arc<cudarc::driver::CudaStream> {
        &self.dev.stream
    }

    /// `c = alpha·a·b + beta·c` through cuBLAS (row-major views mapped to column-major).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gemm_t<T: DevElem>(
        &self,
        spec: &GemmSpec,
        a: &CudaSlice<T>,
        b: &CudaSlice<T>,
        c: &mut CudaSlice<T>,
    ) -> Result<()>
    where
        cudarc::cublas::CudaBlas: Gemm<T>,
    {
        if spec.m == 0 || spec.n == 0 {
            return Ok(());
        }
        if spec.c.col_stride != 1 {
            return Err(dev_err("gemm: the output must be row-major (col_stride 1)"));
        }
        // Row-major X with (rs, 1) is column-major Xᵀ with ld rs; (1, cs) is X with ld cs.
        let op = |l: recur_tensor::MatLayout, cols: usize| -> Result<(cublasOperation_t, i32)> {
            if l.col_stride == 1 {
                Ok((
                    cublasOperation_t::CUBLAS_OP_N,
                    l.row_stride.max(cols) as i32,
                ))
            } else if l.row_stride == 1 {
                Ok((cublasOperation_t::CUBLAS_OP_T, l.col_stride as i32))
            } else {
                Err(dev_err("gemm: operands need a unit stride"))
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
        unsafe { self.dev.blas.gemm(cfg, &bv, &av, &mut cv) }.map_err(dev_err)
    }
}

impl Backend for Cuda {
    type Storage = CudaStorage;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn dtype_of(&self, s: &CudaStorage) -> DType {
        s.dtype()
    }

    fn len_of(&self, s: &CudaStorage) -> usize {
        match s {
            CudaStorage::F32(v) => v.len(),
            CudaStorage::F64(v) => v.len(),
        }
    }

    fn upload(&self, data: HostData) -> Result<CudaStorage> {
        let st = &self.dev.stream;
        Ok(match data {
            HostData::F32(v) if v.is_empty() => {
                CudaStorage::F32(st.alloc_zeros(0).map_err(dev_err)?)
            }
            HostData::F64(v) if v.is_empty() => {
                CudaStorage::F64(st.alloc_zeros(0).map_err(dev_err)?)
            }
            HostData::F32(v) => CudaStorage::F32(st.memcpy_stod(&v).map_err(dev_err)?),
            HostData::F64(v) => CudaStorage::F64(st.memcpy_stod(&v).map_err(dev_err)?),
        })
    }

    fn download(&self, s: &CudaStorage) -> Result<HostData> {
        let st = &self.dev.stream;
        Ok(match s {
            CudaStorage::F32(v) if v.is_empty() => HostData::F32(Vec::new()),
            CudaStorage::F64(v) if v.is_empty() => HostData::F64(Vec::new()),
            CudaStorage::F32(v) => HostData::F32(st.memcpy_dtov(v).map_err(dev_err)?),
            CudaStorage::F64(v) => HostData::F64(st.memcpy_dtov(v).map_err(dev_err)?),
        })
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<CudaStorage> {
        dispatch!(dtype, T => {
            let mut out = self.dev.stream.alloc_zeros::<T>(len).map_err(dev_err)?;
            if value != 0.0 && len > 0 {
                let f = self.kernel::<T>("fill")?;
                let (v, n) = (T::of(value), len as i64);
                let mut b = self.dev.stream.launch_builder(&f);
                b.arg(&v).arg(&mut out).arg(&n);
                // SAFETY: `out` holds `len` elements.
                unsafe { b.launch(grid(len)) }.map_err(dev_err)?;
            }
            Ok(T::wrap(out))
        })
    }

    fn gemm(
        &self,
        spec: &GemmSpec,
        a: &CudaStorage,
        b: &CudaStorage,
        c: &mut CudaStorage,
    ) -> Result<()> {
        check::gemm(spec, self.len_of(a), self.len_of(b), self.len_of(c))?;
        dispatch!(c.dtype(), T => self.gemm_t::<T>(spec, sl("gemm", a)?, sl("gemm", b)?,
            sl_mut("gemm", c)?))
    }

    fn unary(&self, op: UnaryOp, x: &CudaStorage) -> Result<CudaStorage> {
        dispatch!(x.dtype(), T => {
            let x = sl::<T>(op.name(), x)?;
            let mut out = self.zeros::<T>(x.len())?;
            let n = x.len() as i64;
            // the op's own kernel, `<name>_f32` / `<name>_f64` (recur.cu's UNARY lines)
            launch!(self, T, op.name(), n as usize, [x, &mut out, &n])?;
            Ok(T::wrap(out))
        })
    }

    fn unary_backward(&self, op: UnaryOp, y: &CudaStorage, g: &CudaStorage) -> Result<CudaStorage> {
        check::same_len(op.name(), self.len_of(y), self.len_of(g))?;
        dispatch!(y.dtype(), T => {
            let (y, g) = (sl::<T>(op.name(), y)?, sl::<T>(op.name(), g)?);
            let mut out = self.zeros::<T>(y.len())?;
            let n = y.len() as i64;
            launch!(self, T, op.backward_name(), n as usize, [y, g, &mut out, &n])?;
            Ok(T::wrap(out))
        })
    }

    fn binary(&self, op: BinaryOp, a: &CudaStorage, b: &CudaStorage) -> Result<CudaStorage> {
        check::same_len(op.name(), self.len_of(a), self.len_of(b))?;
        dispatch!(a.dtype(), T => {
            let (a, b) = (sl::<T>(op.name(), a)?, sl::<T>(op.name(), b)?);
            let mut out = self.zeros::<T>(a.len())?;
            let n = a.len() as i64;
            launch!(self, T, op.name(), n as usize, [a, b, &mut out, &n])?;
            Ok(T::wrap(out))
        })
    }

    fn axpy(&self, alpha: f64, x: &CudaStorage, y: &mut CudaStorage) -> Result<()> {
        check::same_len("axpy", self.len_of(x), self.len_of(y))?;
        dispatch!(y.dtype(), T => {
            let x = sl::<T>("axpy", x)?;
            let y = sl_mut::<T>("axpy", y)?;
            let (a, n) = (T::of(alpha), x.len() as i64);
            launch!(self, T, "axpy", n as usize, [&a, x, y, &n])?;
            Ok(())
        })
    }

    fn scale(&self, x: &CudaStorage, alpha: f64) -> Result<CudaStorage> {
        dispatch!(x.dtype(), T => {
            let x = sl::<T>("scale", x)?;
            let mut out = self.zeros::<T>(x.len())?;
            let (a, n) = (T::of(alpha), x.len() as i64);
            launch!(self, T, "scale", n as usize, [&a, x, &mut out, &n])?;
            Ok(T::wrap(out))
        })
    }

    fn add_bias_rows(&self, x: &mut CudaStorage, cols: usize, bias: &CudaStorage) -> Result<()> {
        check::rows("add_bias_rows", self.len_of(x), cols)?;
        check::len_is("add_bias_rows", "bias", self.len_of(bias), cols)?;
        dispatch!(x.dtype(), T => {
            let bias = sl::<T>("add_bias_rows", bias)?;
            let x = sl_mut::<T>("add_bias_rows", x)?;
            let (c, n) = (cols as i64, x.len() as i64);
            launch!(self, T, "add_bias_rows", n as usize, [x, bias, &c, &n])?;
            Ok(())
        })
    }

    fn sum_axis(
        &self,
        x: &CudaStorage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("sum_axis", "x", self.len_of(x), outer * n * inner)?;
        dispatch!(x.dtype(), T => {
            let x = sl::<T>("sum_axis", x)?;
            let mut out = self.zeros::<T>(outer * inner)?;
            let (o, nn, i) = (outer as i64, n as i64, inner as i64);
            launch!(self, T, "sum_axis", outer * inner, [x, &mut out, &o, &nn, &i])?;
            Ok(T::wrap(out))
        })
    }

    fn broadcast_axis(
        &self,
        x: &CudaStorage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("broadcast_axis", "x", self.len_of(x), outer * inner)?;
        dispatch!(x.dtype(), T => {
            let x = sl::<T>("broadcast_axis", x)?;
            let mut out = self.zeros::<T>(outer * n * inner)?;
            let (o, nn, i) = (outer as i64, n as i64, inner as i64);
            launch!(self, T, "broadcast_axis", outer * n * inner, [x, &mut out, &o, &nn, &i])?;
            Ok(T::wrap(out))
        })
    }

    fn log_softmax(&self, x: &CudaStorage, cols: usize) -> Result<CudaStorage> {
        check::rows("log_softmax", self.len_of(x), cols)?;
        dispatch!(x.dtype(), T => {
            let x = sl::<T>("log_softmax", x)?;
            let rows = x.len() / cols.max(1);
            let mut out = self.zeros::<T>(x.len())?;
            let (r, c) = (rows as i64, cols as i64);
            launch!(self, T, "log_softmax", rows, [x, &mut out, &r, &c])?;
            Ok(T::wrap(out))
        })
    }

    fn nll_mean(&self, log_probs: &CudaStorage, cols: usize, labels: &[usize]) -> Result<f64> {
        check::labelled_rows("nll_loss", self.len_of(log_probs), cols, labels)?;
        dispatch!(log_probs.dtype(), T => {
            let lp = sl::<T>("nll_loss", log_probs)?;
            let d_labels = self.upload_idx(labels)?;
            let mut out = self.zeros::<T>(labels.len())?;
            let (r, c) = (labels.len() as i64, cols as i64);
            launch!(self, T, "nll_rows", labels.len(), [lp, &d_labels, &mut out, &r, &c])?;
            let host = self.dev.stream.memcpy_dtov(&out).map_err(dev_err)?;
            let total: f64 = host.iter().take(labels.len()).map(|&v| to_f64(v)).sum();
            Ok(total / labels.len() as f64)
        })
    }

    fn cross_entropy_backward(
        &self,
        log_probs: &CudaStorage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<CudaStorage> {
        check::labelled_rows(
            "cross_entropy_backward",
            self.len_of(log_probs),
            cols,
            labels,
        )?;
        dispatch!(log_probs.dtype(), T => {
            let lp = sl::<T>("cross_entropy_backward", log_probs)?;
            let d_labels = self.upload_idx(labels)?;
            let mut out = self.zeros::<T>(lp.len())?;
            let (s, r, c) = (T::of(scale), labels.len() as i64, cols as i64);
            launch!(self, T, "cross_entropy_backward", labels.len() * cols, [lp, &d_labels, &s,
                &mut out, &r, &c])?;
            Ok(T::wrap(out))
        })
    }

    fn copy_block(
        &self,
        src: &CudaStorage,
        outer: usize,
        inner: usize,
        src_dim: usize,
        src_start: usize,
        dst: &mut CudaStorage,
        dst_dim: usize,
        dst_start: usize,
        len: usize,
    ) -> Result<()> {
        check::block(
            "copy_block",
            self.len_of(src),
            outer,
            src_dim,
            inner,
            src_start,
            len,
        )?;
        check::block(
            "copy_block",
            self.len_of(dst),
            outer,
            dst_dim,
            inner,
            dst_start,
            len,
        )?;
        dispatch!(dst.dtype(), T => {
            let s = sl::<T>("copy_block", src)?;
            let d = sl_mut::<T>("copy_block", dst)?;
            let a = [outer as i64, inner as i64, src_dim as i64, src_start as i64, dst_dim as i64,
                dst_start as i64, len as i64];
            launch!(self, T, "copy_block", outer * len * inner, [s, d, &a[0], &a[1], &a[2], &a[3],
                &a[4], &a[5], &a[6]])?;
            Ok(())
        })
    }

    fn transpose01(
        &self,
        x: &CudaStorage,
        d0: usize,
        d1: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("transpose01", "x", self.len_of(x), d0 * d1 * inner)?;
        dispatch!(x.dtype(), T => {
            let x = sl::<T>("transpose01", x)?;
            let mut out = self.zeros::<T>(x.len())?;
            let a = [d0 as i64, d1 as i64, inner as i64];
            launch!(self, T, "transpose01", d0 * d1 * inner, [x, &mut out, &a[0], &a[1], &a[2]])?;
            Ok(T::wrap(out))
        })
    }

    fn gather_rows(&self, src: &CudaStorage, cols: usize, idx: &[usize]) -> Result<CudaStorage> {
        let rows = check::rows("gather_rows", self.len_of(src), cols)?;
        check::indices("gather_rows", idx, rows)?;
        dispatch!(src.dtype(), T => {
            let s = sl::<T>("gather_rows", src)?;
            let d_idx = self.upload_idx(idx)?;
            let mut out = self.zeros::<T>(idx.len() * cols)?;
            let (n, c) = (idx.len() as i64, cols as i64);
            if idx.len() * cols > 0 {
                launch!(self, T, "gather_rows", idx.len() * cols, [s, &d_idx, &mut out, &n, &c])?;
            }
            let out = if idx.is_empty() || cols == 0 {
                self.dev.stream.alloc_zeros::<T>(0).map_err(dev_err)?
            } else {
                out
            };
            Ok(T::wrap(out))
        })
    }

    fn scatter_add_rows(
        &self,
        dst: &mut CudaStorage,
        cols: usize,
        idx: &[usize],
        src: &CudaStorage,
    ) -> Result<()> {
        check::row_update(
            "scatter_add_rows",
            self.len_of(dst),
            cols,
            idx,
            self.len_of(src),
        )?;
        self.scatter(dst, cols, idx, src, "scatter_add_rows")
    }

    fn scatter_rows(
        &self,
        dst: &mut CudaStorage,
        cols: usize,
        idx: &[usize],
        src: &CudaStorage,
    ) -> Result<()> {
        check::row_update(
            "scatter_rows",
            self.len_of(dst),
            cols,
            idx,
            self.len_of(src),
        )?;
        self.scatter(dst, cols, idx, src, "scatter_rows")
    }

    fn adam_step(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        m: &mut CudaStorage,
        v: &mut CudaStorage,
        h: &AdamHyper,
    ) -> Result<()> {
        for len in [self.len_of(g), self.len_of(m), self.len_of(v)] {
            check::same_len("adam_step", self.len_of(p), len)?;
        }
        let (bc1, bc2) = (
            1.0 - h.beta1.powi(h.step as i32),
            1.0 - h.beta2.powi(h.step as i32),
        );
        dispatch!(p.dtype(), T => {
            let op = "adam_step";
            let g = sl::<T>(op, g)?;
            let n = g.len() as i64;
            let s = [T::of(1.0 - h.beta1), T::of(h.beta2), T::of(1.0 - h.beta2), T::of(h.lr / bc1),
                T::of(bc2.sqrt()), T::of(h.eps), T::of(h.weight_decay)];
            launch!(self, T, op, n as usize, [sl_mut::<T>(op, p)?, g, sl_mut::<T>(op, m)?,
                sl_mut::<T>(op, v)?, &n,
                &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6]])
        })
    }

    fn adam_rows_catch_up(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        m: &mut CudaStorage,
        v: &mut CudaStorage,
        cols: usize,
        rows: &[usize],
        last: &mut [u64],
        h: &AdamHyper,
    ) -> Result<()> {
        let r = check::row_update(
            "adam_rows_catch_up",
            self.len_of(p),
            cols,
            rows,
            self.len_of(g),
        )?;
        for len in [self.len_of(m), self.len_of(v)] {
            check::same_len("adam_rows_catch_up", self.len_of(p), len)?;
        }
        check::len_is("adam_rows_catch_up", "last", last.len(), r)?;
        if rows.is_empty() {
            return Ok(());
        }
        dispatch!(p.dtype(), T => {
            let op = "adam_rows_catch_up";
            // scalars of steps base+1..=now only: the oldest step a touched row replays from
            let base = rows.iter().map(|&r| last[r]).min().unwrap_or(h.step);
            let scal: Vec<T> = (base + 1..=h.step).flat_map(|s| {
                let (bc1, bc2) = (1.0 - h.beta1.powi(s as i32), 1.0 - h.beta2.powi(s as i32));
                [T::of(h.lr / bc1), T::of(bc2.sqrt())]
            }).collect();
            let d_scal = self.dev.stream.memcpy_stod(&scal).map_err(dev_err)?;
            let d_rows = self.upload_idx(rows)?;
            let from: Vec<usize> = rows.iter().map(|&r| last[r] as usize).collect();
            let d_from = self.upload_idx(&from)?;
            let a = [rows.len() as i64, cols as i64, h.step as i64, base as i64];
            let s = [T::of(1.0 - h.beta1), T::of(h.beta2), T::of(1.0 - h.beta2), T::of(h.eps),
                T::of(h.weight_decay)];
            launch!(self, T, op, rows.len() * cols, [sl_mut::<T>(op, p)?, sl::<T>(op, g)?,
                sl_mut::<T>(op, m)?,
                sl_mut::<T>(op, v)?, &d_rows, &d_from, &d_scal, &a[0], &a[1], &a[2], &a[3], &s[0],
                    &s[1], &s[2], &s[3], &s[4]])?;
            for &r in rows {
                last[r] = h.step;
            }
            Ok(())
        })
    }

    fn sparse_adam_rows(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        m: &mut CudaStorage,
        v: &mut CudaStorage,
        cols: usize,
        rows: &[usize],
        h: &AdamHyper,
    ) -> Result<()> {
        check::row_update(
            "sparse_adam_rows",
            self.len_of(p),
            cols,
            rows,
            self.len_of(g),
        )?;
        for len in [self.len_of(m), self.len_of(v)] {
            check::same_len("sparse_adam_rows", self.len_of(p), len)?;
        }
        if rows.is_empty() {
            return Ok(());
        }
        let (bc1, bc2) = (
            1.0 - h.beta1.powi(h.step as i32),
            1.0 - h.beta2.powi(h.step as i32),
        );
        dispatch!(p.dtype(), T => {
            let op = "sparse_adam_rows";
            let d_rows = self.upload_idx(rows)?;
            let a = [rows.len() as i64, cols as i64];
            let s = [T::of(1.0 - h.beta1), T::of(1.0 - h.beta2), T::of(h.lr * bc2.sqrt() / bc1),
                T::of(h.eps)];
            launch!(self, T, op, rows.len() * cols, [sl_mut::<T>(op, p)?, sl::<T>(op, g)?,
                sl_mut::<T>(op, m)?,
                sl_mut::<T>(op, v)?, &d_rows, &a[0], &a[1], &s[0], &s[1], &s[2], &s[3]])
        })
    }

    fn sgd_step(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        buf: Option<&mut CudaStorage>,
        h: &SgdHyper,
    ) -> Result<()> {
        check::same_len("sgd_step", self.len_of(p), self.len_of(g))?;
        if let Some(b) = &buf {
            check::same_len("sgd_step", self.len_of(p), self.len_of(b))?;
        }
        dispatch!(p.dtype(), T => {
            let op = "sgd_step";
            let g = sl::<T>(op, g)?;
            let n = g.len() as i64;
            let has_buf = i32::from(buf.is_some());
            let mut dummy = self.zeros::<T>(1)?;
            let buf = match buf { Some(b) => sl_mut::<T>(op, b)?, None => &mut dummy };
            let s = [T::of(h.lr), T::of(h.momentum), T::of(1.0 - h.dampening),
                T::of(h.weight_decay)];
            let (nest, fst) = (i32::from(h.nesterov), i32::from(h.first));
            launch!(self, T, op, n as usize, [sl_mut::<T>(op, p)?, g, buf, &n, &s[0], &s[1], &s[2],
                &s[3], &nest, &fst, &has_buf])
        })
    }

    fn lstm_seq_forward(&self, inputs: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        inputs.validate()?;
        recurrent::forward(self, inputs)
    }

    fn lstm_seq_backward(
        &self,
        saved: &SeqSaved<Self>,
        go: Option<&CudaTensor>,
        gh: Option<&CudaTensor>,
        gc: Option<&CudaTensor>,
    ) -> Result<SeqGrads<Self>> {
        saved.check_grads(go, gh, gc)?;
        recurrent::backward(self, saved, go, gh, gc)
    }

    fn gru_seq_forward(&self, inputs: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        inputs.validate()?;
        recurrent::forward(self, inputs)
    }

    fn gru_seq_backward(
        &self,
        saved: &SeqSaved<Self>,
        go: Option<&CudaTensor>,
        gh: Option<&CudaTensor>,
    ) -> Result<SeqGrads<Self>> {
        saved.check_grads(go, gh, None)?;
        recurrent::backward(self, saved, go, gh, None)
    }

    fn rnn_seq_forward(&self, inputs: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        inputs.validate()?;
        recurrent::forward(self, inputs)
    }

    fn rnn_seq_backward(
        &self,
        saved: &SeqSaved<Self>,
        go: Option<&CudaTensor>,
        gh: Option<&CudaTensor>,
    ) -> Result<SeqGrads<Self>> {
        saved.check_grads(go, gh, None)?;
        recurrent::backward(self, saved, go, gh, None)
    }
}

impl Cuda {
    fn scatter(
        &self,
        dst: &mut CudaStorage,
        cols: usize,
        idx: &[usize],
        src: &CudaStorage,
        name: &'static str,
    ) -> Result<()> {
        if idx.is_empty() || cols == 0 {
            return Ok(());
        }
        dispatch!(dst.dtype(), T => {
            let s = sl::<T>(name, src)?;
            let d = sl_mut::<T>(name, dst)?;
            let d_idx = self.upload_idx(idx)?;
            let (n, c) = (idx.len() as i64, cols as i64);
            let f = self.kernel::<T>(name)?;
            let mut l = self.dev.stream.launch_builder(&f);
            l.arg(d).arg(&d_idx).arg(s).arg(&n).arg(&c);
            // SAFETY: indices range-checked by the front end.
            unsafe { l.launch(grid(idx.len() * cols)) }.map_err(dev_err)?;
            Ok(())
        })
    }
}

fn to_f64<T: DevElem>(v: T) -> f64 {
    match T::host(vec![v]) {
        HostData::F32(x) => x[0] as f64,
        HostData::F64(x) => x[0],
    }
}
