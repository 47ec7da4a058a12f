//! Inverted dropout, as `nn.Dropout` in training: each element is zeroed with probability
//! `p` and the kept ones are scaled by `1 / (1 − p)`; the masks draw from the run's RNG, 32
//! bits per element filled in bulk (a mask over every embedded token is drawn each step: an
//! `f64` per element cost a quarter of a small model's training time).

use rand::Rng as _;
use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, DType, HostData, Tensor};

use crate::{Result, Rng};

/// `x ⊙ mask` with `mask[i] = 1/(1−p)` with probability `1 − p`, else 0 (same shape as `x`).
/// `p = 0` returns `x` unchanged and draws nothing.
pub fn dropout<B: Backend>(
    tape: &Tape<B>,
    x: Var,
    p: f64,
    dtype: DType,
    rng: &mut Rng,
) -> Result<Var> {
    if p <= 0.0 {
        return Ok(x);
    }
    let shape = tape.shape(x)?;
    let n: usize = shape.iter().product();
    let keep = 1.0 - p;
    // an element is kept when its 32 random bits, read as u/2³², fall below `keep`
    let threshold = (keep * 4_294_967_296.0).round().min(4_294_967_295.0) as u64;
    let mut bits = vec![0u32; n];
    rng.fill(&mut bits[..]);
    let scale = if keep > 0.0 { 1.0 / keep } else { 0.0 };
    let kept = |b: &u32| u64::from(*b) < threshold;
    let data = match dtype {
        DType::F32 => HostData::F32(
            bits.iter()
                .map(|b| if kept(b) { scale as f32 } else { 0.0 })
                .collect(),
        ),
        DType::F64 => HostData::F64(
            bits.iter()
                .map(|b| if kept(b) { scale } else { 0.0 })
                .collect(),
        ),
    };
    let mask = tape.constant(Tensor::from_host(tape.backend(), &shape, data)?);
    Ok(tape.mul(x, mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use recur_cpu::Cpu;

    fn mask(p: f64, n: usize, seed: u64) -> Vec<f64> {
        let tape = Tape::new(&Cpu);
        let x = tape.constant(Tensor::full(&Cpu, &[n], DType::F32, 1.0).unwrap());
        let y = dropout(&tape, x, p, DType::F32, &mut crate::rng(seed)).unwrap();
        tape.value(y).unwrap().to_f64_vec().unwrap()
    }

    #[test]
    fn keeps_one_minus_p_scaled_and_repeats_with_the_seed() {
        for p in [0.1, 0.5, 0.9] {
            let m = mask(p, 200_000, 7);
            let scale = (1.0 / (1.0 - p)) as f32 as f64;
            assert!(
                m.iter().all(|&v| v == 0.0 || v == scale),
                "p={p}: values 0 or 1/(1-p)"
            );
            let kept = m.iter().filter(|&&v| v != 0.0).count() as f64 / m.len() as f64;
            // 200k draws: the kept fraction is within 0.5% of 1 − p
            assert!((kept - (1.0 - p)).abs() < 0.005, "p={p}: kept {kept}");
            assert_eq!(m, mask(p, 200_000, 7), "same seed, same mask");
            assert_ne!(m, mask(p, 200_000, 8), "another seed, another mask");
        }
        assert!(
            mask(1.0, 1000, 1).iter().all(|&v| v == 0.0),
            "p = 1 drops everything"
        );
        assert!(
            mask(0.0, 1000, 1).iter().all(|&v| v == 1.0),
            "p = 0 is the identity"
        );
    }
}
