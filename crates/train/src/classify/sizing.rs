//! Settings of a recipe that follow the size of its training data
//! ([`SizeRule`](crate::SizeRule)): the strong recipe's batch, rate, epochs, rare-word
//! pruning and skip-gram passes were chosen on 10,000 rows; with fewer rows the same numbers
//! take too few optimizer steps and prune too much of a small vocabulary (how often a word
//! is seen follows the training tokens, so the pruning is sized by them, not by the rows),
//! and which validation score keeps the best epoch depends on how many rows validate. The
//! recurrent members averaged are as many as keep the training's cost near two members of
//! 10,000 rows. Resolved once the data is read, before anything is built, and recorded in
//! `config.json` as the values used.

use crate::classify::recipe::ClassifyRecipe;
use crate::classify::scores::Metric;
use crate::classify::split::ClassifySplit;
use crate::engine::observer::Notice;
use crate::optimizer::OptimizerConfig;
use crate::training::EmbeddingInit;

/// The strong recipe's settings for a training set of `rows` examples of `tokens` tokens in
/// all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sized {
    /// Training rows they are for.
    pub rows: usize,
    /// Tokens of those rows' texts, by the run's tokenizer.
    pub tokens: usize,
    /// Batch size: about 64 batches an epoch, a power of two from 16 to 128.
    pub batch_size: usize,
    /// Adam's rate: 8e-3 at batch 128, scaled by the square root of the batch.
    pub lr: f64,
    /// Epochs: 3 at 10,000 rows, more as the rows fall (up to 12), the best kept by
    /// validation.
    pub epochs: usize,
    /// Words seen this many times or more are kept: 3 from [`MIN_FREQ_3_FROM`] training
    /// tokens, 2 from [`MIN_FREQ_2_FROM`], else 1.
    pub min_freq: usize,
    /// Skip-gram passes: 10 at 10,000 rows, more for fewer rows (about the same number of
    /// words seen), up to 40.
    pub skipgram_epochs: usize,
    /// The validation score that keeps the best epoch: the cross-entropy from
    /// [`LOSS_JUDGES_FROM`] rows, accuracy below.
    pub metric: Metric,
    /// Recurrent members averaged: [`STRONG_MEMBERS`] up to 12,000 rows (as many as fit in
    /// [`MEMBER_ROWS`] rows), one above.
    pub members: usize,
}

/// The strong recipe's recurrent members where the rows allow. Two members trained
/// adversarially match four trained plainly on validation loss and beat them on held-out
/// loss, in less time (docs/results.md).
pub const STRONG_MEMBERS: usize = 2;

/// Training rows times members that the recipe spends its members on: two members up to
/// 12,000 rows, then one, so that a large training set is not trained twice over (an
/// adversarial member costs about as much as two plain ones).
pub const MEMBER_ROWS: usize = 24_000;

/// Training rows from which the validation cross-entropy, not accuracy, keeps the best epoch.
/// Judged on held-out rows of the training file (docs/results.md), the loss keeps better
/// epochs from 1,000 rows up (a validation tenth of 100 rows, where accuracy moves in steps
/// of a point and picks lucky epochs), and worse ones at 300 (30 rows, where a few confident
/// mistakes dominate the loss).
pub const LOSS_JUDGES_FROM: usize = 800;

/// Rows the strong recipe was chosen on (train_sample less its validation tenth).
const REFERENCE_ROWS: f64 = 9_386.0;

/// `basic_english` tokens of an AG News text on average (44.8 in train_sample.csv): the
/// texts the pruning was chosen on.
const REFERENCE_TOKENS_PER_ROW: usize = 45;

/// Training tokens from which words seen fewer than 3 times are dropped: 5,000 rows of AG
/// News, where that pruning was chosen. Counted in tokens, not rows, because a word's count
/// follows the tokens: 5,000 news titles (8 tokens each) see each word about a sixth as
/// often, and pruning them as if they were whole articles drops words they need
/// (docs/results.md).
pub const MIN_FREQ_3_FROM: usize = 5_000 * REFERENCE_TOKENS_PER_ROW;

/// Training tokens from which words seen once are dropped: 1,500 rows of AG News.
pub const MIN_FREQ_2_FROM: usize = 1_500 * REFERENCE_TOKENS_PER_ROW;

impl Sized {
    /// The settings for `rows` training examples of `tokens` tokens in all.
    pub fn strong(rows: usize, tokens: usize) -> Sized {
        let n = rows.max(1) as f64;
        let batch_size = ((n / 64.0).log2().round().exp2() as usize).clamp(16, 128);
        let lr = 0.008 * (batch_size as f64 / 128.0).sqrt();
        let epochs = ((3.0 * (REFERENCE_ROWS / n).sqrt()).round() as usize).clamp(3, 12);
        let min_freq = match tokens {
            t if t >= MIN_FREQ_3_FROM => 3,
            t if t >= MIN_FREQ_2_FROM => 2,
            _ => 1,
        };
        let skipgram_epochs = ((10.0 * REFERENCE_ROWS / n).round() as usize).clamp(10, 40);
        let metric = if rows >= LOSS_JUDGES_FROM {
            Metric::Loss
        } else {
            Metric::Accuracy
        };
        let members = (MEMBER_ROWS / rows.max(1)).clamp(1, STRONG_MEMBERS);
        Sized {
            rows,
            tokens,
            batch_size,
            lr,
            epochs,
            min_freq,
            skipgram_epochs,
            metric,
            members,
        }
    }
}

