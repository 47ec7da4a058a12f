//! Safe strided GEMM over slices (bounds checked): large f32 products go to the packed
//! AVX-512 kernel of [`super::pgemm`], the rest to `matrixmultiply` ([`super::mm`], the leaf
//! both use); the small per-step recurrent products use [`StepWeight`].

use std::borrow::Cow;

use recur_tensor::MatLayout;

use super::mm;
use super::pgemm::{self, gemm_packed, PackedB};

use crate::Elem;

/// `c = alpha·a·b + beta·c` with `a [m,k]`, `b [k,n]`, `c [m,n]` described by layouts.
///
/// # Panics
/// When a layout reaches outside its slice (callers validate shapes first).
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Elem>(
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    la: MatLayout,
    b: &[T],
    lb: MatLayout,
    beta: T,
    c: &mut [T],
    lc: MatLayout,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(la.end(m, k) <= a.len() && lb.end(k, n) <= b.len() && lc.end(m, n) <= c.len());
    let packs = alpha == T::one() && (beta == T::zero() || beta == T::one()) && lc.col_stride == 1;
    if packs && m >= PACK_MIN_ROWS && m * n * k >= PACK_MIN && pgemm::packs::<T>() {
        // Packing B once pays for itself over this many rows; the AVX-512 kernel wins.
        let b = PackedB::new(b, lb, k, n);
        let c = &mut c[lc.offset..];
        return gemm_packed(m, a, la, &b, beta == T::one(), c, lc.row_stride, true);
    }
    mm::gemm_strided(m, n, k, alpha, a, la, b, lb, beta, c, lc)
}

/// GEMMs with at least this many rows (over which packing `B` pays for itself)...
const PACK_MIN_ROWS: usize = 128;
/// ... and this many multiply-adds use the packed AVX-512 kernel.
const PACK_MIN: usize = 1 << 18;

/// `c[m,n] (beta) += aᵀ · b` where `a` is row-major `[k,m]` and `b` row-major `[k,n]`
/// (weight gradients: `dW = dYᵀ · X`).
pub fn gemm_tn<T: Elem>(m: usize, n: usize, k: usize, a: &[T], b: &[T], beta: T, c: &mut [T]) {
    gemm(
        m,
        n,
        k,
        T::one(),
        a,
        MatLayout::row_major(0, m).t(),
        b,
        MatLayout::row_major(0, n),
        beta,
        c,
        MatLayout::row_major(0, n),
    )
}

/// `c[m,n] (+)= a[m,k] · b[k,n]` with all three row-major and no packing: blocks of 4 rows ×
/// 16 columns of `c` stay in registers while `k` runs. For the small per-step recurrent
/// products when the packed AVX-512 kernel does not apply (f64, or a CPU without AVX-512).
pub fn gemm_rows<T: Elem>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    accumulate: bool,
    c: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { gemm_rows_avx512(m, n, k, a, b, accumulate, c) };
        }
    }
    gemm_rows_impl::<T, 16>(m, n, k, a, b, accumulate, c)
}

/// [`gemm_rows`] compiled for AVX-512 with 32-column blocks (8 accumulator registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemm_rows_avx512<T: Elem>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    accumulate: bool,
    c: &mut [T],
) {
    gemm_rows_impl::<T, 32>(m, n, k, a, b, accumulate, c)
}

