//! One recurrent part of a classifier ([`Member`]): embedding → (dropout) → recurrent
//! layers (packed or padded) → pooling (last state, mean, max, attention) → (dropout) →
//! output layer, its parameters named under its member prefix. A
//! [`Classifier`](crate::Classifier) averages its members' logits.

use recur_autograd::{Tape, Var};
use recur_packed::{pack_padded_sequence, pad_packed_sequence, Layout, Order, PackedSequence};
use recur_tensor::Backend;

use crate::classifier_choices::{EmbedInit, Pooling};
use crate::classifier_config::ClassifierConfig;
use crate::{
    dropout, pooling, Bias, Embedding, EmbeddingConfig, LayerError, Linear, ParamStore, Recurrent,
    Result, Rng,
};

/// What the recurrent layers give the head.
pub(crate) enum RnnOut {
    /// Packed outputs and `h_n`.
    Packed(PackedSequence, Var),
    /// Padded outputs `[B, T, W]` and `h_n`.
    Padded(Var, Var),
}

/// One recurrent part of a classifier: embedding → (dropout) → recurrent layers → pooling
/// → (dropout) → output layer, its parameters named under its
/// [`member_prefix`](crate::member_prefix).
#[derive(Clone, Debug)]
pub struct Member {
    /// `embedding.weight [V, E]`.
    pub embedding: Embedding,
    /// `rnn.*`.
    pub rnn: Recurrent,
    /// `attn.weight [1, D·H_out]` (attention pooling only; no bias: softmax ignores it).
    pub attn: Option<Linear>,
    /// `fc.weight [K, D·H_out]`, `fc.bias [K]`.
    pub fc: Linear,
}

impl Member {
    /// Registers one member's parameters under `prefix` (embedding, rnn, attn (attention
    /// pooling only), fc — the lesson's order) and draws them.
    pub(crate) fn new<B: Backend>(
        store: &mut ParamStore<B>,
        config: &ClassifierConfig,
        prefix: &str,
        rng: &mut Rng,
    ) -> Result<Self> {
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
        let name = |part: &str| format!("{prefix}{part}");
        let mut embedding = Embedding::new(store, &name("embedding"), embedding_config, rng)?;
        embedding.frozen = config.freeze_embedding;
        let rnn = Recurrent::new(store, &name("rnn"), config.recurrent(), rng)?;
        let attn = match config.pooling() {
            Pooling::Attention => Some(Linear::new(
                store,
                &name("attn"),
                config.feature_dim(),
                1,
                Bias::Without,
                rng,
            )?),
            _ => None,
        };
        let fc = Linear::new(
            store,
            &name("fc"),
            config.feature_dim(),
            config.num_class,
            Bias::With,
            rng,
        )?;
        Ok(Member {
            embedding,
            rnn,
            attn,
            fc,
        })
    }

    /// This member's logits `[B, K]` of a checked padded batch `(tokens, lengths, B, T)`,
    /// with `delta [B, T, E]` added to its embedded tokens where given.
    pub(crate) fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        config: &ClassifierConfig,
        (tokens, lengths, b, t): (&[usize], &[usize], usize, usize),
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> Result<Var> {
        let mut train_rng = train_rng;
        let dtype = store.dtype();
        let mut emb = self.embedding.forward(tape, store, tokens, &[b, t])?;
        if let Some(delta) = delta {
            emb = tape.add(emb, delta)?;
        }
        if let Some(rng) = train_rng.as_deref_mut() {
            emb = dropout(tape, emb, config.embed_dropout, dtype, rng)?;
        }
        let rnn = if config.packed() {
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
        self.head(tape, store, config, rnn, lengths, train_rng)
    }

    /// Pooling, dropout (training) and the output layer over the recurrent layers' result.
    pub(crate) fn head<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        config: &ClassifierConfig,
        rnn: RnnOut,
        lengths: &[usize],
        train_rng: Option<&mut Rng>,
    ) -> Result<Var> {
        let dtype = store.dtype();
        let pooling = config.pooling();
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
        let lens = config.packed().then_some(lengths);
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
            Some(rng) => dropout(tape, features, config.fc_dropout, dtype, rng)?,
            None => features,
        };
        self.fc.forward(tape, store, features)
    }
}
