//! The AVX-512 micro-kernel of [`gemm_packed`](super::gemm_packed): an `8 × 32` block of `C`
//! in sixteen registers, fused multiply-adds over `KC`-deep blocks of the packed panels.

use std::arch::x86_64::*;

use super::NR;

/// Depth of one k-block: a `KC × NR` panel block stays in L1 while the row blocks pass.
const KC: usize = 256;
/// Rows of `A` per M-block: the `MC × KC` block of `A` stays in L2 while the panels pass.
const MC: usize = 128;
/// Rows of the register block.
const MR: usize = 8;
/// Bytes of packed B per N-block (half of a 2 MiB L2).
const L2_SLAB: usize = 1 << 20;

/// One packed f32 GEMM as raw pointers, so that two threads can take disjoint panels.
pub(super) struct Job {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: *const f32,
    pub rsa: usize,
    pub csa: usize,
    pub b: *const f32,
    pub c: *mut f32,
    pub ldc: usize,
    pub accumulate: bool,
}

// SAFETY: the pointers are only used while `gemm_packed` borrows their slices, and
// concurrent `run`s get disjoint panel (column) ranges of C.
unsafe impl Sync for Job {}

impl Job {
    /// The columns of panels `p0..p1`.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, the pointers must describe in-bounds matrices, and
    /// no other thread may write these columns of C.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run(&self, p0: usize, p1: usize) {
        let mut k0 = 0;
        while k0 < self.k {
            let kc = KC.min(self.k - k0);
            let add = self.accumulate || k0 > 0;
            // panels per N-block: a `kc × NB·NR` slab of B stays in L2 while every
            // M-block of A passes over it (wide products re-read B from memory once)
            let nb = (L2_SLAB / (kc * NR * 4)).max(1);
            let mut n0 = p0;
            while n0 < p1 {
                let n1 = (n0 + nb).min(p1);
                let mut m0 = 0;
                while m0 < self.m {
                    let mc = MC.min(self.m - m0);
                    for p in n0..n1 {
                        // SAFETY: as below (rows < m, depth < k, panel p < panels).
                        unsafe { self.panel_block(p, k0, kc, m0, mc, add) };
                    }
                    m0 += mc;
                }
                n0 = n1;
            }
            k0 += kc;
        }
    }

    /// Rows `m0..m0+mc` of panel `p` over the k-block at `k0`.
    ///
    /// # Safety
    /// As [`Job::run`].
    #[target_feature(enable = "avx512f")]
    unsafe fn panel_block(&self, p: usize, k0: usize, kc: usize, m0: usize, mc: usize, add: bool) {
        let cols = NR.min(self.n - p * NR);
        // SAFETY (pointer offsets): rows < m, depth < k, panel p < panels.
        let b = unsafe { self.b.add(p * self.k * NR + k0 * NR) };
        let mut i = 0;
        while i < mc {
            let rows = MR.min(mc - i);
            let t = Tile {
                kc,
                a: unsafe { self.a.add((m0 + i) * self.rsa + k0 * self.csa) },
                rsa: self.rsa,
                csa: self.csa,
                b,
                c: unsafe { self.c.add((m0 + i) * self.ldc + p * NR) },
                ldc: self.ldc,
                cols,
                add,
            };
            // SAFETY: the tile lies inside the matrices; AVX-512F as above.
            unsafe {
                match rows {
                    8 => t.run::<8>(),
                    7 => t.run::<7>(),
                    6 => t.run::<6>(),
                    5 => t.run::<5>(),
                    4 => t.run::<4>(),
                    3 => t.run::<3>(),
                    2 => t.run::<2>(),
                    _ => t.run::<1>(),
                }
            }
            i += rows;
        }
    }
}

/// One `R × NR` block of C over one k-block.
struct Tile {
    kc: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    add: bool,
}

impl Tile {
    /// The micro-kernel: `R × 32` accumulators in `2R` registers, two panel loads, `R`
    /// broadcasts and `2R` fused multiply-adds per `k`; then `cols` columns written (or
    /// added) to C with masked stores.
    ///
    /// # Safety
    /// AVX-512F; `a` must reach `R` rows × `kc` columns, `b` `kc × NR` packed elements,
    /// `c` `R` rows × `cols` columns.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn run<const R: usize>(&self) {
        if self.add {
            // C is read after the k-loop: fetch its rows now so the loads do not stall.
            for i in 0..R {
                let row = self.c.wrapping_add(i * self.ldc) as *const i8;
                _mm_prefetch::<_MM_HINT_T0>(row);
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(64));
            }
        }
        let mut lo = [_mm512_setzero_ps(); R];
        let mut hi = [_mm512_setzero_ps(); R];
        for kk in 0..self.kc {
            // SAFETY: row kk of the packed panel block; element (i, kk) of A.
            unsafe {
                let b0 = _mm512_loadu_ps(self.b.add(kk * NR));
                let b1 = _mm512_loadu_ps(self.b.add(kk * NR + 16));
                for i in 0..R {
                    let av = _mm512_set1_ps(*self.a.add(i * self.rsa + kk * self.csa));
                    lo[i] = _mm512_fmadd_ps(av, b0, lo[i]);
                    hi[i] = _mm512_fmadd_ps(av, b1, hi[i]);
                }
            }
        }
        let mask = |cols: usize| -> __mmask16 {
            if cols >= 16 {
                0xffff
            } else {
                ((1u32 << cols) - 1) as __mmask16
            }
        };
        let (m_lo, m_hi) = (mask(self.cols), mask(self.cols.saturating_sub(16)));
        for i in 0..R {
            let (c0, c1) = (
                self.c.wrapping_add(i * self.ldc),
                self.c.wrapping_add(i * self.ldc + 16),
            );
            // SAFETY: the masks keep loads and stores inside the `cols` columns of row i.
            unsafe {
                let (mut v0, mut v1) = (lo[i], hi[i]);
                if self.add {
                    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m_lo, c0));
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m_hi, c1));
                }
                _mm512_mask_storeu_ps(c0, m_lo, v0);
                _mm512_mask_storeu_ps(c1, m_hi, v1);
            }
        }
    }
}
