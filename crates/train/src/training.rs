//! How a run was trained, as `config.json`'s `training` block records it (typed, in the
//! library's names): the files, the vocabulary plan, the embedding's start, the optimizer,
//! batching, the loop's settings, the seed and the device. `--resume` rebuilds the run
//! from it and needs nothing else.

use std::path::PathBuf;

use recur_data::OovInit;
use serde::{Deserialize, Serialize};

use crate::classify::task::ClassifyConfig;
use crate::engine::config::TrainConfig;
use crate::optimizer::OptimizerConfig;

/// Where a run computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The CPU backend.
    #[default]
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

impl Device {
    /// Its name (`cpu`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

/// How the vocabulary is built from the training texts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabPlan {
    /// Tokens seen fewer times are left out.
    pub min_freq: usize,
    /// At most this many tokens (the most frequent) besides the specials.
    #[serde(default)]
    pub max_size: Option<usize>,
    /// Pad the vocabulary with unused tokens up to this size (benchmarks the cost of a
    /// full-size embedding).
    #[serde(default)]
    pub pad_to: Option<usize>,
}

impl Default for VocabPlan {
    /// Every token seen once or more.
    fn default() -> Self {
        VocabPlan {
            min_freq: 1,
            max_size: None,
            pad_to: None,
        }
    }
}

/// Where a classifier's class names come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClassesFrom {
    /// Inferred from the training labels (integers, or names sorted).
    #[default]
    Labels,
    /// These names in class order (string labels in this order, or the names of integer
    /// classes).
    Names {
        /// The names.
        names: Vec<String>,
    },
    /// AG News's four integer classes from 1 (World, Sports, Business, Sci/Tech).
    AgNews,
}

/// The files of a classifier run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyFiles {
    /// The training file.
    pub train: PathBuf,
    /// A validation file.
    #[serde(default)]
    pub valid: Option<PathBuf>,
    /// Or this fraction of the training file held out for validation (stratified, drawn
    /// from the seed).
    #[serde(default)]
    pub valid_fraction: Option<f64>,
    /// With `valid_fraction` and two or more recurrent members: each member holds out a
    /// fold of its own (that fraction of every class, the folds disjoint while they fit),
    /// validates on it and trains on the rest, so that the members together learn from
    /// every row; the vocabulary, IDF and skip-gram vectors come from every training text.
    /// A validation file, where given, validates every member instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub member_folds: bool,
    /// A test file, evaluated after every epoch for reporting only.
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// Where the class names come from.
    #[serde(default)]
    pub classes: ClassesFrom,
    /// Malformed rows and rows with an unknown label are skipped (and counted) instead of
    /// failing.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

/// How a classifier's embedding table starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmbeddingInit {
    /// Drawn at random (the model's initialisation).
    #[default]
    Random,
    /// Pretrained vectors from a file (GloVe, word2vec text or binary, fastText `.vec`,
    /// optionally gzipped).
    Vectors {
        /// The file.
        path: PathBuf,
        /// How words without a vector start.
        oov: OovInit,
    },
    /// Skip-gram vectors trained first on the training texts alone (word2vec's SGNS,
    /// seeded).
    SkipGram {
        /// Passes over the texts.
        epochs: usize,
    },
    /// The embedding and recurrent layers of a language-model run (its vocabulary and
    /// tokenizer too).
    Encoder {
        /// The language-model run folder.
        run: PathBuf,
    },
}

/// Which of the strong recipe's settings follow the number of training rows (`true`) and
/// which were given and stay as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeRule {
    /// The batch size (and the evaluation batch with it).
    pub batch_size: bool,
    /// Adam's rate.
    pub lr: bool,
    /// The epochs.
    pub epochs: bool,
    /// The vocabulary's minimum count.
    pub min_freq: bool,
    /// Passes of the skip-gram vectors.
    pub skipgram_epochs: bool,
    /// The validation metric that keeps the best epoch.
    #[serde(default)]
    pub metric: bool,
    /// The recurrent members averaged.
    #[serde(default)]
    pub members: bool,
}

impl SizeRule {
    /// Every setting follows the rows.
    pub const ALL: SizeRule = SizeRule {
        batch_size: true,
        lr: true,
        epochs: true,
        min_freq: true,
        skipgram_epochs: true,
        metric: true,
        members: true,
    };
}

/// How a classifier run was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyTraining {
    /// Its files.
    pub files: ClassifyFiles,
    /// Its vocabulary plan.
    pub vocab: VocabPlan,
    /// How the embedding starts.
    #[serde(default)]
    pub embeddings: EmbeddingInit,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Batching and the validation metric.
    pub batching: ClassifyConfig,
    /// The loop's settings.
    pub train: TrainConfig,
    /// Seed of every random choice (initialisation, batch order, dropout, the split).
    pub seed: u64,
    /// Where it computes.
    #[serde(default)]
    pub device: Device,
    /// Settings still to be set from the number of training rows once the data is read
    /// (the strong recipe's; a saved run records the values used, and no rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rule: Option<SizeRule>,
}

/// The files of a language-model run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmFiles {
    /// The training texts.
    pub train: PathBuf,
    /// Validation texts (they choose the best epoch and lower the rate when they stall).
    #[serde(default)]
    pub valid: Option<PathBuf>,
    /// Malformed rows of a labelled file are skipped instead of failing.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

/// How a language-model run was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmTraining {
    /// Its files.
    pub files: LmFiles,
    /// Its vocabulary plan.
    pub vocab: VocabPlan,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Parallel training streams `B`.
    pub streams: usize,
    /// Parallel evaluation streams.
    pub eval_streams: usize,
    /// Steps per window of backpropagation through time.
    pub bptt: usize,
    /// The loop's settings.
    pub train: TrainConfig,
    /// Seed of every random choice.
    pub seed: u64,
    /// Where it computes.
    #[serde(default)]
    pub device: Device,
}
