//! Text classifiers: embedding → (dropout) → recurrent layer (packed or padded) → pooling
//! (last state, mean, max) → (dropout) → linear, with PyTorch `state_dict` names
//! (`embedding.weight`, `rnn.weight_ih_l0`, `fc.weight`). The lesson's four models are
//! presets of these options. A classifier may hold several such parts ([`Member`]s) whose
//! logits it averages, and a TF-IDF bag mixed into them.

use recur_autograd::{Tape, Var};
use recur_packed::{packed_order, Layout, Order, PackedSequence};
use recur_tensor::Backend;

use crate::average::mean_logits;
use crate::classifier_config::{member_prefix, ClassifierConfig};
use crate::input_table::{InputTable, TableRows};
use crate::member::{Member, RnnOut};
use crate::{LayerError, NgramBag, ParamStore, Result, Rng};

/// A classifier's heads' logits before they are mixed: each trains on its own loss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heads {
    /// The recurrent part's logits `[B, K]`: the mean of its members'.
    pub recurrent: Var,
    /// Each recurrent member's logits `[B, K]`, in member order (one member: `[recurrent]`);
    /// each trains on its own loss.
    pub members: Vec<Var>,
    /// The n-gram bag's logits `[B, K]` (a model with a bag only): the mean of its
    /// members' tables'.
    pub bag: Option<Var>,
    /// Each member's bag table's logits `[B, K]`, in member order (none without a bag);
    /// each trains on its own loss.
    pub bags: Vec<Var>,
}

/// A lesson classifier.
#[derive(Clone, Debug)]
pub struct Classifier {
    /// Its configuration.
    pub config: ClassifierConfig,
    /// Its recurrent members (`config.members` of them; the lesson's models have one),
    /// whose logits are averaged.
    pub members: Vec<Member>,
    /// `bag.weight [V + N + C + 1, K]`, `bag.idf [V + N + C + 1, 1]`, `bag.mix [1]` (with
    /// n-gram buckets only).
    pub bag: Option<NgramBag>,
}

