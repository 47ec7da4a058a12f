//! A TF-IDF linear model of words and hashed word pairs beside the recurrent part of a
//! classifier ([`NgramBag`]): a text of `L` tokens has its `L` token ids and `L − 1` hashed
//! bigrams as features; each distinct feature `i` counted `tf` times weighs
//! `(1 + ln tf) · idf[i]`, the weights are scaled to unit L2 norm (scikit-learn's
//! `TfidfVectorizer(sublinear_tf=True)`), and the bag's logits are the weighted sum of the
//! features' rows of `bag.weight` — logistic regression on TF-IDF 1–2-grams. The bag is its
//! own head: it trains on its own loss beside the recurrent part's, and the classifier's
//! logits mix the two, `(1 − m) · recurrent + m · bag`, with the share `m` chosen on
//! validation data. Small training sets lean on the bag, large ones on the recurrence.

use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, Tensor};

use crate::params::{ParamId, ParamStore};
use crate::{LayerError, Result};

/// The bag's parameters and sizes.
#[derive(Clone, Debug)]
pub struct NgramBag {
    /// `bag.weight [V + N + 1, K]`, trained.
    pub weight: ParamId,
    /// `bag.idf [V + N + 1, 1]`: each feature's inverse document frequency on the training
    /// texts ([`NgramBag::fit_idf`]; 1 until fitted, 0 for the padding row), not trained.
    pub idf: ParamId,
    /// `bag.mix [1]`: the bag's share `m` of the classifier's logits, chosen on validation
    /// data (0.5 until chosen), not trained.
    pub mix: ParamId,
    /// Vocabulary rows `V` (token ids below it are words).
    pub vocab: usize,
    /// Hash buckets `N` of the word pairs.
    pub buckets: usize,
}

/// fastText's multiplier of word-pair hashes.
const PAIR_MULTIPLIER: u64 = 116_049_371;

/// The factor on the bag's normalised features. Under Adam it is the bag learning at this
/// many times the recurrent part's rate: a linear model of sparse features needs larger
/// steps than the network to converge in the same epochs (measured against scikit-learn's
/// logistic regression on the same features: `benches/reference/bag_rate.py`).
pub const BAG_GAIN: f64 = 8.0;

/// The bucket of the word pair `(a, b)` among `buckets`: `(a · 116049371 + b) mod buckets`
/// (fastText's pair hash), exact in 64-bit integers for any vocabulary recur builds, so
/// that any runtime with integer multiply, add and modulo computes the same bucket.
pub fn bigram_bucket(a: usize, b: usize, buckets: usize) -> usize {
    let h = (a as u64)
        .wrapping_mul(PAIR_MULTIPLIER)
        .wrapping_add(b as u64);
    (h % buckets.max(1) as u64) as usize
}

/// The distinct features of a padded batch and their counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BagFeatures {
    /// `[B, W]` row-major: each text's distinct feature rows in increasing order (words
    /// below `V`, pair buckets offset by `V`), then the padding row `V + N`.
    pub rows: Vec<usize>,
    /// `[B, W]`: how often each feature occurs in its text (0 for padding).
    pub counts: Vec<usize>,
    /// `W`, the most distinct features of a text in the batch (at least 1).
    pub width: usize,
}

/// The features of one text (`tokens`, its ids) over a vocabulary of `vocab` and `buckets`
/// pair buckets: its words and its pairs' buckets offset by `vocab`, sorted, with repeats.
fn text_features(tokens: &[usize], vocab: usize, buckets: usize) -> Vec<usize> {
    let mut f: Vec<usize> = tokens.to_vec();
    f.extend(
        tokens
            .windows(2)
            .map(|p| vocab + bigram_bucket(p[0], p[1], buckets)),
    );
    f.sort_unstable();
    f
}

/// `(feature, count)` of a sorted feature list.
fn runs(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &f in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == f => *n += 1,
            _ => out.push((f, 1)),
        }
    }
    out
}