#[inline(always)]
fn gemm_rows_impl<T: Elem, const CB: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    accumulate: bool,
    c: &mut [T],
) {
    const RB: usize = 4;
    let (a, b, c) = (&a[..m * k], &b[..k * n], &mut c[..m * n]);
    let mut r0 = 0;
    while r0 < m {
        let rows = RB.min(m - r0);
        let mut c0 = 0;
        while c0 < n {
            let cols = CB.min(n - c0);
            let mut acc = [[T::zero(); CB]; RB];
            if accumulate {
                for i in 0..rows {
                    acc[i][..cols].copy_from_slice(&c[(r0 + i) * n + c0..(r0 + i) * n + c0 + cols]);
                }
            }
            if rows == RB && cols == CB {
                for kk in 0..k {
                    let brow = &b[kk * n + c0..kk * n + c0 + CB];
                    for (i, acc_row) in acc.iter_mut().enumerate() {
                        let av = a[(r0 + i) * k + kk];
                        for (x, &bv) in acc_row.iter_mut().zip(brow) {
                            *x += av * bv;
                        }
                    }
                }
            } else {
                for kk in 0..k {
                    let brow = &b[kk * n + c0..kk * n + c0 + cols];
                    for (i, acc_row) in acc.iter_mut().enumerate().take(rows) {
                        let av = a[(r0 + i) * k + kk];
                        for (x, &bv) in acc_row.iter_mut().zip(brow) {
                            *x += av * bv;
                        }
                    }
                }
            }
            for i in 0..rows {
                c[(r0 + i) * n + c0..(r0 + i) * n + c0 + cols].copy_from_slice(&acc[i][..cols]);
            }
            c0 += CB;
        }
        r0 += RB;
    }
}

/// Weights at or below this many elements use [`gemm_rows`] when the packed AVX-512 kernel
/// is not available (they stay in L1/L2 across the rows); larger ones use `matrixmultiply`.
const SMALL_WEIGHT: usize = 64 * 1024;

/// A recurrent weight `W [n_out, k]` prepared once per sequence for one of the per-step
/// products: `x · Wᵀ` (forward) or `d · W` (backward).
pub struct StepWeight<'a, T: Clone> {
    prod: StepProd<'a, T>,
    may_split: bool,
}

enum StepProd<'a, T: Clone> {
    /// Packed panels (AVX-512 f32), or a large weight for `matrixmultiply`.
    Packed(PackedB<'a, T>),
    /// A small row-major `[k, n]` right-hand side for [`gemm_rows`].
    Rows { b: Cow<'a, [T]>, k: usize, n: usize },
}

impl<'a, T: Elem> StepWeight<'a, T> {
    /// Prepares `out[m, n_out] (+)= x[m, k] · Wᵀ` for a row-major `w [n_out, k]`.
    pub fn forward(w: &'a [T], n_out: usize, k: usize) -> Self {
        let packed = PackedB::transposed(w, n_out, k);
        let prod = if packed.is_packed() || n_out * k > SMALL_WEIGHT {
            StepProd::Packed(packed)
        } else {
            let mut t = vec![T::zero(); n_out * k];
            for (o, row) in w.chunks_exact(k).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    t[i * n_out + o] = v;
                }
            }
            StepProd::Rows {
                b: Cow::Owned(t),
                k,
                n: n_out,
            }
        };
        StepWeight {
            prod,
            may_split: true,
        }
    }

    /// Prepares `out[m, k] (+)= d[m, n_out] · W` for a row-major `w [n_out, k]`.
    pub fn backward(w: &'a [T], n_out: usize, k: usize) -> Self {
        let packed = PackedB::row_major(w, n_out, k);
        let prod = if packed.is_packed() || n_out * k > SMALL_WEIGHT {
            StepProd::Packed(packed)
        } else {
            StepProd::Rows {
                b: Cow::Borrowed(w),
                k: n_out,
                n: k,
            }
        };
        StepWeight {
            prod,
            may_split: true,
        }
    }

    /// Keeps every product on the calling thread (for callers that already run on both).
    pub fn serial(mut self, serial: bool) -> Self {
        self.may_split &= !serial;
        self
    }

    /// `out[m, n] (+)= x[m, k] · B` for the prepared product (`x` and `out` row-major).
    pub fn apply(&self, m: usize, x: &[T], accumulate: bool, out: &mut [T]) {
        match &self.prod {
            StepProd::Packed(b) => gemm_packed(
                m,
                x,
                MatLayout::row_major(0, b.k()),
                b,
                accumulate,
                out,
                b.n(),
                self.may_split,
            ),
            StepProd::Rows { b, k, n } => gemm_rows(m, *n, *k, x, b, accumulate, out),
        }
    }
}