impl Classifier {
    /// Registers the parameters (the first member's embedding, rnn, attn (attention pooling
    /// only), fc — the lesson's order —, the bag's, then each further member's) and draws
    /// them.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        config: ClassifierConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        config.validate()?;
        let mut members = vec![Member::new(store, &config, "", rng)?];
        let mut bag = (config.ngram_buckets > 0)
            .then(|| {
                NgramBag::new(
                    store,
                    config.vocab_size,
                    config.ngram_buckets,
                    config.char_buckets,
                    config.num_class,
                )
            })
            .transpose()?;
        for i in 1..config.members {
            let prefix = member_prefix(i);
            members.push(Member::new(store, &config, &prefix, rng)?);
            if let Some(bag) = &mut bag {
                bag.add_member(store, &prefix)?;
            }
        }
        Ok(Classifier {
            config,
            members,
            bag,
        })
    }

    /// Gives the model its vocabulary's `words` in id order (a special token as the empty
    /// word), which a bag with character n-grams reads ([`NgramBag::set_words`]); a model
    /// without one ignores them.
    pub fn set_words(&mut self, words: &[&str]) -> Result<()> {
        match &mut self.bag {
            Some(bag) => bag.set_words(words),
            None => Ok(()),
        }
    }

    /// Logits `[B, K]` for a padded batch: `tokens` is `[B, T]` row-major (`T = len / B`),
    /// `lengths` the true lengths (used by packed models; each must be in `1..=T`).
    /// `train_rng` enables dropout.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
        train_rng: Option<&mut Rng>,
    ) -> Result<Var> {
        self.forward_perturbed(tape, store, tokens, lengths, None, train_rng)
    }

    /// [`Classifier::forward`] with `delta [B, T, E]` added to the embedded tokens (before
    /// the embedding dropout): adversarial training moves the embedding along the loss's
    /// gradient.
    pub fn forward_perturbed<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<Var> {
        let heads = self.forward_heads(tape, store, tokens, lengths, delta, train_rng)?;
        self.mix(tape, store, heads)
    }

    /// The heads' logits of a padded batch before mixing (what training's losses take);
    /// `delta` (added to every member's embedded tokens) and `train_rng` as in
    /// [`Classifier::forward_perturbed`].
    pub fn forward_heads<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        lengths: &[usize],
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<Heads> {
        let (b, t) = self.check_batch(tokens, lengths)?;
        let mut train_rng = train_rng;
        let members = self
            .members
            .iter()
            .map(|m| {
                let batch = (tokens, lengths, b, t);
                m.forward(
                    tape,
                    store,
                    &self.config,
                    batch,
                    delta,
                    train_rng.as_deref_mut(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        self.with_bag(tape, store, members, tokens, lengths)
    }

    /// Member `i`'s heads of a padded batch of its own (`tokens [B, T]`, `lengths [B]`): its
    /// recurrent logits and its bag table's `[B, K]` (`recurrent`, `members[0]`, `bag` and
    /// `bags[0]`), with `delta [B, T, E]` added to its embedded tokens where given. Members
    /// share no trained parameter, so a training step runs each on a tape of its own.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_member<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        i: usize,
        tokens: &[usize],
        lengths: &[usize],
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<Heads> {
        let Some(member) = self.members.get(i) else {
            return Err(LayerError::Config(format!(
                "member {i} of a model of {} members",
                self.members.len()
            )));
        };
        let (b, t) = self.check_batch(tokens, lengths)?;
        let batch = (tokens, lengths, b, t);
        let recurrent = member.forward(tape, store, &self.config, batch, delta, train_rng)?;
        let bag = (self.bag.as_ref())
            .map(|bag| bag.forward_member(tape, store, i, tokens, lengths))
            .transpose()?;
        Ok(Heads {
            recurrent,
            members: vec![recurrent],
            bag,
            bags: bag.into_iter().collect(),
        })
    }

    /// The members' logits, their mean, and the n-gram bag's logits of the batch, where the
    /// model has a bag.
    fn with_bag<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        members: Vec<Var>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Heads> {
        let recurrent = mean_logits(tape, &members)?;
        let bags = match &self.bag {
            Some(bag) => bag.forward_tables(tape, store, tokens, lengths)?,
            None => Vec::new(),
        };
        let bag = match bags.is_empty() {
            true => None,
            false => Some(mean_logits(tape, &bags)?),
        };
        Ok(Heads {
            recurrent,
            members,
            bag,
            bags,
        })
    }

    /// The classifier's logits `[B, K]` from its heads: the recurrent part's alone, or with
    /// a bag `(1 − m) · recurrent + m · bag` (`m`: `bag.mix`).
    pub fn mix<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        heads: Heads,
    ) -> Result<Var> {
        match (&self.bag, heads.bag) {
            (Some(bag), Some(logits)) => {
                let m = bag.share(store)?;
                let recurrent = tape.scale(heads.recurrent, 1.0 - m)?;
                Ok(tape.add(recurrent, tape.scale(logits, m)?)?)
            }
            (None, None) => Ok(heads.recurrent),
            _ => Err(LayerError::Config(
                "the heads do not match the model: a bag's logits without a bag, or none with one"
                    .into(),
            )),
        }
    }

    /// [`Classifier::forward`] for inference through `table` (made by
    /// [`Classifier::input_table`] from this model's parameters): the first layer's input
    /// projections are gathered by token id instead of embedding the tokens and multiplying
    /// them, the rest runs as `forward` runs it. The logits equal `forward`'s to f32
    /// rounding.
    pub fn forward_tabled<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        table: &InputTable<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Var> {
        let (b, t) = self.check_batch(tokens, lengths)?;
        if table.members.len() != self.members.len() {
            return Err(LayerError::Config(format!(
                "the input table has {} members' rows, the model {} members",
                table.members.len(),
                self.members.len()
            )));
        }
        let packed = self.config.packed();
        // a padded model runs every row over all T steps: a packed batch of full rows
        let (lens, order) = if packed {
            (lengths.to_vec(), Order::Any)
        } else {
            (vec![t; b], Order::Sorted)
        };
        let order = packed_order(&lens, b, t, Layout::BatchFirst, order)?;
        let ids: Vec<usize> = order.rows.iter().map(|&i| tokens[i]).collect();
        let members = self
            .members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let like = store.get(member.embedding.weight)?;
                let dirs = table.members[i].len();
                let projected: Vec<Var> = (0..dirs)
                    .map(|d| Ok(tape.constant(table.gather((i, d), &ids, like)?)))
                    .collect::<Result<_>>()?;
                let seq = PackedSequence::new(
                    tape,
                    projected[0],
                    order.batch_sizes.clone(),
                    order.sorted_indices.clone(),
                )?;
                let (packed_out, out) = member
                    .rnn
                    .forward_projected(tape, store, &seq, &projected)?;
                let rnn = if packed {
                    RnnOut::Packed(packed_out, out.h_n)
                } else {
                    // rows in time-major order [T·B, W] → [B, T, W]
                    let w = tape.shape(out.output)?[1];
                    let steps = tape.reshape(out.output, &[t, b, w])?;
                    RnnOut::Padded(tape.transpose01(steps)?, out.h_n)
                };
                member.head(tape, store, &self.config, rnn, lengths, None)
            })
            .collect::<Result<Vec<_>>>()?;
        let heads = self.with_bag(tape, store, members, tokens, lengths)?;
        self.mix(tape, store, heads)
    }

    /// The first layer's input projection of every vocabulary row, for each member (see
    /// [`Classifier::forward_tabled`]); [`Classifier::input_table_bytes`] says its size.
    pub fn input_table<B: Backend>(&self, store: &ParamStore<B>) -> Result<InputTable<B>> {
        let members = self
            .members
            .iter()
            .map(|m| {
                let emb = store.get(m.embedding.weight)?;
                Ok(m.rnn
                    .input_table(store, emb)?
                    .into_iter()
                    .map(TableRows::Exact)
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(InputTable { members })
    }

    /// The bytes [`Classifier::input_table`] takes: `M · V · D · G·H` values of
    /// `bytes_per`.
    pub fn input_table_bytes(&self, bytes_per: usize) -> usize {
        let r = self.config.recurrent();
        [
            self.members.len(),
            self.config.vocab_size,
            r.directions(),
            r.kind.gates(),
            r.hidden_size,
            bytes_per,
        ]
        .iter()
        .fold(1usize, |n, &x| n.saturating_mul(x))
    }

    /// Checks a padded batch of `tokens` with `lengths`: its `(B, T)`.
    fn check_batch(&self, tokens: &[usize], lengths: &[usize]) -> Result<(usize, usize)> {
        let b = lengths.len();
        if b == 0 || !tokens.len().is_multiple_of(b) || tokens.is_empty() {
            return Err(LayerError::Shape {
                layer: "classifier".into(),
                detail: format!("{} tokens do not form a [B={b}, T] batch", tokens.len()),
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&id| id >= self.config.vocab_size) {
            return Err(LayerError::Shape {
                layer: "embedding".into(),
                detail: format!(
                    "token id {bad} is out of range for a vocabulary of {}",
                    self.config.vocab_size
                ),
            });
        }
        Ok((b, tokens.len() / b))
    }
}
