//! Stratified, seeded validation parts of one dataset: one train/validation split
//! ([`split_stratified`]), or a validation fold per ensemble member ([`StratifiedFolds`]).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{DataError, Example, Result};

/// Validation folds of a labelled dataset, each a `fraction` of every class: fold `i` takes
/// the `i`-th run of `round(fraction · n_c)` examples (at most `n_c − 1`, so every class
/// keeps a training example) from a seeded order of each class's `n_c` examples, wrapping
/// around the order, so that folds are disjoint while `count · fraction ≤ 1`. Fold 0 is
/// [`split_stratified`]'s validation part; every fold has the same size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StratifiedFolds {
    /// Each class's example indices in their seeded order.
    by_class: Vec<Vec<usize>>,
    /// Examples of each class a fold takes.
    takes: Vec<usize>,
    /// Examples in all.
    len: usize,
}

impl StratifiedFolds {
    /// The folds of examples labelled `labels` (each below `num_classes`), `fraction` of
    /// each class per fold, drawn by a ChaCha8 generator seeded with `seed`. `fraction` must
    /// be in `(0, 1)`, and a fold must not come out empty.
    pub fn new(labels: &[usize], num_classes: usize, fraction: f64, seed: u64) -> Result<Self> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::Invalid(format!(
                "the validation fraction must be between 0 and 1 (exclusive), found {fraction}"
            )));
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
        for (i, &label) in labels.iter().enumerate() {
            let Some(class) = by_class.get_mut(label) else {
                return Err(DataError::Invalid(format!(
                    "example {i}: class {label} is outside the {num_classes} classes"
                )));
            };
            class.push(i);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(0x76_616c_6964); // "valid": apart from the loader's per-epoch streams
        let mut takes = Vec::with_capacity(num_classes);
        for members in &mut by_class {
            let n = members.len();
            takes.push(((fraction * n as f64).round() as usize).min(n.saturating_sub(1)));
            members.shuffle(&mut rng);
        }
        if takes.iter().sum::<usize>() == 0 {
            return Err(DataError::Invalid(format!(
                "a validation fraction of {fraction} of {} examples leaves no validation \
                 example; use a larger fraction or a validation file",
                labels.len()
            )));
        }
        Ok(StratifiedFolds {
            by_class,
            takes,
            len: labels.len(),
        })
    }

    /// Examples in each fold.
    pub fn fold_len(&self) -> usize {
        self.takes.iter().sum()
    }

    /// Examples of the dataset the folds are drawn from.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the dataset has no example (never: a fold is not empty).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Which examples fold `i` holds (`true` at its indices), `[len]`.
    pub fn mask(&self, i: usize) -> Vec<bool> {
        let mut in_fold = vec![false; self.len];
        for (members, &take) in self.by_class.iter().zip(&self.takes) {
            let n = members.len();
            for k in 0..take {
                in_fold[members[(i * take + k) % n]] = true;
            }
        }
        in_fold
    }

    /// Fold `i`'s example indices, ascending (file order).
    pub fn fold(&self, i: usize) -> Vec<usize> {
        indices(&self.mask(i), true)
    }

    /// The indices outside fold `i` (what its member trains on), ascending.
    pub fn rest(&self, i: usize) -> Vec<usize> {
        indices(&self.mask(i), false)
    }
}

/// The positions where `mask` is `value`.
fn indices(mask: &[bool], value: bool) -> Vec<usize> {
    mask.iter()
        .enumerate()
        .filter(|(_, &m)| m == value)
        .map(|(i, _)| i)
        .collect()
}

/// Splits `examples` into `(train, valid)`: from each class, `round(fraction · n_c)` of its
/// `n_c` examples go to validation (at most `n_c − 1`, so every class keeps a training
/// example), chosen by a ChaCha8 generator seeded with `seed` (fold 0 of
/// [`StratifiedFolds`]); both parts keep file order. `fraction` must be in `(0, 1)`, and the
/// validation part must not come out empty.
pub fn split_stratified(
    examples: Vec<Example>,
    num_classes: usize,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>)> {
    let labels: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let folds =
        StratifiedFolds::new(&labels, num_classes, fraction, seed).map_err(|e| {
            match labels.iter().position(|&l| l >= num_classes) {
                Some(i) => DataError::Invalid(format!(
                    "line {}: class {} is outside the {num_classes} classes",
                    examples[i].line, examples[i].label
                )),
                None => e,
            }
        })?;
    let in_valid = folds.mask(0);
    let (mut train, mut valid) = (Vec::new(), Vec::with_capacity(folds.fold_len()));
    for (e, v) in examples.into_iter().zip(in_valid) {
        if v {
            valid.push(e);
        } else {
            train.push(e);
        }
    }
    Ok((train, valid))
}
