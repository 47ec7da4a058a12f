//! Inverted dropout, as `nn.Dropout` in training: each element is zeroed with probability
//! `p` and the kept ones are scaled by `1 / (1 − p)`; the masks draw from the run's RNG.

use rand::Rng as _;
use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, DType, Tensor};

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
    let mask: Vec<f64> = (0..n)
        .map(|_| {
            if keep > 0.0 && rng.gen::<f64>() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    let mask = tape.constant(Tensor::from_f64(tape.backend(), &shape, &mask, dtype)?);
    Ok(tape.mul(x, mask)?)
}
