//! Packed-panel GEMM: `C (+)= A · B` with `B` packed once into column panels (so a recurrent
//! weight is packed once per sequence, not once per step) and `A` read in place through its
//! strides. For f32 on CPUs with AVX-512 the micro-kernel keeps an `8 × 32` block of `C` in
//! sixteen registers and uses fused multiply-adds; otherwise (f64, other CPUs) the product
//! goes to `matrixmultiply`.

use rayon::prelude::*;
use recur_tensor::MatLayout;

use super::mm::gemm_strided;
use crate::Elem;

/// Columns of one packed panel.
pub const NR: usize = 32;

/// `B [k, n]` prepared for repeated products. With the AVX-512 kernel it is packed as
/// `ceil(n / NR)` panels of `k × NR` (row `kk` of panel `p` holds columns `p·NR .. p·NR + NR`
/// of row `kk`, zeros past `n`); otherwise it is kept as the borrowed matrix.
pub struct PackedB<'a, T> {
    src: &'a [T],
    lb: MatLayout,
    k: usize,
    n: usize,
    panels: Option<Vec<f32>>,
}

impl<'a, T: Elem> PackedB<'a, T> {
    /// Prepares `b` (a `[k, n]` matrix described by `lb`).
    ///
    /// # Panics
    /// When `lb` reaches outside `b`.
    pub fn new(b: &'a [T], lb: MatLayout, k: usize, n: usize) -> Self {
        assert!(lb.end(k, n) <= b.len(), "packed B outside its buffer");
        let panels = T::as_f32(b)
            .filter(|_| fast_kernel())
            .map(|b| pack(b, lb, k, n));
        PackedB {
            src: b,
            lb,
            k,
            n,
            panels,
        }
    }

    /// `Wᵀ` for a row-major weight `w [n, k]` (the `x · Wᵀ` of a linear map).
    pub fn transposed(w: &'a [T], n: usize, k: usize) -> Self {
        PackedB::new(w, MatLayout::row_major(0, k).t(), k, n)
    }

    /// A row-major `[k, n]` matrix.
    pub fn row_major(b: &'a [T], k: usize, n: usize) -> Self {
        PackedB::new(b, MatLayout::row_major(0, n), k, n)
    }

    /// Whether `B` is packed for the AVX-512 kernel (else products go to `matrixmultiply`).
    pub fn is_packed(&self) -> bool {
        self.panels.is_some()
    }

    /// Inner dimension `k`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns `n`.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// Whether [`PackedB`] packs `T` for the AVX-512 kernel on this CPU.
pub fn packs<T: Elem>() -> bool {
    T::as_f32(&[]).is_some() && fast_kernel()
}

/// Whether the AVX-512 f32 micro-kernel runs on this CPU.
fn fast_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Packs `b [k, n]` into panels of `k × NR` (every element written, zeros past `n`; the
/// buffer comes from, and goes back to, the recycler; panels split over threads when large).
fn pack(b: &[f32], lb: MatLayout, k: usize, n: usize) -> Vec<f32> {
    let panels = n.div_ceil(NR);
    let mut data = crate::pool::F32.overwritten(panels * k * NR, 0.0);
    if k == 0 {
        return data;
    }
    let fill = |p: usize, panel: &mut [f32]| {
        let cols = NR.min(n - p * NR);
        for (kk, row) in panel.chunks_exact_mut(NR).enumerate() {
            let src = lb.offset + kk * lb.row_stride + p * NR * lb.col_stride;
            for (j, x) in row[..cols].iter_mut().enumerate() {
                *x = b[src + j * lb.col_stride];
            }
            row[cols..].fill(0.0);
        }
    };
    if data.len() >= PACK_PAR_MIN && panels >= 2 {
        data.par_chunks_exact_mut(k * NR)
            .enumerate()
            .for_each(|(p, panel)| fill(p, panel));
    } else {
        data.chunks_exact_mut(k * NR)
            .enumerate()
            .for_each(|(p, panel)| fill(p, panel));
    }
    data
}

/// Packed elements from which the panels are packed on two threads.
const PACK_PAR_MIN: usize = 1 << 18;

impl<T> Drop for PackedB<'_, T> {
    /// Large panels go back to the recycler for the next product's packing.
    fn drop(&mut self) {
        if let Some(panels) = self.panels.take() {
            crate::pool::F32.give_back(panels);
        }
    }
}

/// `c[m, n] (+)= a[m, k] · B`: `a` is described by `la` (any strides), `c` is row-major with
/// row stride `ldc` from offset 0, and `accumulate` adds to `c` instead of overwriting it.
/// Large products split their columns over two threads when `may_split`.
///
/// # Panics
/// When `a` or `c` is too short for the shapes.
#[allow(clippy::too_many_arguments)]
pub fn gemm_packed<T: Elem>(
    m: usize,
    a: &[T],
    la: MatLayout,
    b: &PackedB<'_, T>,
    accumulate: bool,
    c: &mut [T],
    ldc: usize,
    may_split: bool,
) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    let lc = MatLayout::row_major(0, ldc);
    assert!(
        ldc >= n && lc.end(m, n) <= c.len(),
        "packed GEMM: C too short"
    );
    assert!(la.end(m, k) <= a.len(), "packed GEMM: A too short");
    #[cfg(target_arch = "x86_64")]
    if let (Some(panels), Some(a), Some(c)) = (&b.panels, T::as_f32(a), T::as_f32_mut(c)) {
        if k == 0 {
            if !accumulate {
                c.chunks_mut(ldc).take(m).for_each(|row| row[..n].fill(0.0));
            }
            return;
        }
        let job = avx512::Job {
            m,
            k,
            n,
            // SAFETY: the asserts above keep every element of A read by the job in bounds.
            a: unsafe { a.as_ptr().add(la.offset) },
            rsa: la.row_stride,
            csa: la.col_stride,
            b: panels.as_ptr(),
            c: c.as_mut_ptr(),
            ldc,
            accumulate,
        };
        let np = n.div_ceil(NR);
        if may_split && m * n * k >= PAR_MIN && np >= 2 && rayon::current_num_threads() > 1 {
            let half = np / 2;
            // SAFETY: the CPU has AVX-512F (panels exist only then); the two halves write
            // disjoint columns of C, which stays borrowed mutably for the whole call.
            rayon::join(
                || unsafe { job.run(0, half) },
                || unsafe { job.run(half, np) },
            );
        } else {
            // SAFETY: as above, on one thread.
            unsafe { job.run(0, np) }
        }
        return;
    }
    let beta = if accumulate { T::one() } else { T::zero() };
    gemm_strided(m, n, k, T::one(), a, la, b.src, b.lb, beta, c, lc);
}

