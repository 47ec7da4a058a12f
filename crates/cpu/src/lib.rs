//! The CPU backend: `Vec` storage, a packed AVX-512 GEMM for f32 (`matrixmultiply`
//! otherwise), fused recurrent kernels that run large batches as two halves of rows on two
//! threads, and `rayon` only for maps large enough to pay for the fork (see
//! [`kernels::basic::PAR_MIN`]).
//!
//! The layout is the CUDA crate's: this file is the `Backend` impl (each of its ~35 methods
//! checks its operands and dispatches on the dtype; it stays one file because Rust allows one
//! trait impl block), `storage.rs` the buffers, `kernels/` the loops by family,
//! `recurrent.rs` the gated cells' fused passes, `scan.rs` the scan cells' passes.
//!
//! ```
//! use recur_cpu::Cpu;
//! use recur_tensor::{DType, Tensor, UnaryOp};
//!
//! let x = Tensor::from_f64(&Cpu, &[4], &[-2., -0.5, 0.5, 2.], DType::F32)?;
//! let y = x.unary(UnaryOp::Tanh)?; // one fused pass over the storage
//! assert!((y.to_f64_vec()?[3] - 2f64.tanh()).abs() < 1e-6);
//! # Ok::<(), recur_tensor::Error>(())
//! ```

mod alloc;
mod elem;
pub mod kernels;
mod pool;
mod storage;

use recur_tensor::{
    check, AdamHyper, Backend, BinaryOp, CellKind, DType, GemmSpec, HostData, Result, SeqGrads,
    SeqInputs, SeqOutputs, SeqSaved, SgdHyper, Tensor, UnaryOp,
};

pub use alloc::keep_freed_memory;
pub use elem::Elem;
use elem::{sl, sl_mut};
use kernels::{basic, gemm, optim, softmax};
pub use storage::CpuStorage;

/// The CPU backend (stateless; rayon's global pool does the threading).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu;

/// A tensor on the CPU.
pub type CpuTensor = Tensor<Cpu>;

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            recur_tensor::DType::F32 => {
                type $T = f32;
                $body
            }
            recur_tensor::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

mod recurrent;
mod scan;

/// A zeroed buffer, for kernels that accumulate into their output.
fn new_like<T: Elem>(len: usize) -> Vec<T> {
    T::filled(len, T::zero())
}

/// A buffer for an output its kernel writes in full (its old values are never read).
fn out_like<T: Elem>(len: usize) -> Vec<T> {
    T::overwritten(len)
}

pub(crate) fn tensor(shape: Vec<usize>, storage: CpuStorage) -> Result<CpuTensor> {
    Tensor::from_storage(&Cpu, shape, storage)
}

pub(crate) fn opt_slice<'a, T: Elem>(
    op: &'static str,
    t: Option<&'a CpuTensor>,
) -> Result<Option<&'a [T]>> {
    t.map(|t| sl::<T>(op, t.storage())).transpose()
}

impl Backend for Cpu {
    type Storage = CpuStorage;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn dtype_of(&self, s: &CpuStorage) -> DType {
        s.dtype()
    }

    fn len_of(&self, s: &CpuStorage) -> usize {
        s.len()
    }

    fn upload(&self, data: HostData) -> Result<CpuStorage> {
        Ok(match data {
            HostData::F32(v) => CpuStorage::F32(v),
            HostData::F64(v) => CpuStorage::F64(v),
        })
    }

