//! Safe strided GEMM over slices (bounds checked), on top of `matrixmultiply`.

use recur_tensor::MatLayout;

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
    if k == 0 {
        // matrixmultiply handles k = 0 by scaling C; keep beta = 0 meaning "overwrite".
        for i in 0..m {
            for j in 0..n {
                let x = &mut c[lc.offset + i * lc.row_stride + j * lc.col_stride];
                *x = if beta == T::zero() {
                    T::zero()
                } else {
                    *x * beta
                };
            }
        }
        return;
    }
    // SAFETY: the asserts above keep every touched element inside the slices; `c` is
    // borrowed mutably and cannot alias `a` or `b`.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.as_ptr().add(la.offset),
            la.row_stride as isize,
            la.col_stride as isize,
            b.as_ptr().add(lb.offset),
            lb.row_stride as isize,
            lb.col_stride as isize,
            beta,
            c.as_mut_ptr().add(lc.offset),
            lc.row_stride as isize,
            lc.col_stride as isize,
        )
    }
}

/// `c[m,n] (beta) += a[m,k] · bᵀ` where `b` is row-major `[n,k]` (a weight `W` in `x Wᵀ`).
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt<T: Elem>(m: usize, n: usize, k: usize, a: &[T], b: &[T], beta: T, c: &mut [T]) {
    gemm(
        m,
        n,
        k,
        T::one(),
        a,
        MatLayout::row_major(0, k),
        b,
        MatLayout::row_major(0, k).t(),
        beta,
        c,
        MatLayout::row_major(0, n),
    )
}

/// `c[m,n] (beta) += a[m,k] · b[k,n]`, all row-major.
pub fn gemm_nn<T: Elem>(m: usize, n: usize, k: usize, a: &[T], b: &[T], beta: T, c: &mut [T]) {
    gemm(
        m,
        n,
        k,
        T::one(),
        a,
        MatLayout::row_major(0, k),
        b,
        MatLayout::row_major(0, n),
        beta,
        c,
        MatLayout::row_major(0, n),
    )
}

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
