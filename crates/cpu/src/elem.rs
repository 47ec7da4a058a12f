//! The element trait the generic CPU kernels are written against (f32 and f64).

use std::fmt::Debug;

use recur_tensor::{DType, Error, Real, Result, UnaryOp};

use crate::CpuStorage;

/// A float the CPU kernels compute in: f32 or f64.
pub trait Elem:
    Real
    + std::ops::AddAssign
    + std::ops::MulAssign
    + std::iter::Sum
    + Default
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The dtype tag.
    const DTYPE: DType;
    /// Logistic sigmoid, as [`UnaryOp::Sigmoid`] defines it.
    #[inline(always)]
    fn sigmoid(x: Self) -> Self {
        UnaryOp::Sigmoid.forward(x)
    }
    /// `tanh(x)`, as [`UnaryOp::Tanh`] defines it.
    #[inline(always)]
    fn tanh_act(x: Self) -> Self {
        UnaryOp::Tanh.forward(x)
    }
    /// `e^x` in the fast form ([`Real::fast_exp`]).
    #[inline(always)]
    fn exp_act(x: Self) -> Self {
        x.fast_exp()
    }
    /// Converts from f64 (rounding for f32).
    fn of(x: f64) -> Self;
    /// A buffer of `len` elements, all `value` (a recycled one when large, see `pool.rs`).
    fn filled(len: usize, value: Self) -> Vec<Self>;
    /// A buffer of `len` elements for an output its kernel writes in full (a recycled one
    /// keeps stale values; see `pool.rs`).
    fn overwritten(len: usize) -> Vec<Self>;
    /// An empty buffer with room for `len` elements, for an output its kernel appends
    /// (a recycled one when large; see `pool.rs`).
    fn empty(len: usize) -> Vec<Self>;
    /// Borrows the elements of a storage of this type.
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    /// Mutably borrows the elements of a storage of this type.
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]>;
    /// Wraps a vector as storage.
    fn wrap(v: Vec<Self>) -> CpuStorage;
    /// The slice as f32 when this type is f32 (for kernels written for f32 only).
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// The mutable slice as f32 when this type is f32.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
    /// `C = alpha·A·B + beta·C` via matrixmultiply.
    ///
    /// # Safety
    /// The pointers and strides must describe matrices inside live allocations.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn filled(len: usize, value: f32) -> Vec<f32> {
        crate::pool::F32.filled(len, value)
    }
    fn overwritten(len: usize) -> Vec<f32> {
        crate::pool::F32.overwritten(len, 0.0)
    }
    fn empty(len: usize) -> Vec<f32> {
        crate::pool::F32.empty(len)
    }
    fn slice(s: &CpuStorage) -> Option<&[f32]> {
        match s {
            CpuStorage::F32(v) => Some(v),
            CpuStorage::F64(_) => None,
        }
    }
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [f32]> {
        match s {
            CpuStorage::F32(v) => Some(v),
            CpuStorage::F64(_) => None,
        }
    }
    fn wrap(v: Vec<f32>) -> CpuStorage {
        CpuStorage::F32(v)
    }
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        csb: isize,
        beta: f32,
        c: *mut f32,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Elem for f64 {
    const DTYPE: DType = DType::F64;
    fn of(x: f64) -> f64 {
        x
    }
    fn filled(len: usize, value: f64) -> Vec<f64> {
        crate::pool::F64.filled(len, value)
    }
    fn overwritten(len: usize) -> Vec<f64> {
        crate::pool::F64.overwritten(len, 0.0)
    }
    fn empty(len: usize) -> Vec<f64> {
        crate::pool::F64.empty(len)
    }
    fn slice(s: &CpuStorage) -> Option<&[f64]> {
        match s {
            CpuStorage::F64(v) => Some(v),
            CpuStorage::F32(_) => None,
        }
    }
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [f64]> {
        match s {
            CpuStorage::F64(v) => Some(v),
            CpuStorage::F32(_) => None,
        }
    }
    fn wrap(v: Vec<f64>) -> CpuStorage {
        CpuStorage::F64(v)
    }
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: *const f64,
        rsa: isize,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        beta: f64,
        c: *mut f64,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

/// Borrows `s` as `[T]`, or a dtype error naming `op`.
pub fn sl<'a, T: Elem>(op: &'static str, s: &'a CpuStorage) -> Result<&'a [T]> {
    T::slice(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found: s.dtype(),
    })
}

/// Mutably borrows `s` as `[T]`, or a dtype error naming `op`.
pub fn sl_mut<'a, T: Elem>(op: &'static str, s: &'a mut CpuStorage) -> Result<&'a mut [T]> {
    let found = s.dtype();
    T::slice_mut(s).ok_or(Error::DType {
        op,
        expected: T::DTYPE,
        found,
    })
}
