//! The `matrixmultiply` path of a strided GEMM: any layouts, f32 and f64, two column halves
//! on two threads when large. A leaf: [`super::gemm`] dispatches here, and
//! [`super::pgemm`] falls back here where its packed kernel does not apply.

use recur_tensor::MatLayout;

use crate::Elem;

/// `c = alpha·a·b + beta·c` with `a [m,k]`, `b [k,n]`, `c [m,n]` described by layouts
/// (`beta = 0` overwrites `c`, NaNs included).
///
/// # Panics
/// When a layout reaches outside its slice (callers validate shapes first).
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided<T: Elem>(
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
    let (pa, pb, pc) = (
        // SAFETY (all three): the asserts above keep every touched element in bounds.
        unsafe { a.as_ptr().add(la.offset) },
        unsafe { b.as_ptr().add(lb.offset) },
        unsafe { c.as_mut_ptr().add(lc.offset) },
    );
    let half = n / 2;
    if m * n * k >= PAR_GEMM_MIN && half >= 16 && rayon::current_num_threads() > 1 {
        // Two column halves of C (and B) on two threads: the halves are disjoint, and each
        // thread packs only its half of B.
        let (ptrs, ptrs2) = (SendPtrs(pa, pb, pc), SendPtrs(pa, pb, pc));
        rayon::join(
            // SAFETY: columns 0..half of B and C; `c` is borrowed mutably for the whole call.
            move || unsafe { ptrs.run(m, k, half, 0, alpha, la, lb, beta, lc) },
            // SAFETY: columns half..n, disjoint from the first half.
            move || unsafe { ptrs2.run(m, k, n - half, half, alpha, la, lb, beta, lc) },
        );
        return;
    }
    // SAFETY: in bounds (asserts above); `c` is borrowed mutably and cannot alias `a` or `b`.
    unsafe { SendPtrs(pa, pb, pc).run(m, k, n, 0, alpha, la, lb, beta, lc) }
}

/// GEMMs with at least this many multiply-adds split their columns over two threads
/// (measured: below it the fork costs more than it saves).
const PAR_GEMM_MIN: usize = 1 << 22;

/// Raw operand pointers that may cross to a rayon worker (the caller guarantees disjoint
/// writes).
#[derive(Clone, Copy)]
struct SendPtrs<T>(*const T, *const T, *mut T);

// SAFETY: only used for disjoint column ranges of C while the slices are borrowed.
unsafe impl<T> Send for SendPtrs<T> {}

impl<T: Elem> SendPtrs<T> {
    /// Columns `col0..col0+n` of `C = alpha·A·B + beta·C`.
    ///
    /// # Safety
    /// The pointers and layouts must describe in-bounds matrices, and no other thread may
    /// touch these columns of C.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(
        self,
        m: usize,
        k: usize,
        n: usize,
        col0: usize,
        alpha: T,
        la: MatLayout,
        lb: MatLayout,
        beta: T,
        lc: MatLayout,
    ) {
        let SendPtrs(pa, pb, pc) = self;
        // SAFETY: forwarded; column offsets stay within the checked layouts.
        unsafe {
            T::gemm_raw(
                m,
                k,
                n,
                alpha,
                pa,
                la.row_stride as isize,
                la.col_stride as isize,
                pb.add(col0 * lb.col_stride),
                lb.row_stride as isize,
                lb.col_stride as isize,
                beta,
                pc.add(col0 * lc.col_stride),
                lc.row_stride as isize,
                lc.col_stride as isize,
            )
        }
    }
}