/// Multiply-adds from which the panels are split over two threads.
#[cfg(target_arch = "x86_64")]
const PAR_MIN: usize = 1 << 21;

#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f64],
        la: MatLayout,
        b: &[f64],
        lb: MatLayout,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for kk in 0..k {
                    c[i * n + j] += a[la.offset + i * la.row_stride + kk * la.col_stride]
                        * b[lb.offset + kk * lb.row_stride + j * lb.col_stride];
                }
            }
        }
        c
    }

    #[test]
    fn matches_naive_for_odd_shapes_and_layouts() {
        let mut seed = 1u64;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        for &(m, n, k) in &[
            (1, 1, 1),
            (7, 33, 5),
            (9, 64, 300),
            (130, 70, 513),
            (64, 1024, 256),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a: Vec<f64> = (0..m * k + 3).map(|_| rnd()).collect();
                let b: Vec<f64> = (0..k * n + 2).map(|_| rnd()).collect();
                let la = if ta {
                    MatLayout::row_major(3, m).t()
                } else {
                    MatLayout::row_major(3, k)
                };
                let lb = if tb {
                    MatLayout::row_major(2, k).t()
                } else {
                    MatLayout::row_major(2, n)
                };
                let want = naive(m, n, k, &a, la, &b, lb);
                let pb64 = PackedB::new(&b, lb, k, n);
                assert!(pb64.panels.is_none(), "f64 goes to matrixmultiply");
                let ldc = n + 3;
                let mut c = vec![1.0; m * ldc];
                gemm_packed(m, &a, la, &pb64, true, &mut c, ldc, true);
                for i in 0..m {
                    for j in 0..n {
                        let got = c[i * ldc + j] - 1.0;
                        assert!(
                            (got - want[i * n + j]).abs() < 1e-9,
                            "f64 {m}x{n}x{k} ({i},{j})"
                        );
                    }
                    assert!(
                        c[i * ldc + n..(i + 1) * ldc].iter().all(|&x| x == 1.0),
                        "padding kept"
                    );
                }
                let (a32, b32): (Vec<f32>, Vec<f32>) = (
                    a.iter().map(|&x| x as f32).collect(),
                    b.iter().map(|&x| x as f32).collect(),
                );
                let pb32 = PackedB::new(&b32, lb, k, n);
                assert_eq!(pb32.panels.is_some(), fast_kernel());
                let mut c32 = vec![7.0f32; m * n];
                gemm_packed(m, &a32, la, &pb32, false, &mut c32, n, m % 2 == 0);
                for (g, w) in c32.iter().zip(&want) {
                    assert!(
                        (*g as f64 - w).abs() < 1e-4 * (1.0 + w.abs()),
                        "f32 {m}x{n}x{k}"
                    );
                }
            }
        }
    }
}
