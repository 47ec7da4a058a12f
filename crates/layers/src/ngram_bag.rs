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

use crate::average::mean_logits;
use crate::bag_features::{
    bag_features, padded, runs, sublinear_at_norm, text_features, tf_idf_weights,
};
use crate::char_grams::WordGrams;
use crate::params::{ParamId, ParamStore};
use crate::{LayerError, Result};

/// The bag's parameters and sizes.
#[derive(Clone, Debug)]
pub struct NgramBag {
    /// `bag.weight [V + N + C + 1, K]`: the words', the pair buckets', the character
    /// buckets' and the padding row; trained. The first recurrent member's table.
    pub weight: ParamId,
    /// `members.{i}.bag.weight`, shaped as `bag.weight`: the table of each further member
    /// `i` of the classifier, trained on that member's batches ([`NgramBag::add_member`]).
    /// The bag's logits are the mean of every table's.
    pub member_weights: Vec<ParamId>,
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
            member_weights: Vec::new(),
            idf,
            mix,
            vocab,
            buckets,
            char_buckets,
            words: None,
        })
    }

    /// Registers a further member's table `{prefix}bag.weight` (zero, as `bag.weight`
    /// starts).
    pub fn add_member<B: Backend>(
        &mut self,
        store: &mut ParamStore<B>,
        prefix: &str,
    ) -> Result<()> {
        let shape = store.get(self.weight)?.shape().to_vec();
        let zeros = Tensor::zeros(store.backend(), &shape, store.dtype())?;
        let id = store.add(&format!("{prefix}bag.weight"), zeros)?;
        self.member_weights.push(id);
        Ok(())
    }

    /// Every member's table, the first member's first.
    pub fn tables(&self) -> impl Iterator<Item = ParamId> + '_ {
        std::iter::once(self.weight).chain(self.member_weights.iter().copied())
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

    /// The bag's logits `[B, K]` of a padded batch (`tokens [B, T]`, `lengths [B]`): the
    /// mean of its tables' ([`NgramBag::forward_tables`]).
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let each = self.forward_tables(tape, store, tokens, lengths)?;
        mean_logits(tape, &each)
    }

    /// Each table's logits `[B, K]` of a padded batch, the first member's first.
    pub fn forward_tables<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Vec<Var>> {
        let batch = self.weighted_batch(tape, store, tokens, lengths)?;
        self.tables()
            .map(|id| self.logits_of(tape, store, id, &batch))
            .collect()
    }

    /// Member `member`'s table's logits `[B, K]` of a padded batch.
    pub fn forward_member<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        member: usize,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let id = self.tables().nth(member).ok_or_else(|| {
            LayerError::Config(format!(
                "the bag has {} members' tables, not a table for member {member}",
                self.member_weights.len() + 1
            ))
        })?;
        let batch = self.weighted_batch(tape, store, tokens, lengths)?;
        self.logits_of(tape, store, id, &batch)
    }

    /// [`NgramBag::weighted_rows`] of a padded batch with the weights on `tape`:
    /// `(rows [B·W], weights [B·W, 1], B, W)`, what every table's logits read.
    fn weighted_batch<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<(Vec<usize>, Var, usize, usize)> {
        let (rows, weights, width) = self.weighted_rows(store, tokens, lengths)?;
        let w = Tensor::from_f64(store.backend(), &[rows.len(), 1], &weights, store.dtype())?;
        Ok((rows, tape.constant(w), lengths.len(), width))
    }

    /// Table `id`'s logits `[B, K]` of a [`NgramBag::weighted_batch`].
    fn logits_of<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        id: ParamId,
        (rows, weights, b, width): &(Vec<usize>, Var, usize, usize),
    ) -> Result<Var> {
        let (weights, b, width) = (*weights, *b, *width);
        let table = store.var(tape, id)?;
        let k = tape.shape(table)?[1];
        // a dense gradient: the optimizer updates the whole (narrow) table every step, so
        // the pair rows a batch reads never lag behind
        let gathered = tape.gather_rows_skip(table, rows, Some(self.pad()))?;
        let gathered = tape.mul(gathered, weights)?;
        let gathered = tape.reshape(gathered, &[b, width, k])?;
        Ok(tape.sum_axis(gathered, 1)?)
    }

    /// The bag with each word's character n-grams folded into its row: `(weight, idf)`,
    /// `[V + N + 1, K]` and `[V + N + 1]` row-major, word `w`'s weight row
    /// `bag.weight[w] + Σ_g c[w, g] · bag.weight[g]`, the pair buckets' and the padding row
    /// as they are, `bag.weight` being the mean of the members' tables (the logits are
    /// linear in it). A runtime that gathers one row per word and pair computes
    /// [`NgramBag::forward`]'s logits from it.
    pub fn folded<B: Backend>(&self, store: &ParamStore<B>) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut weight = store.get(self.weight)?.to_f64_vec()?;
        for id in &self.member_weights {
            let other = store.get(*id)?.to_f64_vec()?;
            if other.len() != weight.len() {
                return Err(LayerError::Param(format!(
                    "{} has {} values, bag.weight {}",
                    store.name(*id)?,
                    other.len(),
                    weight.len()
                )));
            }
            weight.iter_mut().zip(other).for_each(|(w, o)| *w += o);
        }
        let tables = (self.member_weights.len() + 1) as f64;
        weight.iter_mut().for_each(|w| *w /= tables);
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
