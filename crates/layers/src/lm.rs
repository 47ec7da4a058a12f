//! A recurrent language model, as PyTorch's `examples/word_language_model` (`RNNModel`):
//! Embedding → dropout → multi-layer RNN/LSTM/GRU → dropout → Linear decoder over the
//! vocabulary, the decoder optionally tied to the embedding (`--tied`, E = H). The hidden
//! state is carried from one BPTT window to the next as plain values (detached).

use recur_autograd::{Tape, Var};
use recur_tensor::{Backend, CellKind, Tensor};
use serde::{Deserialize, Serialize};

use crate::{
    dropout, Embedding, LayerError, ParamId, ParamStore, Recurrent, RecurrentConfig, Result, Rng,
};

/// Everything needed to rebuild a language model (saved in a run's `config.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmConfig {
    /// Vocabulary size `V` (the decoder's outputs).
    pub vocab_size: usize,
    /// Embedding width `E`.
    pub embed_dim: usize,
    /// Hidden size `H` of every layer.
    pub hidden_dim: usize,
    /// Stacked recurrent layers.
    pub num_layers: usize,
    /// The recurrent cell.
    pub cell: CellKind,
    /// Dropout on the embeddings, between layers and on the outputs (training only).
    pub dropout: f64,
    /// The decoder's weight is the embedding table (needs `E = H`).
    pub tied: bool,
}

impl LmConfig {
    /// Refuses options that cannot work, naming them.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 || self.embed_dim == 0 || self.hidden_dim == 0 {
            return Err(LayerError::Config(format!(
                "vocab_size ({}), embed_dim ({}) and hidden_dim ({}) must be positive",
                self.vocab_size, self.embed_dim, self.hidden_dim
            )));
        }
        if self.tied && self.embed_dim != self.hidden_dim {
            return Err(LayerError::Config(format!(
                "tied weights need the embedding width to equal the hidden size (embed_dim {} \
                 vs hidden_dim {}): the decoder's weight is the embedding table",
                self.embed_dim, self.hidden_dim
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(LayerError::Config(format!(
                "dropout must be in [0, 1), found {}",
                self.dropout
            )));
        }
        if self.num_layers > crate::MAX_LAYERS {
            return Err(LayerError::Config(format!(
                "num_layers is {}, over the limit of {}",
                self.num_layers,
                crate::MAX_LAYERS
            )));
        }
        crate::check_param_count("language model", &self.param_shapes())
    }

    /// Every parameter `LanguageModel::new` registers, with its shape, in PyTorch's order:
    /// `encoder.weight [V, E]`, `rnn.*`, `decoder.weight [V, H]` (not when tied),
    /// `decoder.bias [V]`. Computed without allocating.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = vec![(
            "encoder.weight".to_string(),
            vec![self.vocab_size, self.embed_dim],
        )];
        out.extend(self.recurrent().param_shapes("rnn"));
        if !self.tied {
            out.push((
                "decoder.weight".into(),
                vec![self.vocab_size, self.hidden_dim],
            ));
        }
        out.push(("decoder.bias".into(), vec![self.vocab_size]));
        out
    }

    /// The recurrent stack's config (time-major, one direction, no projection).
    pub fn recurrent(&self) -> RecurrentConfig {
        RecurrentConfig {
            kind: self.cell,
            input_size: self.embed_dim,
            hidden_size: self.hidden_dim,
            num_layers: self.num_layers,
            bias: true,
            batch_first: false,
            dropout: self.dropout,
            bidirectional: false,
            proj_size: 0,
        }
    }
}

/// The recurrent state between windows: `h [L, B, H]` and, for LSTM, `c [L, B, H]`.
#[derive(Clone, Debug)]
pub struct LmState<B: Backend> {
    /// Hidden states of every layer.
    pub h: Tensor<B>,
    /// Cell states of every layer (LSTM).
    pub c: Option<Tensor<B>>,
}