impl Sized {
    /// The notice that tells these settings.
    pub fn notice(&self) -> Notice {
        Notice::Sized {
            rows: self.rows,
            tokens: self.tokens,
            batch_size: self.batch_size,
            lr: self.lr,
            epochs: self.epochs,
            min_freq: self.min_freq,
            metric: self.metric,
            skipgram_epochs: self.skipgram_epochs,
            members: self.members,
        }
    }
}

impl ClassifyRecipe {
    /// [`size_to`](Self::size_to) the training rows of `split` and their tokens (counted
    /// only for a recipe that has a size rule).
    pub(crate) fn size_to_split(&mut self, split: &ClassifySplit) -> Option<Sized> {
        self.training.size_rule.as_ref()?;
        let tokens = split.train_tokens(self.text.tokenizer);
        self.size_to(split.train_rows(), tokens)
    }

    /// Applies the recipe's [`SizeRule`](crate::SizeRule) (if any) for `rows` training
    /// examples of `tokens` tokens in all and drops it, so that the recipe holds the values
    /// used; the settings the run now has (0 skip-gram passes: no skip-gram vectors).
    pub fn size_to(&mut self, rows: usize, tokens: usize) -> Option<Sized> {
        let rule = self.training.size_rule.take()?;
        let s = Sized::strong(rows, tokens);
        let t = &mut self.training;
        if rule.batch_size {
            t.batching.batch_size = s.batch_size;
            t.batching.eval_batch_size = s.batch_size.max(t.batching.eval_batch_size);
        }
        if rule.lr {
            if let OptimizerConfig::Adam(a) = &mut t.optimizer {
                a.lr = s.lr;
            }
        }
        if rule.epochs {
            t.train.epochs = s.epochs;
        }
        if rule.min_freq {
            t.vocab.min_freq = s.min_freq;
        }
        if rule.metric {
            t.batching.metric = s.metric;
        }
        if rule.members {
            self.model.members = s.members;
        }
        if let (true, EmbeddingInit::SkipGram { epochs }) =
            (rule.skipgram_epochs, &mut t.embeddings)
        {
            *epochs = s.skipgram_epochs;
        }
        Some(Sized {
            rows,
            tokens,
            batch_size: t.batching.batch_size,
            lr: t.optimizer.lr(),
            epochs: t.train.epochs,
            min_freq: t.vocab.min_freq,
            metric: t.batching.metric,
            skipgram_epochs: match t.embeddings {
                EmbeddingInit::SkipGram { epochs } => epochs,
                _ => 0,
            },
            members: self.model.members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` of AG News's length.
    fn news(rows: usize) -> Sized {
        Sized::strong(rows, rows.saturating_mul(REFERENCE_TOKENS_PER_ROW))
    }

    #[test]
    fn ten_thousand_rows_keep_the_recipe_chosen_there() {
        let s = news(9_386);
        assert_eq!(
            (s.batch_size, s.epochs, s.min_freq, s.skipgram_epochs),
            (128, 3, 3, 10)
        );
        assert_eq!(s.metric, Metric::Loss);
        assert_eq!(news(270).metric, Metric::Accuracy);
        assert_eq!(news(900).metric, Metric::Loss);
        assert_eq!(s.members, STRONG_MEMBERS);
        assert_eq!(news(12_000).members, STRONG_MEMBERS);
        assert_eq!(news(12_001).members, 1);
        assert!((s.lr - 0.008).abs() < 1e-12);
    }

    #[test]
    fn fewer_rows_take_smaller_batches_more_epochs_and_keep_more_words() {
        let sizes = [1, 100, 300, 1_000, 2_500, 5_000, 9_386, 100_000, usize::MAX];
        let all: Vec<Sized> = sizes.iter().map(|&n| news(n)).collect();
        for w in all.windows(2) {
            assert!(w[0].batch_size <= w[1].batch_size, "{w:?}");
            assert!(w[0].epochs >= w[1].epochs, "{w:?}");
            assert!(w[0].min_freq <= w[1].min_freq, "{w:?}");
            assert!(w[0].skipgram_epochs >= w[1].skipgram_epochs, "{w:?}");
            assert!(w[0].lr <= w[1].lr, "{w:?}");
            assert!(w[0].members >= w[1].members, "{w:?}");
        }
        for s in &all {
            // at least about 150 optimizer steps, where there are rows for them
            let steps = s.rows.div_ceil(s.batch_size).saturating_mul(s.epochs);
            assert!(steps >= 150 || s.rows < 16 * 13, "{s:?}: {steps} steps");
            assert!((16..=128).contains(&s.batch_size) && (3..=12).contains(&s.epochs));
        }
    }

    #[test]
    fn pruning_follows_the_tokens_not_the_rows() {
        // AG News's sizes keep the pruning chosen on them
        assert_eq!(
            [1_000, 1_500, 4_999, 5_000].map(|n| news(n).min_freq),
            [1, 2, 2, 3]
        );
        // as many titles of 8 tokens see each word less: their rare words stay
        assert_eq!(Sized::strong(5_000, 40_000).min_freq, 1);
        assert_eq!(Sized::strong(10_000, 80_000).min_freq, 2);
        // the rest of the recipe follows the rows
        let (short, long) = (Sized::strong(5_000, 40_000), news(5_000));
        assert_eq!(
            (short.batch_size, short.epochs, short.members),
            (long.batch_size, long.epochs, long.members)
        );
    }
}
