//! A classifier's options ([`ClassifierConfig`]): the lesson model it starts from
//! ([`ModelKind`]), embedding size and initialisation, recurrent cell and shape, pooling,
//! dropout, the bag and the members; the lesson's four models are presets of them.

use recur_tensor::CellKind;
use serde::{Deserialize, Serialize};

use crate::classifier_choices::{EmbedInit, ModelKind, Pooling};
use crate::{LayerError, RecurrentConfig, Result};

/// Everything needed to rebuild a classifier (saved as `config.json` in a run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The cell, instead of the model's (`None`: the model's).
    #[serde(default, rename = "cell", skip_serializing_if = "Option::is_none")]
    pub cell_override: Option<CellKind>,
    /// Packed or padded input, instead of the model's.
    #[serde(default, rename = "packed", skip_serializing_if = "Option::is_none")]
    pub packed_override: Option<bool>,
    /// The pooling, instead of the model's.
    #[serde(default, rename = "pooling", skip_serializing_if = "Option::is_none")]
    pub pooling_override: Option<Pooling>,
    /// Dropout on the embedded tokens (training only).
    #[serde(default)]
    pub embed_dropout: f64,
    /// Dropout on the pooled features before the classifier (training only).
    #[serde(default)]
    pub fc_dropout: f64,
    /// The embedding table is fixed (pretrained vectors kept as they are).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub freeze_embedding: bool,
    /// The embedding's initialisation, instead of the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_init_override: Option<EmbedInit>,
    /// Hash buckets of the word pairs of a TF-IDF bag of words and word pairs, a second head
    /// mixed into the logits ([`NgramBag`](crate::NgramBag)); 0: no bag.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ngram_buckets: usize,
    /// Hash buckets of the bag's character n-grams of words
    /// ([`WordGrams`](crate::WordGrams)); 0: none. Needs the bag (`ngram_buckets > 0`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub char_buckets: usize,
    /// Recurrent members `M`: copies of the embedding → recurrent → pooling → output part,
    /// each drawn apart and trained on its own loss, whose logits are averaged (an ensemble
    /// in one model; the bag, where there is one, is shared). 1: the one part.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// The most recurrent members a classifier may have.
pub const MAX_MEMBERS: usize = 16;

