//! A TF-IDF linear model of words and hashed word pairs beside the recurrent part of a
//! classifier ([`NgramBag`]): a text of `L` tokens has its `L` token ids and `L − 1` hashed
//! bigrams as features; each distinct feature `i` counted `tf` times weighs
//! `(1 + ln tf) · idf[i]`, the weights are scaled to unit L2 norm (scikit-learn's
//! `TfidfVectorizer(sublinear_tf=True)`), and the bag's logits are the weighted sum of the
//! features' rows of `bag.weight` — logistic regression on TF-IDF 1–2-grams. The bag is its
//! own head: it trains on its own loss beside the recurrent part's, and the classifier's
//! logits mix the two, `(1 − m) · recurrent + m · bag`, with the share `m` chosen on
//! validation data. Small training sets lean on the bag, large ones on the recurrence.
//!
//! With `C > 0` character buckets a word's row is joined by its character n-grams'
//! ([`WordGrams`]): word `w` of weight `a` in a text adds `a · c[w, g]` of each of its
//! grams' rows `g`, where `c[w, ·]` is the word's own TF-IDF of n-grams, `(1 + ln count) ·
//! idf` at unit L2 norm (the n-grams' IDF fitted on the training texts with the rest). It is
//! logistic regression on the word features plus their n-grams (`A · C` beside `A`), so a
//! rare word borrows what its relatives taught, and it folds into one row per word
//! ([`NgramBag::folded`]) for runtimes that only gather.

use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, Tensor};

use crate::char_grams::WordGrams;
use crate::params::{ParamId, ParamStore};
use crate::{LayerError, Result};

/// The bag's parameters and sizes.
#[derive(Clone, Debug)]
pub struct NgramBag {
    /// `bag.weight [V + N + C + 1, K]`: the words', the pair buckets', the character
    /// buckets' and the padding row; trained.
    pub weight: ParamId,
    /// `bag.idf [V + N + C + 1, 1]`: each feature's inverse document frequency on the
    /// training texts ([`NgramBag::fit_idf`]; 1 until fitted, 0 for the padding row), not
    /// trained.
    pub idf: ParamId,
    /// `bag.mix [1]`: the bag's share `m` of the classifier's logits, chosen on validation
    /// data (0.5 until chosen), not trained.
    pub mix: ParamId,
    /// Vocabulary rows `V` (token ids below it are words).
    pub vocab: usize,
    /// Hash buckets `N` of the word pairs.
    pub buckets: usize,
    /// Hash buckets `C` of the words' character n-grams (0: none).
    pub char_buckets: usize,
    /// The vocabulary's character n-grams ([`NgramBag::set_words`]; with `C > 0` only).
    words: Option<WordGrams>,
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

/// The bag's word and pair features of a padded batch (`tokens [B, T]`, each row's first
/// `lengths[b]` tokens) over a vocabulary of `vocab` and `buckets` pair buckets, padded with
/// the row `pad`.
pub fn bag_features(
    tokens: &[usize],
    lengths: &[usize],
    vocab: usize,
    buckets: usize,
    pad: usize,
) -> BagFeatures {
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
    let (rows, counts, width) = padded(&texts, pad, 0);
    BagFeatures {
        rows,
        counts,
        width,
    }
}

/// Each text's `(row, value)` pairs as `[B, W]` rows and values, each text filled to the
/// longest `W` (at least 1) with the row `pad` and the value `zero`.
fn padded<T: Copy>(texts: &[Vec<(usize, T)>], pad: usize, zero: T) -> (Vec<usize>, Vec<T>, usize) {
    let width = texts.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut rows = vec![pad; texts.len() * width];
    let mut values = vec![zero; texts.len() * width];
    for (t, text) in texts.iter().enumerate() {
        for (j, &(r, v)) in text.iter().enumerate() {
            rows[t * width + j] = r;
            values[t * width + j] = v;
        }
    }
    (rows, values, width)
}

/// `(1 + ln count) · idf` of each feature (0 where `count` is 0), scaled to L2 norm `gain`.
fn sublinear_at_norm(counts: impl Iterator<Item = usize>, idf: &[f64], gain: f64) -> Vec<f64> {
    let mut w: Vec<f64> = counts
        .zip(idf)
        .map(|(n, &d)| {
            if n == 0 {
                0.0
            } else {
                (1.0 + (n as f64).ln()) * d
            }
        })
        .collect();
    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        w.iter_mut().for_each(|x| *x *= gain / norm);
    }
    w
}