/// The bag's features of a padded batch (`tokens [B, T]`, each row's first `lengths[b]`
/// tokens) over a vocabulary of `vocab` and `buckets` pair buckets.
pub fn bag_features(
    tokens: &[usize],
    lengths: &[usize],
    vocab: usize,
    buckets: usize,
) -> BagFeatures {
    let pad = vocab + buckets;
    let b = lengths.len().max(1);
    let t = tokens.len() / b;
    let texts: Vec<Vec<(usize, usize)>> = lengths
        .iter()
        .enumerate()
        .map(|(r, &len)| {
            runs(&text_features(
                &tokens[r * t..r * t + len.min(t)],
                vocab,
                buckets,
            ))
        })
        .collect();
    let width = texts.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut rows = vec![pad; lengths.len() * width];
    let mut counts = vec![0; lengths.len() * width];
    for (r, text) in texts.iter().enumerate() {
        for (j, &(f, n)) in text.iter().enumerate() {
            rows[r * width + j] = f;
            counts[r * width + j] = n;
        }
    }
    BagFeatures {
        rows,
        counts,
        width,
    }
}

/// Each feature's weight in its text: `(1 + ln count) · idf`, scaled to unit L2 norm per
/// text (`counts`, `idf`: `[B, W]`, 0 for padding), times [`BAG_GAIN`].
pub fn tf_idf_weights(counts: &[usize], idf: &[f64], width: usize) -> Vec<f64> {
    let mut w: Vec<f64> = counts
        .iter()
        .zip(idf)
        .map(|(&n, &d)| {
            if n == 0 {
                0.0
            } else {
                (1.0 + (n as f64).ln()) * d
            }
        })
        .collect();
    for text in w.chunks_mut(width.max(1)) {
        let norm = text.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            text.iter_mut().for_each(|x| *x *= BAG_GAIN / norm);
        }
    }
    w
}

