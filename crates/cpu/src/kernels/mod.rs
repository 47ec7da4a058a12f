//! Generic CPU kernels over [`crate::Elem`]; the backend impl dispatches on dtype.

/// Defines `fn $name<T: Elem>(args)` that runs `$imp(args)` (an `#[inline(always)]` body)
/// compiled for the best instruction set the CPU has, chosen at run time: AVX-512F, else
/// AVX2 + FMA, else the build's baseline (x86-64: SSE2). No global `target-cpu` is needed,
/// so the binary and crates that depend on recur run on any x86-64 and are fast where the
/// CPU allows. Results are the same on every tier: Rust never contracts `a·b + c` into an
/// FMA on its own, and the loops have no reassociated reductions.
macro_rules! with_simd {
    ($(#[$doc:meta])* fn $name:ident<$T:ident>($($arg:ident: $ty:ty),* $(,)?) => $imp:ident) => {
        $(#[$doc])*
        fn $name<$T: crate::Elem>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512<$T: crate::Elem>($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<$T: crate::Elem>($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

pub mod basic;
pub mod gemm;
pub mod gru;
pub mod lstm;
pub mod mm;
pub mod optim;
pub mod pgemm;
pub mod rnn;
pub mod scan;
pub mod softmax;
pub mod steps;
