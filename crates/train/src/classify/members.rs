//! How the recurrent members of one classifier learn apart: each from batches of its own
//! ([`ClassifyBatch`], drawn in an order seeded for the member, [`member_seed`]), on its own
//! loss (`classify/step.rs`). Members that saw the same batches stayed alike: seeds of the
//! preset averaged gain 0.5 points of test accuracy on train_sample.csv, and 0.2 when only
//! their initial draws differ (docs/results.md); the batch order is what sets a seed's model
//! apart.

use recur_data::{Batch, StratifiedFolds};

use crate::{Result, TrainError};

/// One training step's batches: one per recurrent member, member `i`'s from its own order
/// of the training examples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassifyBatch {
    /// Member `i`'s batch (one member: the one batch).
    pub batches: Vec<Batch>,
    /// Every member's token ids, the embedding rows the step reads (several members only:
    /// one member's are its batch's tokens).
    rows: Vec<usize>,
}

impl ClassifyBatch {
    /// The step of `batches`, one per member (at least one).
    pub fn new(batches: Vec<Batch>) -> ClassifyBatch {
        let rows = if batches.len() > 1 {
            batches
                .iter()
                .flat_map(|b| b.tokens.iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        ClassifyBatch { batches, rows }
    }

    /// The embedding rows the step reads (a lazy optimizer brings them up to date first).
    pub fn rows(&self) -> &[usize] {
        match self.batches.as_slice() {
            [one] => &one.tokens,
            _ => &self.rows,
        }
    }

    /// The first member's batch, which the bag and the running accuracy read.
    pub fn first(&self) -> Result<&Batch> {
        self.batches
            .first()
            .ok_or_else(|| TrainError::Invalid("a training step without a batch".into()))
    }
}

impl From<Batch> for ClassifyBatch {
    fn from(batch: Batch) -> Self {
        ClassifyBatch::new(vec![batch])
    }
}

/// Validation folds of the training examples, one per recurrent member: member `i`
/// validates on `valid[i]` and trains on `train[i]`, the rest (indices of the training
/// examples, ascending). Every fold has as many rows, and every member trains on as many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFolds {
    /// Member `i`'s validation rows.
    pub valid: Vec<Vec<usize>>,
    /// Member `i`'s training rows.
    pub train: Vec<Vec<usize>>,
}

impl MemberFolds {
    /// The first `members` folds of `folds`.
    pub fn new(folds: &StratifiedFolds, members: usize) -> MemberFolds {
        MemberFolds {
            valid: (0..members).map(|i| folds.fold(i)).collect(),
            train: (0..members).map(|i| folds.rest(i)).collect(),
        }
    }

    /// Rows each member trains on.
    pub fn train_rows(&self) -> usize {
        self.train.first().map_or(0, Vec::len)
    }

    /// Rows each member validates on.
    pub fn valid_rows(&self) -> usize {
        self.valid.first().map_or(0, Vec::len)
    }
}

/// The seed of recurrent member `member`'s batch order in a run seeded `seed`: the first
/// member's is the run's own (a one-member model batches as it always has).
pub fn member_seed(seed: u64, member: usize) -> u64 {
    seed ^ (member as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_member_batches_as_the_run_and_the_others_apart() {
        assert_eq!(member_seed(42, 0), 42);
        let seeds: Vec<u64> = (0..8).map(|i| member_seed(42, i)).collect();
        for (i, a) in seeds.iter().enumerate() {
            assert!(seeds[i + 1..].iter().all(|b| a != b), "{seeds:?}");
        }
        let batch = |t: usize| Batch {
            labels: vec![0],
            tokens: vec![t, t + 1],
            lengths: vec![2],
            max_len: 2,
        };
        let one = ClassifyBatch::from(batch(3));
        assert_eq!(one.rows(), &[3, 4]);
        let two = ClassifyBatch::new(vec![batch(3), batch(7)]);
        assert_eq!(two.rows(), &[3, 4, 7, 8]);
        assert_eq!(two.first().unwrap(), &batch(3));
        assert!(ClassifyBatch::new(Vec::new()).first().is_err());
    }
}
