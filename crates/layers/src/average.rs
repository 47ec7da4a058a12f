//! The mean of several logits `[B, K]` of one batch: a classifier's members', or its bag's
//! tables'.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{LayerError, Result};

/// The mean of `logits` (each `[B, K]`, a member's or a bag table's; one is itself).
pub(crate) fn mean_logits<B: Backend>(tape: &Tape<B>, logits: &[Var]) -> Result<Var> {
    let (&first, rest) = logits
        .split_first()
        .ok_or_else(|| LayerError::Config("no member's logits to average".into()))?;
    if rest.is_empty() {
        return Ok(first);
    }
    let sum = rest.iter().try_fold(first, |acc, &v| tape.add(acc, v))?;
    Ok(tape.scale(sum, 1.0 / logits.len() as f64)?)
}
