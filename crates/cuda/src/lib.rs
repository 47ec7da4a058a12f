//! The CUDA backend: `cudarc` with dynamic loading (the crate builds and its tests run on
//! machines without CUDA; [`Cuda::new`] then returns a clear error), cuBLAS for GEMMs, and
//! the kernels of `kernels/recur.cu` compiled with NVRTC at first use. Every kernel has a CPU
//! twin of the same op name in `recur-cpu`; `tests/parity.rs` compares them.
//!
//! The layout mirrors `recur-cpu`: this file is the `Backend` impl (each of its ~35 methods
//! checks its operands and dispatches on the dtype; it stays one file because Rust allows one
//! trait impl block), `kernels/` the launches by family, `recurrent.rs` the fused recurrent
//! passes, `scan.rs` the scan cells' passes.
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
mod handle;
mod kernels;
mod recurrent;
mod scan;
mod storage;

use recur_tensor::{
    check, AdamHyper, Backend, BinaryOp, DType, GemmSpec, HostData, Result, SeqGrads, SeqInputs,
    SeqOutputs, SeqSaved, SgdHyper, UnaryOp,
};

use device::dev_err;
pub use device::{compile_kernels, KERNELS};
use handle::dispatch;
pub use handle::{Cuda, CudaTensor};
use kernels::basic::{self, Block};
use kernels::optim::{self, AdamState};
use kernels::softmax;
use storage::{sl, sl_mut};
pub use storage::{CudaStorage, DevElem};

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
            HostData::F32(v) if v.is_empty() => CudaStorage::F32(self.zeros(0)?),
            HostData::F64(v) if v.is_empty() => CudaStorage::F64(self.zeros(0)?),
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
        dispatch!(dtype, T => Ok(T::wrap(basic::fill::<T>(self, len, value)?)))
    }

    fn gemm(
        &self,
        spec: &GemmSpec,
        a: &CudaStorage,
        b: &CudaStorage,
        c: &mut CudaStorage,
    ) -> Result<()> {
        check::gemm(spec, self.len_of(a), self.len_of(b), self.len_of(c))?;
        dispatch!(c.dtype(), T => kernels::gemm::gemm::<T>(self, spec, sl("gemm", a)?,
            sl("gemm", b)?, sl_mut("gemm", c)?))
    }

    fn unary(&self, op: UnaryOp, x: &CudaStorage) -> Result<CudaStorage> {
        dispatch!(x.dtype(), T => Ok(T::wrap(basic::unary::<T>(self, op, sl(op.name(), x)?)?)))
    }

    fn unary_backward(&self, op: UnaryOp, y: &CudaStorage, g: &CudaStorage) -> Result<CudaStorage> {
        check::same_len(op.name(), self.len_of(y), self.len_of(g))?;
        dispatch!(y.dtype(), T => Ok(T::wrap(basic::unary_backward::<T>(self, op,
            sl(op.name(), y)?, sl(op.name(), g)?)?)))
    }

    fn binary(&self, op: BinaryOp, a: &CudaStorage, b: &CudaStorage) -> Result<CudaStorage> {
        check::same_len(op.name(), self.len_of(a), self.len_of(b))?;
        dispatch!(a.dtype(), T => Ok(T::wrap(basic::binary::<T>(self, op, sl(op.name(), a)?,
            sl(op.name(), b)?)?)))
    }

    fn axpy(&self, alpha: f64, x: &CudaStorage, y: &mut CudaStorage) -> Result<()> {
        check::same_len("axpy", self.len_of(x), self.len_of(y))?;
        dispatch!(y.dtype(), T => basic::axpy::<T>(self, alpha, sl("axpy", x)?,
            sl_mut("axpy", y)?))
    }

    fn scale(&self, x: &CudaStorage, alpha: f64) -> Result<CudaStorage> {
        dispatch!(x.dtype(), T => Ok(T::wrap(basic::scale::<T>(self, sl("scale", x)?, alpha)?)))
    }

    fn add_bias_rows(&self, x: &mut CudaStorage, cols: usize, bias: &CudaStorage) -> Result<()> {
        let op = "add_bias_rows";
        check::rows(op, self.len_of(x), cols)?;
        check::len_is(op, "bias", self.len_of(bias), cols)?;
        dispatch!(x.dtype(), T => basic::add_bias_rows::<T>(self, sl_mut(op, x)?, cols,
            sl(op, bias)?))
    }

    fn sum_axis(
        &self,
        x: &CudaStorage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("sum_axis", "x", self.len_of(x), outer * n * inner)?;
        dispatch!(x.dtype(), T => Ok(T::wrap(basic::sum_axis::<T>(self, sl("sum_axis", x)?,
            outer, n, inner)?)))
    }

    fn broadcast_axis(
        &self,
        x: &CudaStorage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("broadcast_axis", "x", self.len_of(x), outer * inner)?;
        dispatch!(x.dtype(), T => Ok(T::wrap(basic::broadcast_axis::<T>(self,
            sl("broadcast_axis", x)?, outer, n, inner)?)))
    }

    fn log_softmax(&self, x: &CudaStorage, cols: usize) -> Result<CudaStorage> {
        check::rows("log_softmax", self.len_of(x), cols)?;
        dispatch!(x.dtype(), T => Ok(T::wrap(softmax::log_softmax::<T>(self,
            sl("log_softmax", x)?, cols)?)))
    }

    fn nll_mean(&self, log_probs: &CudaStorage, cols: usize, labels: &[usize]) -> Result<f64> {
        check::labelled_rows("nll_loss", self.len_of(log_probs), cols, labels)?;
        dispatch!(log_probs.dtype(), T => softmax::nll_mean::<T>(self, sl("nll_loss", log_probs)?,
            cols, labels))
    }

    fn cross_entropy_backward(
        &self,
        log_probs: &CudaStorage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<CudaStorage> {
        let op = "cross_entropy_backward";
        check::labelled_rows(op, self.len_of(log_probs), cols, labels)?;
        dispatch!(log_probs.dtype(), T => Ok(T::wrap(softmax::cross_entropy_backward::<T>(self,
            sl(op, log_probs)?, cols, labels, scale)?)))
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
        let op = "copy_block";
        check::block(op, self.len_of(src), outer, src_dim, inner, src_start, len)?;
        check::block(op, self.len_of(dst), outer, dst_dim, inner, dst_start, len)?;
        let block = Block {
            outer,
            inner,
            src_dim,
            src_start,
            dst_dim,
            dst_start,
            len,
        };
        dispatch!(dst.dtype(), T => basic::copy_block::<T>(self, sl(op, src)?, sl_mut(op, dst)?,
            &block))
    }

    fn transpose01(
        &self,
        x: &CudaStorage,
        d0: usize,
        d1: usize,
        inner: usize,
    ) -> Result<CudaStorage> {
        check::len_is("transpose01", "x", self.len_of(x), d0 * d1 * inner)?;
        dispatch!(x.dtype(), T => Ok(T::wrap(basic::transpose01::<T>(self,
            sl("transpose01", x)?, d0, d1, inner)?)))
    }

    fn gather_rows(&self, src: &CudaStorage, cols: usize, idx: &[usize]) -> Result<CudaStorage> {
        let rows = check::rows("gather_rows", self.len_of(src), cols)?;
        check::indices("gather_rows", idx, rows)?;
        dispatch!(src.dtype(), T => Ok(T::wrap(basic::gather_rows::<T>(self,
            sl("gather_rows", src)?, cols, idx)?)))
    }

    fn scatter_add_rows(
        &self,
        dst: &mut CudaStorage,
        cols: usize,
        idx: &[usize],
        src: &CudaStorage,
    ) -> Result<()> {
        let op = "scatter_add_rows";
        check::row_update(op, self.len_of(dst), cols, idx, self.len_of(src))?;
        dispatch!(dst.dtype(), T => basic::scatter::<T>(self, op, sl_mut(op, dst)?, cols, idx,
            sl(op, src)?))
    }

    fn scatter_rows(
        &self,
        dst: &mut CudaStorage,
        cols: usize,
        idx: &[usize],
        src: &CudaStorage,
    ) -> Result<()> {
        let op = "scatter_rows";
        check::row_update(op, self.len_of(dst), cols, idx, self.len_of(src))?;
        dispatch!(dst.dtype(), T => basic::scatter::<T>(self, op, sl_mut(op, dst)?, cols, idx,
            sl(op, src)?))
    }

    fn adam_step(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        m: &mut CudaStorage,
        v: &mut CudaStorage,
        h: &AdamHyper,
    ) -> Result<()> {
        let op = "adam_step";
        for len in [self.len_of(g), self.len_of(m), self.len_of(v)] {
            check::same_len(op, self.len_of(p), len)?;
        }
        dispatch!(p.dtype(), T => {
            let state = AdamState { p: sl_mut(op, p)?, m: sl_mut(op, m)?, v: sl_mut(op, v)? };
            optim::adam_step::<T>(self, state, sl(op, g)?, h)
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
        let op = "adam_rows_catch_up";
        let r = check::row_update(op, self.len_of(p), cols, rows, self.len_of(g))?;
        for len in [self.len_of(m), self.len_of(v)] {
            check::same_len(op, self.len_of(p), len)?;
        }
        check::len_is(op, "last", last.len(), r)?;
        dispatch!(p.dtype(), T => {
            let state = AdamState { p: sl_mut(op, p)?, m: sl_mut(op, m)?, v: sl_mut(op, v)? };
            optim::adam_rows_catch_up::<T>(self, state, sl(op, g)?, cols, rows, last, h)
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
        let op = "sparse_adam_rows";
        check::row_update(op, self.len_of(p), cols, rows, self.len_of(g))?;
        for len in [self.len_of(m), self.len_of(v)] {
            check::same_len(op, self.len_of(p), len)?;
        }
        dispatch!(p.dtype(), T => {
            let state = AdamState { p: sl_mut(op, p)?, m: sl_mut(op, m)?, v: sl_mut(op, v)? };
            optim::sparse_adam_rows::<T>(self, state, sl(op, g)?, cols, rows, h)
        })
    }

    fn sgd_step(
        &self,
        p: &mut CudaStorage,
        g: &CudaStorage,
        buf: Option<&mut CudaStorage>,
        h: &SgdHyper,
    ) -> Result<()> {
        let op = "sgd_step";
        check::same_len(op, self.len_of(p), self.len_of(g))?;
        if let Some(b) = &buf {
            check::same_len(op, self.len_of(p), self.len_of(b))?;
        }
        dispatch!(p.dtype(), T => {
            let buf = buf.map(|b| sl_mut::<T>(op, b)).transpose()?;
            optim::sgd_step::<T>(self, sl_mut(op, p)?, sl(op, g)?, buf, h)
        })
    }

    fn seq_forward(&self, inputs: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        recurrent::forward(self, inputs)
    }

    fn seq_backward(
        &self,
        saved: &SeqSaved<Self>,
        grad_output: Option<&CudaTensor>,
        grad_state_n: &[Option<CudaTensor>],
    ) -> Result<SeqGrads<Self>> {
        recurrent::backward(self, saved, grad_output, grad_state_n)
    }
}