/// The parameter-name prefix of recurrent member `i`: none for the first (the lesson's
/// names, `embedding.weight`), `members.{i}.` for the others (`members.1.rnn.weight_ih_l0`,
/// PyTorch's `ModuleList` form).
pub fn member_prefix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("members.{i}.")
    }
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
            cell_override: None,
            packed_override: None,
            pooling_override: None,
            embed_dropout: 0.0,
            fc_dropout: 0.0,
            freeze_embedding: false,
            embed_init_override: None,
            ngram_buckets: 0,
            char_buckets: 0,
            members: 1,
        }
    }

    /// A classifier of `num_class` classes over a vocabulary of `vocab_size` with PyTorch's
    /// defaults rather than the lesson's: a packed one-layer LSTM (E 64, H 32) whose last
    /// state feeds the output layer, `N(0, 1)` embeddings. Change it with the `with_*`
    /// methods (`ClassifierConfig::new(v, 2).with_cell(CellKind::Gru).with_bidirectional()`).
    pub fn new(vocab_size: usize, num_class: usize) -> Self {
        ClassifierConfig {
            num_class,
            cell_override: Some(CellKind::Lstm),
            packed_override: Some(true),
            pooling_override: Some(Pooling::Last),
            embed_init_override: Some(EmbedInit::Normal),
            ..ClassifierConfig::lesson(ModelKind::LstmPacked, vocab_size)
        }
    }

    /// The same with recurrent cell `cell`.
    pub fn with_cell(self, cell: CellKind) -> Self {
        ClassifierConfig {
            cell_override: Some(cell),
            ..self
        }
    }

    /// The same with packed (`true`: no work on padding) or padded input.
    pub fn with_packed(self, packed: bool) -> Self {
        ClassifierConfig {
            packed_override: Some(packed),
            ..self
        }
    }

    /// The same with pooling `pooling`.
    pub fn with_pooling(self, pooling: Pooling) -> Self {
        ClassifierConfig {
            pooling_override: Some(pooling),
            ..self
        }
    }

    /// The same with embedding width `embed_dim` and hidden size `hidden_dim`.
    pub fn with_sizes(self, embed_dim: usize, hidden_dim: usize) -> Self {
        ClassifierConfig {
            embed_dim,
            hidden_dim,
            ..self
        }
    }

    /// The same with `num_layers` stacked recurrent layers and `dropout` between them.
    pub fn with_layers(self, num_layers: usize, dropout: f64) -> Self {
        ClassifierConfig {
            num_layers,
            dropout,
            ..self
        }
    }

    /// The same, bidirectional.
    pub fn with_bidirectional(self) -> Self {
        ClassifierConfig {
            bidirectional: true,
            ..self
        }
    }

    /// The same with `members` recurrent members, their logits averaged.
    pub fn with_members(self, members: usize) -> Self {
        ClassifierConfig { members, ..self }
    }

    /// The same with padding row `padding_idx` (zero, never updated).
    pub fn with_padding_idx(self, padding_idx: usize) -> Self {
        ClassifierConfig {
            padding_idx: Some(padding_idx),
            ..self
        }
    }

    /// The recurrent cell (the override, else the model's).
    pub fn cell(&self) -> CellKind {
        self.cell_override.unwrap_or(match self.model {
            ModelKind::Rnn => CellKind::RnnTanh,
            ModelKind::Lstm | ModelKind::LstmPacked => CellKind::Lstm,
            ModelKind::Gru => CellKind::Gru,
        })
    }

    /// Whether the batch is packed with its lengths (the override, else the model's).
    pub fn packed(&self) -> bool {
        self.packed_override
            .unwrap_or(self.model == ModelKind::LstmPacked)
    }

    /// The pooling (the override, else the model's).
    pub fn pooling(&self) -> Pooling {
        self.pooling_override
            .unwrap_or(if self.model == ModelKind::Rnn {
                Pooling::Mean
            } else {
                Pooling::Last
            })
    }

    /// Every parameter `Classifier::new` registers, with its shape, in PyTorch's order:
    /// `embedding.weight [V, E]`, the recurrent layers' `rnn.*`, `attn.weight [1, D·H_out]`
    /// with attention pooling, `fc.weight [K, D·H_out]`, `fc.bias [K]`, then
    /// `bag.weight [V + N + C + 1, K]`, `bag.idf [V + N + C + 1, 1]` and `bag.mix [1]` with
    /// `N` pair buckets and `C` character buckets, then the same part as the first for each
    /// further member `i` under `members.{i}.` ([`member_prefix`]), with its own
    /// `members.{i}.bag.weight` where there is a bag. Computed without allocating the
    /// parameters.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = self.member_shapes(0);
        let bag_rows = (self.ngram_buckets > 0).then(|| {
            self.vocab_size
                .saturating_add(self.ngram_buckets)
                .saturating_add(self.char_buckets)
                .saturating_add(1)
        });
        if let Some(rows) = bag_rows {
            out.push(("bag.weight".into(), vec![rows, self.num_class]));
            out.push(("bag.idf".into(), vec![rows, 1]));
            out.push(("bag.mix".into(), vec![1]));
        }
        // a count over the limit is refused by `validate`; the shapes stop at it
        for i in 1..self.members.min(MAX_MEMBERS) {
            out.extend(self.member_shapes(i));
            if let Some(rows) = bag_rows {
                let name = format!("{}bag.weight", member_prefix(i));
                out.push((name, vec![rows, self.num_class]));
            }
        }
        out
    }

    /// The parameters of recurrent member `i`, named under its [`member_prefix`].
    fn member_shapes(&self, i: usize) -> Vec<(String, Vec<usize>)> {
        let p = member_prefix(i);
        let features = self.feature_dim();
        let mut out = vec![(
            format!("{p}embedding.weight"),
            vec![self.vocab_size, self.embed_dim],
        )];
        out.extend(self.recurrent().param_shapes(&format!("{p}rnn")));
        if self.pooling() == Pooling::Attention {
            out.push((format!("{p}attn.weight"), vec![1, features]));
        }
        out.push((format!("{p}fc.weight"), vec![self.num_class, features]));
        out.push((format!("{p}fc.bias"), vec![self.num_class]));
        out
    }

    /// Checks the options that are not the recurrent layer's, and the model's size
    /// ([`crate::MAX_PARAMS`]).
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 || self.num_class == 0 || self.embed_dim == 0 {
            return Err(LayerError::Config(format!(
                "vocab_size ({}), embed_dim ({}) and num_class ({}) must be positive",
                self.vocab_size, self.embed_dim, self.num_class
            )));
        }
        if self.num_layers > crate::MAX_LAYERS {
            return Err(LayerError::Config(format!(
                "num_layers is {}, over the limit of {}",
                self.num_layers,
                crate::MAX_LAYERS
            )));
        }
        if self.members == 0 || self.members > MAX_MEMBERS {
            return Err(LayerError::Config(format!(
                "members is {}: a classifier has 1 to {MAX_MEMBERS} recurrent members",
                self.members
            )));
        }
        if self.char_buckets > 0 && self.ngram_buckets == 0 {
            return Err(LayerError::Config(format!(
                "char_buckets is {} but the model has no bag (ngram_buckets 0): the character \
                 n-grams are the bag's features",
                self.char_buckets
            )));
        }
        crate::check_param_count("classifier", &self.param_shapes())?;
        for (name, p) in [
            ("embed_dropout", self.embed_dropout),
            ("fc_dropout", self.fc_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(LayerError::Config(format!(
                    "{name} must be in [0, 1), found {p}"
                )));
            }
        }
        Ok(())
    }

    /// The embedding init (the override, else the model's).
    pub fn embed_init(&self) -> EmbedInit {
        if let Some(init) = self.embed_init_override {
            return init;
        }
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
        r.directions().saturating_mul(r.out_size())
    }
}