/// Each feature's weight in its text: `(1 + ln count) · idf`, scaled to unit L2 norm per
/// text (`counts`, `idf`: `[B, W]`, 0 for padding), times [`BAG_GAIN`].
pub fn tf_idf_weights(counts: &[usize], idf: &[f64], width: usize) -> Vec<f64> {
    let width = width.max(1);
    counts
        .chunks(width)
        .zip(idf.chunks(width))
        .flat_map(|(c, d)| sublinear_at_norm(c.iter().copied(), d, BAG_GAIN))
        .collect()
}

impl NgramBag {
    /// Registers `bag.weight [vocab + buckets + char_buckets + 1, classes]` (zero: the bag
    /// starts with no opinion), `bag.idf` of as many rows (1, the padding row 0) and
    /// `bag.mix [1]` (0.5). A bag with character buckets needs [`NgramBag::set_words`]
    /// before its first forward.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        vocab: usize,
        buckets: usize,
        char_buckets: usize,
        classes: usize,
    ) -> Result<NgramBag> {
        let rows = vocab + buckets + char_buckets + 1;
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
            char_buckets,
            words: None,
        })
    }

    /// The padding row.
    fn pad(&self) -> usize {
        self.vocab + self.buckets + self.char_buckets
    }

    /// The first character bucket's row.
    fn first_char_row(&self) -> usize {
        self.vocab + self.buckets
    }

    /// Gives the bag its vocabulary's `words` in id order (a special token as the empty
    /// word): a bag with character buckets reads its words' n-grams from them; one without
    /// ignores them. Their number must be the vocabulary's.
    pub fn set_words(&mut self, words: &[&str]) -> Result<()> {
        if words.len() != self.vocab {
            return Err(LayerError::Config(format!(
                "the bag was given {} words for a vocabulary of {}",
                words.len(),
                self.vocab
            )));
        }
        if self.char_buckets > 0 {
            self.words = Some(WordGrams::new(words.iter().copied(), self.char_buckets));
        }
        Ok(())
    }

    /// The words' character n-grams, if the bag has character buckets.
    fn word_grams(&self) -> Result<Option<&WordGrams>> {
        match (&self.words, self.char_buckets) {
            (_, 0) => Ok(None),
            (Some(w), _) => Ok(Some(w)),
            (None, _) => Err(LayerError::Config(
                "the bag's character n-grams need the vocabulary's words \
                 (NgramBag::set_words) before it runs"
                    .into(),
            )),
        }
    }

    /// Sets `bag.idf` from the training texts (token ids): `ln((1 + n) / (1 + df)) + 1` for a
    /// feature found in `df` of the `n` texts (scikit-learn's smoothed IDF; a character
    /// n-gram is in a text when one of its words has it), 0 for the padding row. A token id
    /// outside the vocabulary is an error naming the text.
    pub fn fit_idf<B: Backend>(
        &self,
        store: &mut ParamStore<B>,
        texts: &[Vec<usize>],
    ) -> Result<()> {
        let pad = self.pad();
        let words = self.word_grams()?;
        let first_char = self.first_char_row();
        let mut df = vec![0usize; pad];
        let mut grams: Vec<usize> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            if let Some(&bad) = text.iter().find(|&&id| id >= self.vocab) {
                return Err(LayerError::Config(format!(
                    "text {i} has token id {bad}, outside the bag's vocabulary of {}",
                    self.vocab
                )));
            }
            grams.clear();
            for (f, _) in runs(&text_features(text, self.vocab, self.buckets)) {
                df[f] += 1;
                if let (Some(w), true) = (words, f < self.vocab) {
                    grams.extend(w.of(f).iter().map(|&(g, _)| first_char + g));
                }
            }
            grams.sort_unstable();
            grams.dedup();
            grams.iter().for_each(|&g| df[g] += 1);
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

    /// The features of a padded batch (`tokens [B, T]`, `lengths [B]`) and their weights:
    /// `[B, W]` rows of `bag.weight` and `[B, W]` weights (the padding row at weight 0 fills
    /// each text to `W`), and `W`. A word's character n-gram rows follow it at the word's
    /// weight times the word's own n-gram weights.
    fn weighted_rows<B: Backend>(
        &self,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<(Vec<usize>, Vec<f64>, usize)> {
        let pad = self.pad();
        let f = bag_features(tokens, lengths, self.vocab, self.buckets, pad);
        let idf_table = store.get(self.idf)?;
        let idf = idf_table.gather_rows(&f.rows)?.to_f64_vec()?;
        let weights = tf_idf_weights(&f.counts, &idf, f.width);
        let Some(words) = self.word_grams()? else {
            return Ok((f.rows, weights, f.width));
        };
        let first_char = self.first_char_row();
        let char_rows: Vec<usize> = f
            .rows
            .iter()
            .filter(|&&r| r < self.vocab)
            .flat_map(|&r| words.of(r).iter().map(|&(g, _)| first_char + g))
            .collect();
        let char_idf = match char_rows.is_empty() {
            true => Vec::new(),
            false => idf_table.gather_rows(&char_rows)?.to_f64_vec()?,
        };
        let mut at = 0;
        let texts: Vec<Vec<(usize, f64)>> = f
            .rows
            .chunks(f.width)
            .zip(weights.chunks(f.width))
            .map(|(rows, ws)| {
                let mut text: Vec<(usize, f64)> = Vec::new();
                for (&r, &a) in rows.iter().zip(ws).filter(|p| *p.0 != pad) {
                    text.push((r, a));
                    if r < self.vocab {
                        let grams = words.of(r);
                        let idf = &char_idf[at..at + grams.len()];
                        at += grams.len();
                        let c = sublinear_at_norm(grams.iter().map(|g| g.1), idf, 1.0);
                        text.extend(grams.iter().zip(c).map(|(g, c)| (first_char + g.0, a * c)));
                    }
                }
                text
            })
            .collect();
        Ok(padded(&texts, pad, 0.0))
    }

    /// The bag's logits `[B, K]` of a padded batch (`tokens [B, T]`, `lengths [B]`).
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let (rows, weights, width) = self.weighted_rows(store, tokens, lengths)?;
        let table = store.var(tape, self.weight)?;
        let k = tape.shape(table)?[1];
        let b = lengths.len();
        // a dense gradient: the optimizer updates the whole (narrow) table every step, so
        // the pair rows a batch reads never lag behind
        let gathered = tape.gather_rows_skip(table, &rows, Some(self.pad()))?;
        let w = Tensor::from_f64(store.backend(), &[rows.len(), 1], &weights, store.dtype())?;
        let gathered = tape.mul(gathered, tape.constant(w))?;
        let gathered = tape.reshape(gathered, &[b, width, k])?;
        Ok(tape.sum_axis(gathered, 1)?)
    }

    /// The bag with each word's character n-grams folded into its row: `(weight, idf)`,
    /// `[V + N + 1, K]` and `[V + N + 1]` row-major, word `w`'s weight row
    /// `bag.weight[w] + Σ_g c[w, g] · bag.weight[g]`, the pair buckets' and the padding row
    /// as they are. A runtime that gathers one row per word and pair computes
    /// [`NgramBag::forward`]'s logits from it.
    pub fn folded<B: Backend>(&self, store: &ParamStore<B>) -> Result<(Vec<f64>, Vec<f64>)> {
        let weight = store.get(self.weight)?.to_f64_vec()?;
        let idf = store.get(self.idf)?.to_f64_vec()?;
        let rows = self.pad() + 1;
        let k = weight.len() / rows.max(1);
        if weight.len() != rows * k || idf.len() != rows {
            return Err(LayerError::Param(format!(
                "bag.weight ({} values) and bag.idf ({}) do not have the bag's {rows} rows",
                weight.len(),
                idf.len()
            )));
        }
        let kept = self.vocab + self.buckets;
        let mut w: Vec<f64> = weight[..kept * k].to_vec();
        w.extend_from_slice(&weight[self.pad() * k..]);
        let mut d: Vec<f64> = idf[..kept].to_vec();
        d.push(idf[self.pad()]);
        if let Some(words) = self.word_grams()? {
            let first_char = self.first_char_row();
            for word in 0..self.vocab {
                let grams = words.of(word);
                let gram_idf: Vec<f64> = grams.iter().map(|g| idf[first_char + g.0]).collect();
                let c = sublinear_at_norm(grams.iter().map(|g| g.1), &gram_idf, 1.0);
                for (g, c) in grams.iter().zip(c) {
                    let from = (first_char + g.0) * k;
                    for j in 0..k {
                        w[word * k + j] += c * weight[from + j];
                    }
                }
            }
        }
        Ok((w, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_has_its_distinct_words_and_pairs_with_their_counts() {
        // text 0: 1 2 1 2 (words 1×2, 2×2; pairs (1,2)×2, (2,1)×1); text 1: 4 5
        let f = bag_features(&[1, 2, 1, 2, 4, 5, 0, 0], &[4, 2], 10, 7, 17);
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
