//! Text classifiers: embedding → (dropout) → recurrent layer (packed or padded) → pooling
//! (last state, mean, max) → (dropout) → linear, with PyTorch `state_dict` names
//! (`embedding.weight`, `rnn.weight_ih_l0`, `fc.weight`). The lesson's four models are
//! presets of these options.

use recur_autograd::{Tape, Var};
use recur_packed::{
    pack_padded_sequence, packed_order, pad_packed_sequence, Layout, Order, PackedSequence,
};
use recur_tensor::Backend;

use crate::classifier_config::{ClassifierConfig, EmbedInit, Pooling};
use crate::input_table::{InputTable, TableRows};
use crate::{
    dropout, pooling, Bias, Embedding, EmbeddingConfig, LayerError, Linear, NgramBag, ParamStore,
    Recurrent, Result, Rng,
};

/// A classifier's heads' logits before they are mixed: each trains on its own loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heads {
    /// The recurrent part's logits `[B, K]`.
    pub recurrent: Var,
    /// The n-gram bag's logits `[B, K]` (a model with a bag only).
    pub bag: Option<Var>,
}

/// What the recurrent layers give the head.
enum RnnOut {
    /// Packed outputs and `h_n`.
    Packed(PackedSequence, Var),
    /// Padded outputs `[B, T, W]` and `h_n`.
    Padded(Var, Var),
}

/// A lesson classifier.
#[derive(Clone, Debug)]
pub struct Classifier {
    /// Its configuration.
    pub config: ClassifierConfig,
    /// `embedding.weight [V, E]`.
    pub embedding: Embedding,
    /// `rnn.*`.
    pub rnn: Recurrent,
    /// `attn.weight [1, D·H_out]` (attention pooling only; no bias: softmax ignores it).
    pub attn: Option<Linear>,
    /// `fc.weight [K, D·H_out]`, `fc.bias [K]`.
    pub fc: Linear,
    /// `bag.weight [V + N + C + 1, K]`, `bag.idf [V + N + C + 1, 1]`, `bag.mix [1]` (with
    /// n-gram buckets only).
    pub bag: Option<NgramBag>,
}

impl Classifier {
    /// Registers the parameters (embedding, rnn, attn (attention pooling only), fc — the
    /// lesson's order) and draws them.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        config: ClassifierConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        config.validate()?;
        let shift = match config.embed_init() {
            EmbedInit::Normal => 0.0,
            EmbedInit::NormalMinusHalf => -0.5,
        };
        let embedding_config = EmbeddingConfig {
            num_embeddings: config.vocab_size,
            dim: config.embed_dim,
            padding_idx: config.padding_idx,
            init_shift: shift,
        };
        let mut embedding = Embedding::new(store, "embedding", embedding_config, rng)?;
        embedding.frozen = config.freeze_embedding;
        let rnn = Recurrent::new(store, "rnn", config.recurrent(), rng)?;
        let attn = match config.pooling() {
            Pooling::Attention => Some(Linear::new(
                store,
                "attn",
                config.feature_dim(),
                1,
                Bias::Without,
                rng,
            )?),
            _ => None,
        };
        let fc = Linear::new(
            store,
            "fc",
            config.feature_dim(),
            config.num_class,
            Bias::With,
            rng,
        )?;
        let bag = (config.ngram_buckets > 0)
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
        Ok(Classifier {
            config,
            embedding,
            rnn,
            attn,
            fc,
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
    /// `delta` and `train_rng` as in [`Classifier::forward_perturbed`].
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
        let dtype = store.dtype();
        let mut emb = self.embedding.forward(tape, store, tokens, &[b, t])?;
        if let Some(delta) = delta {
            emb = tape.add(emb, delta)?;
        }
        if let Some(rng) = train_rng.as_deref_mut() {
            emb = dropout(tape, emb, self.config.embed_dropout, dtype, rng)?;
        }
        let rnn = if self.config.packed() {
            let packed = pack_padded_sequence(tape, emb, lengths, Layout::BatchFirst, Order::Any)?;
            let (packed_out, out) = self.rnn.forward_packed(
                tape,
                store,
                &packed,
                None,
                None,
                train_rng.as_deref_mut(),
            )?;
            RnnOut::Packed(packed_out, out.h_n)
        } else {
            let out = self
                .rnn
                .forward(tape, store, emb, None, None, train_rng.as_deref_mut())?;
            RnnOut::Padded(out.output, out.h_n)
        };
        let recurrent = self.head(tape, store, rnn, lengths, train_rng)?;
        self.with_bag(tape, store, recurrent, tokens, lengths)
    }

    /// `recurrent` and the n-gram bag's logits of the batch, where the model has a bag.
    fn with_bag<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        recurrent: Var,
        tokens: &[usize],
        lengths: &[usize],
    ) -> Result<Heads> {
        let bag = self
            .bag
            .as_ref()
            .map(|bag| bag.forward(tape, store, tokens, lengths))
            .transpose()?;
        Ok(Heads { recurrent, bag })
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
        let packed = self.config.packed();
        // a padded model runs every row over all T steps: a packed batch of full rows
        let (lens, order) = if packed {
            (lengths.to_vec(), Order::Any)
        } else {
            (vec![t; b], Order::Sorted)
        };
        let order = packed_order(&lens, b, t, Layout::BatchFirst, order)?;
        let ids: Vec<usize> = order.rows.iter().map(|&i| tokens[i]).collect();
        let like = store.get(self.embedding.weight)?;
        let projected: Vec<Var> = (0..table.dirs.len())
            .map(|d| Ok(tape.constant(table.gather(d, &ids, like)?)))
            .collect::<Result<_>>()?;
        let seq = PackedSequence::new(tape, projected[0], order.batch_sizes, order.sorted_indices)?;
        let (packed_out, out) = self.rnn.forward_projected(tape, store, &seq, &projected)?;
        let rnn = if packed {
            RnnOut::Packed(packed_out, out.h_n)
        } else {
            // rows in time-major order [T·B, W] → [B, T, W]
            let w = tape.shape(out.output)?[1];
            let steps = tape.reshape(out.output, &[t, b, w])?;
            RnnOut::Padded(tape.transpose01(steps)?, out.h_n)
        };
        let recurrent = self.head(tape, store, rnn, lengths, None)?;
        let heads = self.with_bag(tape, store, recurrent, tokens, lengths)?;
        self.mix(tape, store, heads)
    }

