//! Pooling a recurrent layer's outputs `x [B, T, W]` into one vector per row `[B, W]`, as
//! the classifier pools them — public, so a custom model pools as it does. With
//! `lengths`, each row is pooled over its own first `lengths[b]` steps (what follows is
//! padding, whatever its values, as long as they are finite); without, over all `T` steps.

use recur_autograd::{Mask, Tape, Var};
use recur_tensor::Backend;

use crate::{Linear, ParamStore, RecurrentConfig, Result};

/// Mean over time: `[B, T, W]` → `[B, W]`.
pub fn mean<B: Backend>(tape: &Tape<B>, x: Var, lengths: Option<&[usize]>) -> Result<Var> {
    Ok(match lengths {
        Some(l) => tape.mean_lengths(x, l)?,
        None => tape.mean_axis(x, 1)?,
    })
}

/// Mean over each row's own steps of `x [B, T, W]` whose steps past `lengths[b]` are
/// zero (as `pad_packed_sequence(…, 0.0)` leaves them) → `[B, W]`: the sum over all steps
/// divided by each length, with no mask to build — the classifier's path. Padding that is
/// not zero gives a wrong mean: use [`mean`] with lengths for any padding.
pub fn mean_zero_padded<B: Backend>(tape: &Tape<B>, x: Var, lengths: &[usize]) -> Result<Var> {
    let sums = tape.sum_axis(x, 1)?;
    Ok(tape.div_lengths(sums, lengths)?)
}

/// Element-wise maximum over time: `[B, T, W]` → `[B, W]` (the gradient goes to the first
/// maximal step).
pub fn max<B: Backend>(tape: &Tape<B>, x: Var, lengths: Option<&[usize]>) -> Result<Var> {
    Ok(match lengths {
        Some(l) => tape.max_lengths(x, l)?,
        None => tape.max_axis(x, 1)?,
    })
}

/// Attention: scores `attn(x) [B, T]` (`attn` a `Linear(W, 1)`), `α = softmax` over each
/// row's steps, then `Σ_t α[b, t] · x[b, t]` → `[B, W]`.
pub fn attention<B: Backend>(
    tape: &Tape<B>,
    store: &ParamStore<B>,
    attn: &Linear,
    x: Var,
    lengths: Option<&[usize]>,
) -> Result<Var> {
    let shape = tape.shape(x)?;
    let (b, t, w) = (shape[0], shape[1], shape[2]);
    let flat = tape.reshape(x, &[b * t, w])?;
    let mut scores = tape.reshape(attn.forward(tape, store, flat)?, &[b, t])?;
    if let Some(lengths) = lengths {
        scores = tape.masked_fill(scores, &Mask::lengths(lengths, t)?, f64::NEG_INFINITY)?;
    }
    let alpha = tape.softmax_rows(scores)?;
    let weighted = tape.mul(x, tape.reshape(alpha, &[b, t, 1])?)?;
    Ok(tape.sum_axis(weighted, 1)?)
}

/// The last layer's final hidden state from `h_n [L·D, B, H_out]` of a recurrent layer
/// configured by `config` (both directions side by side when bidirectional) → `[B, D·H_out]`.
pub fn last_state<B: Backend>(tape: &Tape<B>, h_n: Var, config: &RecurrentConfig) -> Result<Var> {
    let (d, p) = (config.directions(), config.out_size());
    let b = tape.shape(h_n)?[1];
    let last = tape.narrow(h_n, 0, (config.num_layers - 1) * d, d)?;
    let last = if d == 1 {
        last
    } else {
        tape.transpose01(last)?
    };
    Ok(tape.reshape(last, &[b, d * p])?)
}