/// A word- or character-level language model with PyTorch's parameter names:
/// `encoder.weight [V, E]`, `rnn.*`, `decoder.weight [V, H]` (absent when tied),
/// `decoder.bias [V]`.
#[derive(Clone, Debug)]
pub struct LanguageModel {
    /// Its configuration.
    pub config: LmConfig,
    /// `encoder.weight`.
    pub encoder: Embedding,
    /// `rnn.*`.
    pub rnn: Recurrent,
    /// `decoder.weight`, or `encoder.weight` when tied.
    pub decoder_weight: ParamId,
    /// `decoder.bias`.
    pub decoder_bias: ParamId,
}

impl LanguageModel {
    /// Registers the parameters in PyTorch's order and draws them as the example's
    /// `init_weights`: embedding and decoder weight `U(−0.1, 0.1)`, decoder bias 0, the
    /// recurrent layers PyTorch's default `U(−1/√H, 1/√H)`.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        config: LmConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        config.validate()?;
        let (v, e, h) = (config.vocab_size, config.embed_dim, config.hidden_dim);
        let weight = store.add_uniform("encoder.weight", &[v, e], 0.1, rng)?;
        let encoder = Embedding {
            name: "encoder".into(),
            weight,
            num_embeddings: v,
            dim: e,
            padding_idx: None,
            frozen: false,
        };
        let rnn = Recurrent::new(store, "rnn", config.recurrent(), rng)?;
        let decoder_weight = if config.tied {
            weight
        } else {
            store.add_uniform("decoder.weight", &[v, h], 0.1, rng)?
        };
        let decoder_bias = store.add_f64("decoder.bias", &[v], &vec![0.0; v])?;
        Ok(LanguageModel {
            config,
            encoder,
            rnn,
            decoder_weight,
            decoder_bias,
        })
    }

    /// A zero state for `batch` streams.
    pub fn zero_state<B: Backend>(
        &self,
        store: &ParamStore<B>,
        batch: usize,
    ) -> Result<LmState<B>> {
        let shape = [self.config.num_layers, batch, self.config.hidden_dim];
        let zeros = || Tensor::zeros(store.backend(), &shape, store.dtype());
        Ok(LmState {
            h: zeros()?,
            c: (self.config.cell == CellKind::Lstm)
                .then(zeros)
                .transpose()?,
        })
    }

    /// Logits `[T·B, V]` (row `t·B + b`: the next token after `tokens[t][b]`) of the
    /// time-major window `tokens [T, B]`, from `state` (zeros when `None`), and the state
    /// after the window, detached. `train_rng` enables dropout.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        tokens: &[usize],
        batch: usize,
        state: Option<&LmState<B>>,
        train_rng: Option<&mut Rng>,
    ) -> Result<(Var, LmState<B>)> {
        if batch == 0 || tokens.is_empty() || !tokens.len().is_multiple_of(batch) {
            return Err(LayerError::Shape {
                layer: "language model".into(),
                detail: format!(
                    "{} tokens do not form a [T, B={batch}] window",
                    tokens.len()
                ),
            });
        }
        let t = tokens.len() / batch;
        let mut train_rng = train_rng;
        let dtype = store.dtype();
        let mut emb = self.encoder.forward(tape, store, tokens, &[t, batch])?;
        if let Some(rng) = train_rng.as_deref_mut() {
            emb = dropout(tape, emb, self.config.dropout, dtype, rng)?;
        }
        let (h0, c0) = match state {
            Some(s) => (
                Some(tape.constant(s.h.clone())),
                s.c.as_ref().map(|c| tape.constant(c.clone())),
            ),
            None => (None, None),
        };
        let out = self
            .rnn
            .forward(tape, store, emb, h0, c0, train_rng.as_deref_mut())?;
        let mut output = tape.reshape(out.output, &[t * batch, self.config.hidden_dim])?;
        if let Some(rng) = train_rng {
            output = dropout(tape, output, self.config.dropout, dtype, rng)?;
        }
        let w = store.var_of(tape, self.decoder_weight, "decoder")?;
        let b = store.var_of(tape, self.decoder_bias, "decoder")?;
        let logits = tape.linear(output, w, Some(b))?;
        let next = LmState {
            h: tape.value(out.h_n)?,
            c: out.c_n.map(|c| tape.value(c)).transpose()?,
        };
        Ok((logits, next))
    }
}