    fn download(&self, s: &CpuStorage) -> Result<HostData> {
        Ok(match s {
            CpuStorage::F32(v) => HostData::F32(v.clone()),
            CpuStorage::F64(v) => HostData::F64(v.clone()),
        })
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<CpuStorage> {
        Ok(dispatch!(dtype, T => T::wrap(T::filled(len, T::of(value)))))
    }

    fn output(&self, dtype: DType, len: usize) -> Result<CpuStorage> {
        Ok(dispatch!(dtype, T => T::wrap(out_like::<T>(len))))
    }

    fn gemm(
        &self,
        spec: &GemmSpec,
        a: &CpuStorage,
        b: &CpuStorage,
        c: &mut CpuStorage,
    ) -> Result<()> {
        check::gemm(spec, a.len(), b.len(), c.len())?;
        dispatch!(c.dtype(), T => {
            let (a, b) = (sl::<T>("gemm", a)?, sl::<T>("gemm", b)?);
            gemm::gemm(spec.m, spec.n, spec.k, T::of(spec.alpha), a, spec.a, b, spec.b,
                T::of(spec.beta), sl_mut::<T>("gemm", c)?, spec.c);
        });
        Ok(())
    }

    fn unary(&self, op: UnaryOp, x: &CpuStorage) -> Result<CpuStorage> {
        Ok(dispatch!(x.dtype(), T => {
            let x = sl::<T>(op.name(), x)?;
            let mut out = out_like::<T>(x.len());
            basic::unary(op, x, &mut out);
            T::wrap(out)
        }))
    }

    fn unary_backward(&self, op: UnaryOp, y: &CpuStorage, g: &CpuStorage) -> Result<CpuStorage> {
        check::same_len(op.name(), y.len(), g.len())?;
        Ok(dispatch!(y.dtype(), T => {
            let (y, g) = (sl::<T>(op.name(), y)?, sl::<T>(op.name(), g)?);
            let mut out = out_like::<T>(y.len());
            basic::unary_backward(op, y, g, &mut out);
            T::wrap(out)
        }))
    }

    fn binary(&self, op: BinaryOp, a: &CpuStorage, b: &CpuStorage) -> Result<CpuStorage> {
        check::same_len(op.name(), a.len(), b.len())?;
        Ok(dispatch!(a.dtype(), T => {
            let (a, b) = (sl::<T>(op.name(), a)?, sl::<T>(op.name(), b)?);
            let mut out = out_like::<T>(a.len());
            basic::binary(op, a, b, &mut out);
            T::wrap(out)
        }))
    }

    fn axpy(&self, alpha: f64, x: &CpuStorage, y: &mut CpuStorage) -> Result<()> {
        check::same_len("axpy", x.len(), y.len())?;
        dispatch!(y.dtype(), T => basic::axpy(T::of(alpha), sl::<T>("axpy", x)?,
            sl_mut::<T>("axpy", y)?));
        Ok(())
    }

    fn scale(&self, x: &CpuStorage, alpha: f64) -> Result<CpuStorage> {
        Ok(dispatch!(x.dtype(), T => {
            let a = T::of(alpha);
            let x = sl::<T>("scale", x)?;
            let mut out = out_like::<T>(x.len());
            basic::unary_map(x, &mut out, |v| v * a);
            T::wrap(out)
        }))
    }

    fn add_bias_rows(&self, x: &mut CpuStorage, cols: usize, bias: &CpuStorage) -> Result<()> {
        check::rows("add_bias_rows", x.len(), cols)?;
        check::len_is("add_bias_rows", "bias", bias.len(), cols)?;
        dispatch!(x.dtype(), T => basic::add_bias_rows(sl_mut::<T>("add_bias_rows", x)?,
            sl::<T>("add_bias_rows", bias)?));
        Ok(())
    }

    fn sum_squares(&self, x: &CpuStorage) -> Result<f64> {
        Ok(dispatch!(x.dtype(), T => basic::sum_squares(sl::<T>("sum_squares", x)?)))
    }

    fn sum_axis(&self, x: &CpuStorage, outer: usize, n: usize, inner: usize) -> Result<CpuStorage> {
        check::len_is("sum_axis", "x", x.len(), outer * n * inner)?;
        Ok(dispatch!(x.dtype(), T => {
            let mut out = new_like::<T>(outer * inner);
            basic::sum_axis(sl::<T>("sum_axis", x)?, n, inner, &mut out);
            T::wrap(out)
        }))
    }

    fn broadcast_axis(
        &self,
        x: &CpuStorage,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<CpuStorage> {
        check::len_is("broadcast_axis", "x", x.len(), outer * inner)?;
        Ok(dispatch!(x.dtype(), T => {
            let mut out = out_like::<T>(outer * n * inner);
            basic::broadcast_axis(sl::<T>("broadcast_axis", x)?, outer, n, inner, &mut out);
            T::wrap(out)
        }))
    }

    fn log_softmax(&self, x: &CpuStorage, cols: usize) -> Result<CpuStorage> {
        check::rows("log_softmax", x.len(), cols)?;
        Ok(dispatch!(x.dtype(), T => {
            let x = sl::<T>("log_softmax", x)?;
            let mut out = out_like::<T>(x.len());
            softmax::log_softmax(x, cols, &mut out);
            T::wrap(out)
        }))
    }

    fn nll_mean(&self, log_probs: &CpuStorage, cols: usize, labels: &[usize]) -> Result<f64> {
        check::labelled_rows("nll_loss", log_probs.len(), cols, labels)?;
        Ok(
            dispatch!(log_probs.dtype(), T => softmax::nll_mean(sl::<T>("nll_loss", log_probs)?,
                cols, labels)),
        )
    }

    fn cross_entropy_backward(
        &self,
        log_probs: &CpuStorage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<CpuStorage> {
        check::labelled_rows("cross_entropy_backward", log_probs.len(), cols, labels)?;
        Ok(dispatch!(log_probs.dtype(), T => {
            let lp = sl::<T>("cross_entropy_backward", log_probs)?;
            let mut out = out_like::<T>(lp.len());
            softmax::cross_entropy_backward(lp, cols, labels, T::of(scale), &mut out);
            T::wrap(out)
        }))
    }

    fn cross_entropy_with_grad(
        &self,
        x: &CpuStorage,
        cols: usize,
        labels: &[usize],
        scale: f64,
    ) -> Result<(f64, CpuStorage)> {
        check::labelled_rows("cross_entropy", x.len(), cols, labels)?;
        Ok(dispatch!(x.dtype(), T => {
            let x = sl::<T>("cross_entropy", x)?;
            let mut out = out_like::<T>(x.len());
            let loss = softmax::cross_entropy(x, cols, labels, T::of(scale), &mut out);
            (loss, T::wrap(out))
        }))
    }

    fn copy_block(
        &self,
        src: &CpuStorage,
        outer: usize,
        inner: usize,
        src_dim: usize,
        src_start: usize,
        dst: &mut CpuStorage,
        dst_dim: usize,
        dst_start: usize,
        len: usize,
    ) -> Result<()> {
        check::block(
            "copy_block",
            src.len(),
            outer,
            src_dim,
            inner,
            src_start,
            len,
        )?;
        check::block(
            "copy_block",
            dst.len(),
            outer,
            dst_dim,
            inner,
            dst_start,
            len,
        )?;
        dispatch!(dst.dtype(), T => basic::copy_block(sl::<T>("copy_block", src)?, outer, inner,
            src_dim, src_start,
            sl_mut::<T>("copy_block", dst)?, dst_dim, dst_start, len));
        Ok(())
    }

    fn transpose01(
        &self,
        x: &CpuStorage,
        d0: usize,
        d1: usize,
        inner: usize,
    ) -> Result<CpuStorage> {
        check::len_is("transpose01", "x", x.len(), d0 * d1 * inner)?;
        Ok(dispatch!(x.dtype(), T => {
            let x = sl::<T>("transpose01", x)?;
            let mut out = out_like::<T>(x.len());
            basic::transpose01(x, d0, d1, inner, &mut out);
            T::wrap(out)
        }))
    }

    fn gather_rows(&self, src: &CpuStorage, cols: usize, idx: &[usize]) -> Result<CpuStorage> {
        let rows = check::rows("gather_rows", src.len(), cols)?;
        check::indices("gather_rows", idx, rows)?;
        Ok(dispatch!(src.dtype(), T => {
            let mut out = T::empty(idx.len() * cols);
            basic::gather_rows(sl::<T>("gather_rows", src)?, cols, idx, &mut out);
            T::wrap(out)
        }))
    }

    fn scatter_add_rows(
        &self,
        dst: &mut CpuStorage,
        cols: usize,
        idx: &[usize],
        src: &CpuStorage,
    ) -> Result<()> {
        check::row_update("scatter_add_rows", dst.len(), cols, idx, src.len())?;
        dispatch!(dst.dtype(), T => basic::scatter_rows(sl_mut::<T>("scatter_add_rows", dst)?,
            cols, idx,
            sl::<T>("scatter_add_rows", src)?, true));
        Ok(())
    }

    fn scatter_rows(
        &self,
        dst: &mut CpuStorage,
        cols: usize,
        idx: &[usize],
        src: &CpuStorage,
    ) -> Result<()> {
        check::row_update("scatter_rows", dst.len(), cols, idx, src.len())?;
        dispatch!(dst.dtype(), T => basic::scatter_rows(sl_mut::<T>("scatter_rows", dst)?, cols,
            idx,
            sl::<T>("scatter_rows", src)?, false));
        Ok(())
    }

    fn adam_step(
        &self,
        p: &mut CpuStorage,
        g: &CpuStorage,
        m: &mut CpuStorage,
        v: &mut CpuStorage,
        hyper: &AdamHyper,
    ) -> Result<()> {
        let op = "adam_step";
        for len in [g.len(), m.len(), v.len()] {
            check::same_len(op, p.len(), len)?;
        }
        dispatch!(p.dtype(), T => optim::adam_step(sl_mut::<T>(op, p)?, sl::<T>(op, g)?,
            sl_mut::<T>(op, m)?, sl_mut::<T>(op, v)?, hyper));
        Ok(())
    }

    fn adam_rows_catch_up(
        &self,
        p: &mut CpuStorage,
        g: &CpuStorage,
        m: &mut CpuStorage,
        v: &mut CpuStorage,
        cols: usize,
        rows: &[usize],
        last: &mut [u64],
        hyper: &AdamHyper,
    ) -> Result<()> {
        let op = "adam_rows_catch_up";
        let r = check::row_update(op, p.len(), cols, rows, g.len())?;
        for len in [m.len(), v.len()] {
            check::same_len(op, p.len(), len)?;
        }
        check::len_is(op, "last", last.len(), r)?;
        dispatch!(p.dtype(), T => optim::adam_rows_catch_up(sl_mut::<T>(op, p)?, sl::<T>(op, g)?,
            sl_mut::<T>(op, m)?,
            sl_mut::<T>(op, v)?, cols, rows, last, hyper));
        Ok(())
    }

    fn sparse_adam_rows(
        &self,
        p: &mut CpuStorage,
        g: &CpuStorage,
        m: &mut CpuStorage,
        v: &mut CpuStorage,
        cols: usize,
        rows: &[usize],
        hyper: &AdamHyper,
    ) -> Result<()> {
        let op = "sparse_adam_rows";
        check::row_update(op, p.len(), cols, rows, g.len())?;
        for len in [m.len(), v.len()] {
            check::same_len(op, p.len(), len)?;
        }
        dispatch!(p.dtype(), T => optim::sparse_adam_rows(sl_mut::<T>(op, p)?, sl::<T>(op, g)?,
            sl_mut::<T>(op, m)?,
            sl_mut::<T>(op, v)?, cols, rows, hyper));
        Ok(())
    }

    fn sgd_step(
        &self,
        p: &mut CpuStorage,
        g: &CpuStorage,
        buf: Option<&mut CpuStorage>,
        hyper: &SgdHyper,
    ) -> Result<()> {
        let op = "sgd_step";
        check::same_len(op, p.len(), g.len())?;
        if let Some(b) = &buf {
            check::same_len(op, p.len(), b.len())?;
        }
        dispatch!(p.dtype(), T => {
            let buf = match buf { Some(b) => Some(sl_mut::<T>(op, b)?), None => None };
            optim::sgd_step(sl_mut::<T>(op, p)?, sl::<T>(op, g)?, buf, hyper)
        });
        Ok(())
    }

    fn seq_forward(&self, x: &SeqInputs<'_, Self>) -> Result<SeqOutputs<Self>> {
        match x.cell.kind {
            CellKind::Lstm => self.lstm_seq_forward_impl(x),
            CellKind::Gru => self.gru_seq_forward_impl(x),
            CellKind::RnnTanh | CellKind::RnnRelu => self.rnn_seq_forward_impl(x),
            CellKind::MinGru | CellKind::MinLstm => scan::forward(x),
        }
    }

    fn seq_backward(
        &self,
        s: &SeqSaved<Self>,
        grad_output: Option<&CpuTensor>,
        grad_state_n: &[Option<CpuTensor>],
    ) -> Result<SeqGrads<Self>> {
        match s.cell.kind {
            CellKind::Lstm => self.lstm_seq_backward_impl(s, grad_output, grad_state_n),
            CellKind::Gru => self.gru_seq_backward_impl(s, grad_output, grad_state_n),
            CellKind::RnnTanh | CellKind::RnnRelu => {
                self.rnn_seq_backward_impl(s, grad_output, grad_state_n)
            }
            CellKind::MinGru | CellKind::MinLstm => scan::backward(s, grad_output, grad_state_n),
        }
    }
}
