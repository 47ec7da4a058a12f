//! The named choices of a classifier's configuration: the lesson model it starts from
//! ([`ModelKind`]), how its recurrent outputs are pooled ([`Pooling`]) and how its
//! embedding is drawn ([`EmbedInit`]).

use serde::{Deserialize, Serialize};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The last layer's `h_n` (both directions concatenated when bidirectional): each row's
    /// state at its last token when packed, after the padding steps when padded.
    Last,
    /// Mean of the output over time: over each row's own steps when packed; over all `T`
    /// steps, padding included, when padded (the lesson's RNN).
    Mean,
    /// Element-wise maximum of the output over time, over the same steps as `Mean`.
    Max,
    /// Attention: `α = softmax_t(attn(out_t))` over the same steps as `Mean`, then
    /// `Σ_t α_t · out_t`; `attn` is a `Linear(D·H_out, 1)` without bias (a softmax is
    /// blind to a constant shift).
    Attention,
}

impl Pooling {
    /// Name on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Last => "last",
            Pooling::Mean => "mean",
            Pooling::Max => "max",
            Pooling::Attention => "attention",
        }
    }
}

impl std::str::FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            Pooling::Last,
            Pooling::Mean,
            Pooling::Max,
            Pooling::Attention,
        ]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| format!("unknown pooling {s:?}: expected last, mean, max or attention"))
    }
}

/// How the embedding table is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbedInit {
    /// `N(0, 1)` (PyTorch's default).
    Normal,
    /// `N(0, 1) − 0.5` (the lesson's LSTM models).
    NormalMinusHalf,
}
