//! A linear bag of words and hashed word pairs beside the recurrent part of a classifier
//! ([`NgramBag`]): for a text of `L` tokens, its `L` token ids and `L − 1` hashed
//! bigrams each look up a row of `bag.weight [V + N + 1, K]` (`N` buckets; the last row is
//! padding, zero and never updated), summed and divided by `√(2L − 1)` — logistic
//! regression on an L2-normalised bag of 1–2-grams, as TF-IDF + LR uses them (without the
//! IDF) — and added to the logits. It learns the words' direct evidence quickly, on little
//! data, while the recurrent part learns their order.

use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, Tensor};

use crate::params::{ParamId, ParamStore};
use crate::Result;

/// The bag's parameter and sizes.
#[derive(Clone, Debug)]
pub struct NgramBag {
    /// `bag.weight [V + N + 1, K]`.
    pub weight: ParamId,
    /// Vocabulary rows `V` (token ids below it are words).
    pub vocab: usize,
    /// Hash buckets `N` of the word pairs.
    pub buckets: usize,
}

/// fastText's multiplier of word-pair hashes.
const PAIR_MULTIPLIER: u64 = 116_049_371;

/// The bucket of the word pair `(a, b)` among `buckets`: `(a · 116049371 + b) mod buckets`
/// (fastText's pair hash), exact in 64-bit integers for any vocabulary recur builds, so
/// that any runtime with integer multiply, add and modulo computes the same bucket.
pub fn bigram_bucket(a: usize, b: usize, buckets: usize) -> usize {
    let h = (a as u64)
        .wrapping_mul(PAIR_MULTIPLIER)
        .wrapping_add(b as u64);
    (h % buckets.max(1) as u64) as usize
}

/// The bag's rows of a padded batch (`tokens [B, T]`, each row's first `lengths[b]` tokens)
/// over a vocabulary of `vocab` and `buckets` pair buckets: `[B, 2T − 1]` row-major (each
/// row's tokens, then its pairs' buckets offset by `vocab`, then the padding row
/// `vocab + buckets`), and each row's count.
pub fn bag_rows(
    tokens: &[usize],
    lengths: &[usize],
    vocab: usize,
    buckets: usize,
) -> (Vec<usize>, Vec<usize>) {
    let pad = vocab + buckets;
    let b = lengths.len().max(1);
    let t = tokens.len() / b;
    let width = (2 * t).saturating_sub(1).max(1);
    let mut ids = vec![pad; lengths.len() * width];
    let mut counts = Vec::with_capacity(lengths.len());
    for (r, &len) in lengths.iter().enumerate() {
        let row = &tokens[r * t..r * t + len.min(t)];
        let out = &mut ids[r * width..(r + 1) * width];
        let mut n = 0;
        for &id in row {
            out[n] = id;
            n += 1;
        }
        for pair in row.windows(2) {
            out[n] = vocab + bigram_bucket(pair[0], pair[1], buckets);
            n += 1;
        }
        counts.push(n.max(1));
    }
    (ids, counts)
}

impl NgramBag {
    /// Registers `bag.weight [vocab + buckets + 1, classes]`, zero (the bag starts with no
    /// opinion).
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        vocab: usize,
        buckets: usize,
        classes: usize,
    ) -> Result<NgramBag> {
        let rows = vocab + buckets + 1;
        let zeros = Tensor::zeros(store.backend(), &[rows, classes], store.dtype())?;
        let weight = store.add("bag.weight", zeros)?;
        Ok(NgramBag {
            weight,
            vocab,
            buckets,
        })
    }

    /// The padding row.
    fn pad(&self) -> usize {
        self.vocab + self.buckets
    }

    /// The bag's logits `[B, K]` of a padded batch (`tokens [B, T]`, `lengths [B]`).
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let (ids, counts) = bag_rows(tokens, lengths, self.vocab, self.buckets);
        let table = store.var(tape, self.weight)?;
        let k = tape.shape(table)?[1];
        let b = lengths.len();
        // a dense gradient: the optimizer updates the whole (narrow) table every step, so
        // the pair rows a batch reads never lag behind
        let rows = tape.gather_rows_skip(table, &ids, Some(self.pad()))?;
        let rows = tape.reshape(rows, &[b, ids.len() / b.max(1), k])?;
        let sums = tape.sum_axis(rows, 1)?;
        let inv: Vec<f64> = counts.iter().map(|&n| 1.0 / (n as f64).sqrt()).collect();
        let inv = Tensor::from_f64(store.backend(), &[b, 1], &inv, store.dtype())?;
        Ok(tape.mul(sums, tape.constant(inv))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_of_l_tokens_has_l_words_and_l_minus_one_pairs() {
        let (ids, counts) = bag_rows(&[1, 2, 3, 4, 5, 0], &[3, 2], 10, 7);
        assert_eq!(counts, vec![5, 3]);
        assert_eq!(&ids[..3], &[1, 2, 3]);
        assert!(ids[3..5].iter().all(|&i| (10..17).contains(&i)));
        assert_eq!(&ids[5..8], &[4, 5, 10 + bigram_bucket(4, 5, 7)]);
        assert!(ids[8..].iter().all(|&i| i == 17));
        assert_eq!(bigram_bucket(1, 2, 7), bigram_bucket(1, 2, 7));
        assert_ne!(
            (0..50)
                .map(|a| bigram_bucket(a, 1, 1 << 20))
                .collect::<Vec<_>>(),
            (0..50)
                .map(|a| bigram_bucket(1, a, 1 << 20))
                .collect::<Vec<_>>()
        );
    }
}
