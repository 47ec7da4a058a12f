//! A stratified, seeded train/validation split of one dataset.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{DataError, Example, Result};

/// Splits `examples` into `(train, valid)`: from each class, `round(fraction · n_c)` of its
/// `n_c` examples go to validation (at most `n_c − 1`, so every class keeps a training
/// example), chosen by a ChaCha8 generator seeded with `seed`; both parts keep file order.
/// `fraction` must be in `(0, 1)`, and the validation part must not come out empty.
pub fn split_stratified(
    examples: Vec<Example>,
    num_classes: usize,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::Invalid(format!(
            "the validation fraction must be between 0 and 1 (exclusive), found {fraction}"
        )));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, e) in examples.iter().enumerate() {
        if e.label >= num_classes {
            return Err(DataError::Invalid(format!(
                "line {}: class {} is outside the {num_classes} classes",
                e.line, e.label
            )));
        }
        by_class[e.label].push(i);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0x76_616c_6964); // "valid": apart from the loader's per-epoch streams
    let mut in_valid = vec![false; examples.len()];
    for members in &mut by_class {
        let n = members.len();
        let take = ((fraction * n as f64).round() as usize).min(n.saturating_sub(1));
        members.shuffle(&mut rng);
        for &i in &members[..take] {
            in_valid[i] = true;
        }
    }
    let n_valid = in_valid.iter().filter(|&&v| v).count();
    if n_valid == 0 {
        return Err(DataError::Invalid(format!(
            "a validation fraction of {fraction} of {} examples leaves no validation example; use \
                a larger fraction or a validation file",
            examples.len()
        )));
    }
    let (mut train, mut valid) = (Vec::new(), Vec::with_capacity(n_valid));
    for (e, v) in examples.into_iter().zip(in_valid) {
        if v {
            valid.push(e);
        } else {
            train.push(e);
        }
    }
    Ok((train, valid))
}