    /// The first layer's input projection of every vocabulary row (see
    /// [`Classifier::forward_tabled`]); [`Classifier::input_table_bytes`] says its size.
    pub fn input_table<B: Backend>(&self, store: &ParamStore<B>) -> Result<InputTable<B>> {
        let emb = store.get(self.embedding.weight)?;
        Ok(InputTable {
            dirs: self
                .rnn
                .input_table(store, emb)?
                .into_iter()
                .map(TableRows::Exact)
                .collect(),
        })
    }

    /// The bytes [`Classifier::input_table`] takes: `V · D · G·H` values of `bytes_per`.
    pub fn input_table_bytes(&self, bytes_per: usize) -> usize {
        let r = self.rnn.config.clone();
        self.config.vocab_size * r.directions() * r.kind.gates() * r.hidden_size * bytes_per
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

    /// Pooling, dropout (training) and the output layer over the recurrent layers' result.
    fn head<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        rnn: RnnOut,
        lengths: &[usize],
        train_rng: Option<&mut Rng>,
    ) -> Result<Var> {
        let dtype = store.dtype();
        let pooling = self.config.pooling();
        let (output, h_n) = match rnn {
            RnnOut::Padded(output, h_n) => (Some(output), h_n),
            // padded back with the pooling's neutral value (0 for sums, −∞ for the
            // maximum), so that pooling over all steps is pooling over each row's own
            RnnOut::Packed(packed_out, h_n) => {
                let fill = if pooling == Pooling::Max {
                    f64::NEG_INFINITY
                } else {
                    0.0
                };
                let output = (pooling != Pooling::Last)
                    .then(|| pad_packed_sequence(tape, &packed_out, Layout::BatchFirst, fill, None))
                    .transpose()?
                    .map(|(o, _)| o);
                (output, h_n)
            }
        };
        let lens = self.config.packed().then_some(lengths);
        let features = match (pooling, output, lens) {
            (Pooling::Mean, Some(output), Some(lens)) => {
                pooling::mean_zero_padded(tape, output, lens)?
            }
            (Pooling::Mean, Some(output), None) => pooling::mean(tape, output, None)?,
            (Pooling::Max, Some(output), _) => pooling::max(tape, output, None)?,
            (Pooling::Attention, Some(output), _) => {
                let attn = self.attn.as_ref().ok_or_else(|| {
                    LayerError::Config("attention pooling without attn parameters".into())
                })?;
                pooling::attention(tape, store, attn, output, lens)?
            }
            _ => pooling::last_state(tape, h_n, &self.rnn.config)?,
        };
        let features = match train_rng {
            Some(rng) => dropout(tape, features, self.config.fc_dropout, dtype, rng)?,
            None => features,
        };
        self.fc.forward(tape, store, features)
    }
}