impl NgramBag {
    /// Registers `bag.weight [vocab + buckets + 1, classes]` (zero: the bag starts with no
    /// opinion), `bag.idf [vocab + buckets + 1, 1]` (1, the padding row 0) and
    /// `bag.mix [1]` (0.5).
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        vocab: usize,
        buckets: usize,
        classes: usize,
    ) -> Result<NgramBag> {
        let rows = vocab + buckets + 1;
        let zeros = Tensor::zeros(store.backend(), &[rows, classes], store.dtype())?;
        let weight = store.add("bag.weight", zeros)?;
        let ones: Vec<f64> = (0..rows).map(|r| f64::from(r + 1 < rows)).collect();
        let idf = store.add_f64("bag.idf", &[rows, 1], &ones)?;
        let mix = store.add_f64("bag.mix", &[1], &[0.5])?;
        Ok(NgramBag {
            weight,
            idf,
            mix,
            vocab,
            buckets,
        })
    }

    /// The padding row.
    fn pad(&self) -> usize {
        self.vocab + self.buckets
    }

    /// Sets `bag.idf` from the training texts (token ids): `ln((1 + n) / (1 + df)) + 1` for a
    /// feature found in `df` of the `n` texts (scikit-learn's smoothed IDF), 0 for the
    /// padding row. A token id outside the vocabulary is an error naming the text.
    pub fn fit_idf<B: Backend>(
        &self,
        store: &mut ParamStore<B>,
        texts: &[Vec<usize>],
    ) -> Result<()> {
        let pad = self.pad();
        let mut df = vec![0usize; pad];
        for (i, text) in texts.iter().enumerate() {
            if let Some(&bad) = text.iter().find(|&&id| id >= self.vocab) {
                return Err(LayerError::Config(format!(
                    "text {i} has token id {bad}, outside the bag's vocabulary of {}",
                    self.vocab
                )));
            }
            for (f, _) in runs(&text_features(text, self.vocab, self.buckets)) {
                df[f] += 1;
            }
        }
        let n = texts.len() as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0)
            .chain([0.0])
            .collect();
        let t = Tensor::from_f64(store.backend(), &[pad + 1, 1], &idf, store.dtype())?;
        store.set(self.idf, t)
    }

    /// The bag's share `m` of the classifier's logits (`bag.mix`).
    pub fn share<B: Backend>(&self, store: &ParamStore<B>) -> Result<f64> {
        let m = store.get(self.mix)?.scalar()?;
        if !(0.0..=1.0).contains(&m) {
            return Err(LayerError::Param(format!(
                "bag.mix: expected a share in [0, 1], found {m}"
            )));
        }
        Ok(m)
    }

    /// Sets the bag's share `m` (in `[0, 1]`) of the classifier's logits.
    pub fn set_share<B: Backend>(&self, store: &mut ParamStore<B>, m: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&m) {
            return Err(LayerError::Config(format!(
                "the bag's share of the logits must be in [0, 1], found {m}"
            )));
        }
        let t = Tensor::from_f64(store.backend(), &[1], &[m], store.dtype())?;
        store.set(self.mix, t)
    }

    /// The bag's logits `[B, K]` of a padded batch (`tokens [B, T]`, `lengths [B]`).
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let f = bag_features(tokens, lengths, self.vocab, self.buckets);
        let idf = store.get(self.idf)?.gather_rows(&f.rows)?.to_f64_vec()?;
        let weights = tf_idf_weights(&f.counts, &idf, f.width);
        let table = store.var(tape, self.weight)?;
        let k = tape.shape(table)?[1];
        let b = lengths.len();
        // a dense gradient: the optimizer updates the whole (narrow) table every step, so
        // the pair rows a batch reads never lag behind
        let rows = tape.gather_rows_skip(table, &f.rows, Some(self.pad()))?;
        let w = Tensor::from_f64(store.backend(), &[f.rows.len(), 1], &weights, store.dtype())?;
        let rows = tape.mul(rows, tape.constant(w))?;
        let rows = tape.reshape(rows, &[b, f.width, k])?;
        Ok(tape.sum_axis(rows, 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_has_its_distinct_words_and_pairs_with_their_counts() {
        // text 0: 1 2 1 2 (words 1×2, 2×2; pairs (1,2)×2, (2,1)×1); text 1: 4 5
        let f = bag_features(&[1, 2, 1, 2, 4, 5, 0, 0], &[4, 2], 10, 7);
        let (a, b) = (10 + bigram_bucket(1, 2, 7), 10 + bigram_bucket(2, 1, 7));
        let mut want0 = vec![(1, 2), (2, 2)];
        if a == b {
            want0.push((a, 3));
        } else {
            want0.extend([
                (a.min(b), if a < b { 2 } else { 1 }),
                (a.max(b), if a < b { 1 } else { 2 }),
            ]);
        }
        assert_eq!(f.width, want0.len());
        let got0: Vec<(usize, usize)> = f.rows[..f.width]
            .iter()
            .zip(&f.counts[..f.width])
            .map(|(&r, &n)| (r, n))
            .collect();
        assert_eq!(got0, want0);
        assert_eq!(&f.rows[f.width..f.width + 2], &[4, 5]);
        assert_eq!(f.rows[f.width + 2], 10 + bigram_bucket(4, 5, 7));
        assert!(f.rows[f.width + 3..].iter().all(|&r| r == 17));
        assert!(f.counts[f.width + 3..].iter().all(|&n| n == 0));
        assert_ne!(
            (0..50)
                .map(|a| bigram_bucket(a, 1, 1 << 20))
                .collect::<Vec<_>>(),
            (0..50)
                .map(|a| bigram_bucket(1, a, 1 << 20))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn weights_are_sublinear_tf_times_idf_at_unit_norm() {
        let w = tf_idf_weights(&[1, 3, 0, 2, 0, 0], &[2.0, 1.0, 0.0, 1.5, 0.0, 0.0], 3);
        let raw = [2.0, 1.0 + 3f64.ln()];
        let norm = (raw[0] * raw[0] + raw[1] * raw[1]).sqrt();
        assert!((w[0] - BAG_GAIN * raw[0] / norm).abs() < 1e-12);
        assert!((w[1] - BAG_GAIN * raw[1] / norm).abs() < 1e-12);
        assert_eq!(w[2], 0.0);
        assert!((w[3] - BAG_GAIN).abs() < 1e-12);
        assert_eq!(&w[4..], &[0.0, 0.0]);
    }
}
