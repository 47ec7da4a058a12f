//! The lesson's text classifiers: embedding → recurrent layer → pooling → linear, with
//! PyTorch `state_dict` names (`embedding.weight`, `rnn.weight_ih_l0`, `fc.weight`).

use recur_autograd::{Tape, Var};
use recur_packed::pack_padded_sequence;
use recur_tensor::{Backend, CellKind};
use serde::{Deserialize, Serialize};

use crate::{Embedding, LayerError, Linear, ParamStore, Recurrent, RecurrentConfig, Result, Rng};

/// Which lesson model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// RNNClassifier: tanh RNN on the padded batch, mean of the output over all T steps.
    Rnn,
    /// LSTMClassifier: LSTM on the padded batch, final hidden state of the last layer.
    Lstm,
    /// LSTMPackClassifier: LSTM on the packed batch, each row's state at its last token.
    LstmPacked,
    /// GRU on the padded batch, final hidden state of the last layer.
    Gru,
}

impl ModelKind {
    /// Name used on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Rnn => "rnn",
            ModelKind::Lstm => "lstm",
            ModelKind::LstmPacked => "lstm-packed",
            ModelKind::Gru => "gru",
        }
    }
}

/// How the recurrent output becomes one feature vector per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the output over the time axis, padded steps included (as the lesson).
    Mean,
    /// The last layer's `h_n` (both directions concatenated when bidirectional).
    Last,
}

/// How the embedding table is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedInit {
    /// `N(0, 1)` (PyTorch's default).
    Normal,
    /// `N(0, 1) − 0.5` (the lesson's LSTM models).
    NormalMinusHalf,
}

/// Everything needed to rebuild a classifier (saved as `config.json` in a run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// The model.
    pub model: ModelKind,
    /// Embedding rows `V`.
    pub vocab_size: usize,
    /// Embedding width `E`.
    pub embed_dim: usize,
    /// Recurrent hidden size `H`.
    pub hidden_dim: usize,
    /// Output classes `K`.
    pub num_class: usize,
    /// Stacked recurrent layers.
    #[serde(default = "one")]
    pub num_layers: usize,
    /// Bidirectional recurrent layer.
    #[serde(default)]
    pub bidirectional: bool,
    /// Dropout between recurrent layers (training only).
    #[serde(default)]
    pub dropout: f64,
    /// LSTM projection size (0 = none).
    #[serde(default)]
    pub proj_size: usize,
    /// Embedding row that padding uses: zero, and never updated (`nn.Embedding`'s
    /// `padding_idx`); `None` for the lesson's models, which pad with id 0 unreserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_idx: Option<usize>,
}

fn one() -> usize {
    1
}

impl ClassifierConfig {
    /// The lesson's defaults for `model` (embed 64, hidden 32, 4 classes, one layer).
    pub fn lesson(model: ModelKind, vocab_size: usize) -> Self {
        ClassifierConfig {
            model,
            vocab_size,
            embed_dim: 64,
            hidden_dim: 32,
            num_class: 4,
            num_layers: 1,
            bidirectional: false,
            dropout: 0.0,
            proj_size: 0,
            padding_idx: None,
        }
    }

    /// The recurrent cell.
    pub fn cell(&self) -> CellKind {
        match self.model {
            ModelKind::Rnn => CellKind::RnnTanh,
            ModelKind::Lstm | ModelKind::LstmPacked => CellKind::Lstm,
            ModelKind::Gru => CellKind::Gru,
        }
    }

    /// Whether the batch is packed with its lengths.
    pub fn packed(&self) -> bool {
        self.model == ModelKind::LstmPacked
    }

    /// The pooling.
    pub fn pooling(&self) -> Pooling {
        if self.model == ModelKind::Rnn {
            Pooling::Mean
        } else {
            Pooling::Last
        }
    }

    /// The embedding init.
    pub fn embed_init(&self) -> EmbedInit {
        match self.model {
            ModelKind::Lstm | ModelKind::LstmPacked => EmbedInit::NormalMinusHalf,
            ModelKind::Rnn | ModelKind::Gru => EmbedInit::Normal,
        }
    }

    /// The recurrent layer's options (batch_first).
    pub fn recurrent(&self) -> RecurrentConfig {
        RecurrentConfig {
            kind: self.cell(),
            input_size: self.embed_dim,
            hidden_size: self.hidden_dim,
            num_layers: self.num_layers,
            bias: true,
            batch_first: true,
            dropout: self.dropout,
            bidirectional: self.bidirectional,
            proj_size: self.proj_size,
        }
    }

    /// Width of the pooled feature vector (`D · H_out`).
    pub fn feature_dim(&self) -> usize {
        let r = self.recurrent();
        r.directions() * r.out_size()
    }
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
    /// `fc.weight [K, D·H_out]`, `fc.bias [K]`.
    pub fc: Linear,
}

impl Classifier {
    /// Registers the parameters (embedding, rnn, fc — the lesson's order) and draws them.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        config: ClassifierConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        if config.vocab_size == 0 || config.num_class == 0 || config.embed_dim == 0 {
            return Err(LayerError::Config(format!(
                "vocab_size ({}), embed_dim ({}) and num_class ({}) must be positive",
                config.vocab_size, config.embed_dim, config.num_class
            )));
        }
        let shift = match config.embed_init() {
            EmbedInit::Normal => 0.0,
            EmbedInit::NormalMinusHalf => -0.5,
        };
        let embedding = Embedding::new(
            store,
            "embedding",
            config.vocab_size,
            config.embed_dim,
            config.padding_idx,
            shift,
            rng,
        )?;
        let rnn = Recurrent::new(store, "rnn", config.recurrent(), rng)?;
        let fc = Linear::new(
            store,
            "fc",
            config.feature_dim(),
            config.num_class,
            true,
            rng,
        )?;
        Ok(Classifier {
            config,
            embedding,
            rnn,
            fc,
        })
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
        let b = lengths.len();
        if b == 0 || !tokens.len().is_multiple_of(b) || tokens.is_empty() {
            return Err(LayerError::Shape {
                layer: "classifier".into(),
                detail: format!("{} tokens do not form a [B={b}, T] batch", tokens.len()),
            });
        }
        let t = tokens.len() / b;
        if let Some(&bad) = tokens.iter().find(|&&id| id >= self.config.vocab_size) {
            return Err(LayerError::Shape {
                layer: "embedding".into(),
                detail: format!(
                    "token id {bad} is out of range for a vocabulary of {}",
                    self.config.vocab_size
                ),
            });
        }
        let emb = self.embedding.forward(tape, store, tokens, &[b, t])?;
        let out = if self.config.packed() {
            let packed = pack_padded_sequence(tape, emb, lengths, true, false)?;
            self.rnn
                .forward_packed(tape, store, &packed, None, None, train_rng)?
                .1
        } else {
            self.rnn.forward(tape, store, emb, None, None, train_rng)?
        };
        let features = match self.config.pooling() {
            Pooling::Mean => tape.mean_axis(out.output, 1)?,
            Pooling::Last => {
                let r = self.rnn.config.clone();
                let (d, p) = (r.directions(), r.out_size());
                let last = tape.narrow(out.h_n, 0, (r.num_layers - 1) * d, d)?;
                let last = if d == 1 {
                    last
                } else {
                    tape.transpose01(last)?
                };
                tape.reshape(last, &[b, d * p])?
            }
        };
        self.fc.forward(tape, store, features)
    }
}
