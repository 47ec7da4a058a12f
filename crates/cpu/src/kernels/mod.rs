//! Generic CPU kernels over [`crate::Elem`]; the backend impl dispatches on dtype.

/// Defines `fn $name<T: Elem>(args)` that runs `$imp(args)` (an `#[inline(always)]` body)
/// compiled for AVX-512F when the CPU has it, and as compiled otherwise.
macro_rules! with_avx512 {
    ($(#[$doc:meta])* fn $name:ident<$T:ident>($($arg:ident: $ty:ty),* $(,)?) => $imp:ident) => {
        $(#[$doc])*
        fn $name<$T: crate::Elem>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512<$T: crate::Elem>($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
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
pub mod optim;
pub mod pgemm;
pub mod rnn;
pub mod steps;
