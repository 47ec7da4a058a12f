//! Classifier recipes with their defaults: [`ClassifyRecipe::new`] (a labelled file of your
//! own, trained as `recur train --train FILE` trains it with no other flag) and
//! [`ClassifyRecipe::strong`] (`--preset strong`: the text-classification recipe chosen
//! by validation on the training data only; docs/results.md has each ingredient's effect).
//! The command line's flags and presets are tested to give these same recipes.

use std::path::PathBuf;

use recur_data::{ReadSpec, Tokenizer, VocabOrder};
use recur_layers::{AdamConfig, ClassifierConfig, ModelKind, Pooling};
use recur_tensor::CellKind;

use crate::classify::recipe::ClassifyRecipe;
use crate::classify::scores::Metric;
use crate::classify::sizing::STRONG_MEMBERS;
use crate::classify::task::ClassifyConfig;
use crate::engine::config::TrainConfig;
use crate::optimizer::OptimizerConfig;
use crate::run::TextSpec;
use crate::schedule::ScheduleKind;
use crate::training::VocabPlan;
use crate::training::{
    ClassesFrom, ClassifyFiles, ClassifyTraining, Device, EmbeddingInit, SizeRule,
};

/// The strong recipe's word-pair buckets of its TF-IDF bag (2¹⁸: few collisions among the
/// pairs of tens of thousands of texts, a table of `(V + 2¹⁸ + 1) · K` values).
pub const STRONG_BAG_BUCKETS: usize = 1 << 18;

/// The strong recipe's buckets of its bag's character n-grams of words (2¹⁸: the 3–5-grams
/// of a vocabulary of tens of thousands of words, with few collisions).
pub const STRONG_CHAR_BUCKETS: usize = 1 << 18;

/// The strong recipe's adversarial move of each text's embedded tokens (L2 norm, Miyato et
/// al. 2017): each step also trains every member on its batch moved this far along the
/// loss's gradient.
pub const STRONG_ADVERSARIAL: f64 = 1.0;

impl ClassifyRecipe {
    /// The run of a labelled file `train` (CSV, TSV, JSONL or fastText, its format
    /// detected): the lesson's packed LSTM (E 64, H 32, last state), `basic_english` into a
    /// `pad-unk` vocabulary of every token, the first 2,000 tokens of a text kept, classes
    /// from the labels, Adam at 0.001 (exact lazy rows) in shuffled batches of 16, one
    /// epoch, seed 0, on the CPU; no validation or test file.
    pub fn new(train: PathBuf) -> ClassifyRecipe {
        ClassifyRecipe {
            model: ClassifierConfig::lesson(ModelKind::LstmPacked, 0),
            text: TextSpec {
                tokenizer: Tokenizer::default(),
                vocab_order: VocabOrder::PadUnk,
                max_tokens: Some(2000),
            },
            read: ReadSpec::default(),
            training: ClassifyTraining {
                files: ClassifyFiles {
                    train,
                    valid: None,
                    valid_fraction: None,
                    member_folds: false,
                    test: None,
                    classes: ClassesFrom::Labels,
                    skip_bad_rows: false,
                },
                vocab: VocabPlan::default(),
                embeddings: EmbeddingInit::Random,
                optimizer: OptimizerConfig::Adam(AdamConfig {
                    lazy_rows: true,
                    ..AdamConfig::default()
                }),
                batching: ClassifyConfig {
                    metric: Metric::Accuracy,
                    ..ClassifyConfig::new(16)
                },
                train: TrainConfig::epochs(1),
                seed: 0,
                device: Device::Cpu,
                size_rule: None,
            },
        }
    }

    /// The same with every random choice drawn from `seed` (initialisation, batch order,
    /// dropout, the validation split).
    pub fn with_seed(mut self, seed: u64) -> ClassifyRecipe {
        self.training.seed = seed;
        self.training.batching.seed = seed;
        self
    }

    /// The `strong` recipe over this one: a packed bidirectional GRU (E 64, H 64) with
    /// mean pooling, embedding dropout 0.2 and output dropout 0.5, beside a TF-IDF bag of
    /// words and word pairs ([`STRONG_BAG_BUCKETS`] pair buckets, [`STRONG_CHAR_BUCKETS`]
    /// for the words' character n-grams) mixed in by validation, [`STRONG_MEMBERS`] members
    /// of both averaged (each its own draw and batch order), each trained adversarially too
    /// ([`STRONG_ADVERSARIAL`]), skip-gram vectors of the
    /// training texts first (10 passes), words seen 3 times or more, Adam at 0.008 with a
    /// cosine schedule and clipping at 1.0, batches of 128, 3 epochs, and, when no validation
    /// file is given, a tenth of the training file held out for validation by each member, a
    /// tenth of its own (member folds). Those are the values for about 10,000 training rows:
    /// batch, rate, epochs, pruning, skip-gram passes and members follow the rows the run is
    /// given ([`SizeRule::ALL`]; set `training.size_rule` to `None` to keep them as they
    /// are).
    pub fn strong(mut self) -> ClassifyRecipe {
        let m = &mut self.model;
        m.cell_override = Some(CellKind::Gru);
        m.packed_override = Some(true);
        m.bidirectional = true;
        m.pooling_override = Some(Pooling::Mean);
        (m.embed_dim, m.hidden_dim) = (64, 64);
        (m.embed_dropout, m.fc_dropout) = (0.2, 0.5);
        m.ngram_buckets = STRONG_BAG_BUCKETS;
        m.char_buckets = STRONG_CHAR_BUCKETS;
        m.members = STRONG_MEMBERS;
        let t = &mut self.training;
        t.vocab.min_freq = 3;
        t.optimizer = OptimizerConfig::Adam(AdamConfig {
            lr: 0.008,
            lazy_rows: true,
            ..AdamConfig::default()
        });
        t.train.schedule.kind = ScheduleKind::Cosine;
        t.train.clip_grad_norm = Some(1.0);
        t.train.epochs = 3;
        if matches!(t.embeddings, EmbeddingInit::Random) {
            t.embeddings = EmbeddingInit::SkipGram { epochs: 10 };
        }
        t.batching.batch_size = 128;
        t.batching.eval_batch_size = 128;
        t.batching.adversarial = STRONG_ADVERSARIAL;
        if t.files.valid.is_none() {
            t.files.valid_fraction.get_or_insert(0.1);
            t.files.member_folds = true;
        }
        t.size_rule = Some(SizeRule::ALL);
        self
    }
}
