//! The flags of `recur train` ([`TrainArgs`]): what every task takes ([`CommonArgs`], the
//! reading flags), and a group per task — [`ClassifyArgs`] for classifiers, [`LmArgs`] for
//! language models; a flag of another task's group is refused when parsing.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use recur_data::{OovInit, VocabOrder};
use recur_layers::{ModelKind, Pooling};
use recur_tensor::CellKind;
use recur_train::{Metric, ScheduleKind, SizeRule};

use super::data::DataArgs;

fn parse_model(s: &str) -> Result<ModelKind, String> {
    match s {
        "rnn" => Ok(ModelKind::Rnn),
        "lstm" => Ok(ModelKind::Lstm),
        "lstm-packed" | "lstm-pack" => Ok(ModelKind::LstmPacked),
        "gru" => Ok(ModelKind::Gru),
        _ => Err(format!(
            "unknown model {s:?}: expected rnn, lstm, lstm-packed or gru"
        )),
    }
}

fn parse_cell(s: &str) -> Result<CellKind, String> {
    s.parse()
}

fn parse_class_names(s: &str) -> Result<ClassNames, String> {
    let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("{s:?} has an empty class name"));
    }
    Ok(ClassNames(names))
}

/// `--class-names`: a comma-separated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassNames(pub Vec<String>);

/// What `recur train` trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// A text classifier.
    #[default]
    Classify,
    /// A language model.
    Lm,
}

impl Task {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classify => "classify",
            Task::Lm => "lm",
        }
    }
}

/// A named recipe of classifier flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Skip-gram vectors of the training texts (10 passes; unless --embeddings is given)
    /// under a packed bidirectional GRU (E 64, H 64) with mean pooling over each text's own
    /// steps, embedding dropout 0.2 and output dropout 0.5, beside a TF-IDF bag of words and
    /// word pairs (2^18 pair buckets) and the words' character n-grams (2^18) mixed in by
    /// validation, 2 members of both averaged (each its own draw and batch order, each also
    /// trained on its embedded tokens moved adversarially by a norm of 1), words seen at
    /// least 3 times, Adam at 8e-3 with a cosine schedule and clipping at 1.0, 3 epochs of
    /// batches of 128, the best epoch by a 10% validation fold of each member's own (unless
    /// --valid is given); batch, rate, epochs, skip-gram passes, members (one above 12,000
    /// training rows) and the validation score that keeps the best epoch (accuracy below 800
    /// training rows, cross-entropy from there) sized by the rows, the pruning by the
    /// training tokens (words seen once kept below 67,500, twice below 225,000).
    Strong,
}

/// Arguments of `recur train`.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// Continue the run in this folder from its checkpoint, exactly as it was configured
    /// (no other flag is taken).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// classify (a text classifier, the default) | lm (a language model of the texts:
    /// PyTorch's word_language_model, sampled by `recur generate`; defaults: LSTM, 2 layers
    /// of 200, dropout 0.2, SGD at 20, clipping at 0.25, 20 streams, windows of 35, 3
    /// epochs).
    #[arg(long, value_enum, default_value = "classify")]
    pub task: Task,
    /// Flags of every task.
    #[command(flatten)]
    pub common: CommonArgs,
    /// How the files are read.
    #[command(flatten, next_help_heading = "Reading files")]
    pub data_args: DataArgs,
    /// Classifier flags.
    #[command(flatten, next_help_heading = "Classifiers (--task classify)")]
    pub classify: ClassifyArgs,
    /// Language-model flags.
    #[command(flatten, next_help_heading = "Language models (--task lm)")]
    pub lm: LmArgs,
}

/// The flags every task takes.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Your own training file (CSV, TSV, JSONL or fastText; a language model also reads
    /// plain .txt files, one document a line).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation file, evaluated after every epoch; it selects the best model.
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Run folder to write (default runs/<model>-seed<seed>, runs/lm-seed<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Examples per batch (a language model's parallel streams).
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Batch size of the evaluation passes (default: --batch-size; language models: 10
    /// streams).
    #[arg(long)]
    pub eval_batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Seed of every random choice (initialisation, shuffling, dropout, the validation split).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after this many training samples (texts; a language model's predicted tokens),
    /// counted across epochs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// adam | adamw (decoupled weight decay) | sgd.
    #[arg(long, default_value = "adam", value_parser = ["adam", "adamw", "sgd"])]
    pub optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Weight decay: L2 for adam and sgd, decoupled for adamw (default 0; adamw: 0.01).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Update the embedding with PyTorch's SparseAdam (lazy: rows not in a batch do not
    /// move). Faster on huge vocabularies but NOT the same maths as the dense Adam, which
    /// the default reproduces exactly.
    #[arg(long)]
    pub sparse_embedding: bool,
    /// Clip the gradients' global L2 norm to this (PyTorch's clip_grad_norm_).
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
    /// Also checkpoint every this many optimizer steps (always at each epoch end).
    #[arg(long)]
    pub save_every: Option<usize>,
    /// A progress line every this many samples (classifiers; the lesson: 3,200) or windows
    /// (language models: 200).
    #[arg(long, default_value_t = 3200)]
    pub report_every: usize,
    /// Drop tokens seen fewer times.
    #[arg(long, default_value_t = 1)]
    pub min_freq: usize,
    /// Keep at most this many tokens (the most frequent) besides the special ones.
    #[arg(long)]
    pub max_vocab: Option<usize>,
    /// The recurrent cell: rnn | rnn-relu | lstm | gru | mingru | minlstm (classifiers:
    /// instead of the model's; mingru and minlstm train as a parallel scan).
    #[arg(long, value_parser = parse_cell)]
    pub cell: Option<CellKind>,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    pub embed: usize,
    /// Recurrent hidden size.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Dropout between recurrent layers (language models: also on the embeddings and
    /// outputs).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// cpu | cuda (the first GPU).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub device: String,
    /// Also write a JSON summary of the run to this file.
    #[arg(long)]
    pub summary: Option<PathBuf>,
}

/// The flags of classifiers only.
#[derive(Debug, Args, Clone)]
pub struct ClassifyArgs {
    /// A recipe for the flags not given: strong (skip-gram vectors of the training texts, a
    /// packed BiGRU with mean pooling, dropout, large batches, clipping, a cosine schedule
    /// and the best epoch by validation; see docs/results.md). Its batch, rate, epochs,
    /// rare-word pruning and skip-gram passes follow the number of training rows, unless
    /// given.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// rnn | lstm | lstm-packed | gru: the lesson's classifiers (presets of --cell,
    /// --packed, --pooling).
    #[arg(long, value_parser = parse_model, default_value = "lstm-packed")]
    pub model: ModelKind,
    /// Packed (true: no work on padding, each row's state at its last token) or padded
    /// (false) input, instead of the model's.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub packed: Option<bool>,
    /// last | mean | max | attention over time, instead of the model's (packed: over each
    /// row's own steps).
    #[arg(long)]
    pub pooling: Option<Pooling>,
    /// Bidirectional recurrent layer.
    #[arg(long)]
    pub bidirectional: bool,
    /// LSTM projection size (0 = none).
    #[arg(long, default_value_t = 0)]
    pub proj_size: usize,
    /// Dropout on the embedded tokens.
    #[arg(long, default_value_t = 0.0)]
    pub embed_dropout: f64,
    /// Dropout on the pooled features, before the classifier.
    #[arg(long, default_value_t = 0.0)]
    pub fc_dropout: f64,
    /// Adversarial training (Miyato et al. 2017): every step also trains on the batch with
    /// each text's embedded tokens moved this far (L2 norm) along the loss's gradient (0:
    /// off; doubles a step's work).
    #[arg(long, default_value_t = 0.0)]
    pub adversarial: f64,
    /// Add a TF-IDF bag of the text's words and hashed word pairs (this many pair buckets):
    /// logistic regression on TF-IDF 1-2-grams, trained on its own loss beside the
    /// recurrent part, its share of the logits chosen on validation (0: none).
    #[arg(long, default_value_t = 0)]
    pub ngram_buckets: usize,
    /// Give the bag each word's character n-grams (3 to 5 characters, hashed into this many
    /// buckets), so rare words share what their relatives learned (0: none; needs
    /// --ngram-buckets).
    #[arg(long, default_value_t = 0)]
    pub char_buckets: usize,
    /// Recurrent members: copies of the embedding → recurrent → pooling → output part, each
    /// drawn apart and trained on its own loss, their logits averaged (an ensemble in one
    /// model).
    #[arg(long, default_value_t = 1)]
    pub members: usize,
    /// AG News folder with train.csv (or train_sample.csv) and test.csv (default
    /// $RECUR_DATA_DIR, else datasets/ag_news); its classes are World, Sports, Business,
    /// Sci/Tech.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Hold out this fraction of the training file for validation (stratified by class,
    /// drawn from --seed).
    #[arg(long, conflicts_with = "valid")]
    pub valid_fraction: Option<f64>,
    /// With --valid-fraction and two or more --members: each member holds out a fraction of
    /// its own (the folds disjoint while they fit), validates on it and trains on the rest,
    /// so the members together learn from every row (--preset strong: true unless --valid
    /// is given).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", conflicts_with = "valid")]
    pub member_folds: Option<bool>,
    /// Test file, evaluated after every epoch for reporting only (default with --data: its
    /// test.csv).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Skip the end-of-epoch test pass.
    #[arg(long)]
    pub no_eval: bool,
    /// Class names in class order, comma-separated: the order of string labels, or the
    /// names of integer classes 1..K (0..K-1 when the labels include 0).
    #[arg(long, value_parser = parse_class_names)]
    pub class_names: Option<ClassNames>,
    /// constant | linear | cosine (decay to 0 at the last step) | plateau (multiply by
    /// --plateau-factor when the validation metric stalls).
    #[arg(long, default_value = "constant")]
    pub lr_schedule: ScheduleKind,
    /// Steps of linear warmup from 0.
    #[arg(long, default_value_t = 0)]
    pub warmup_steps: usize,
    /// Plateau schedule: the factor.
    #[arg(long, default_value_t = 0.5)]
    pub plateau_factor: f64,
    /// Plateau schedule: epochs without improvement tolerated.
    #[arg(long, default_value_t = 3)]
    pub plateau_patience: usize,
    /// Stop when the validation metric has not improved for this many epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// accuracy | macro-f1 | loss: the validation metric for the best model, --patience
    /// and the plateau schedule.
    #[arg(long, default_value = "accuracy")]
    pub metric: Metric,
    /// frequency (<unk>, <pad>, then by count: the lesson's, default with --data) |
    /// first-seen (the current lesson's torchtext) | pad-unk (<pad> = 0 reserved for
    /// padding, <unk> = 1, then by count: default with --train).
    #[arg(long)]
    pub vocab_order: Option<VocabOrder>,
    /// Pad the vocabulary with unused tokens up to this size (benchmarks the optimizer
    /// cost of a full-size embedding, like seed_train.py --vocab-pad).
    #[arg(long)]
    pub vocab_pad: Option<usize>,
    /// Tokens kept per text, the first ones (bounds a batch's memory; AG News texts have
    /// fewer than 300, so the lesson is untouched); 0 keeps all.
    #[arg(long, default_value_t = 2000)]
    pub max_tokens: usize,
    /// Start the embedding from pretrained word vectors: GloVe text, word2vec text or
    /// binary (.bin), fastText .vec, optionally .gz; matched exactly, then lower-cased.
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// zeros | random (normal with the vectors' mean and std): the vocabulary words
    /// without a vector.
    #[arg(long, default_value = "random", requires = "embeddings")]
    pub oov_init: OovInit,
    /// Keep the pretrained embedding fixed (no gradient, no optimizer state).
    #[arg(long)]
    pub freeze_embeddings: bool,
    /// Start the embedding from skip-gram vectors trained first on the training texts
    /// alone (word2vec's SGNS, seeded).
    #[arg(long, conflicts_with = "embeddings")]
    pub pretrain_embeddings: bool,
    /// Passes of that skip-gram training (with --pretrain-embeddings or --preset strong;
    /// default 10).
    #[arg(long)]
    pub pretrain_epochs: Option<usize>,
    /// Start the embedding and recurrent layers from this language-model run (its
    /// vocabulary and tokenizer too; the shapes must agree).
    #[arg(long)]
    pub init_encoder: Option<PathBuf>,
    /// With --init-encoder: keep those layers fixed for the first N epochs.
    #[arg(long, default_value_t = 0, requires = "init_encoder")]
    pub freeze_epochs: usize,
    /// Search the recipe for this many seconds, judged on the validation split (--valid,
    /// --valid-fraction, or a stratified tenth of the training file): the strong recipe
    /// sized for the data first, then variants drawn from --seed (cell, sizes, layers,
    /// pooling, dropout, rate, batch, epochs, pruning, skip-gram vectors, weight decay).
    /// The best trial becomes the run; its autotune.json records every trial. Implies
    /// --preset strong; --resume continues a stopped search.
    #[arg(long, value_name = "SECONDS")]
    pub autotune: Option<f64>,
    /// Trials of the search at most; alone (without --autotune), a search of exactly N
    /// trials that a seed repeats exactly.
    #[arg(long, value_name = "N")]
    pub autotune_trials: Option<usize>,
    /// The preset's settings that follow the number of training rows (those not given).
    #[arg(skip)]
    pub size_rule: Option<SizeRule>,
}

/// The flags of language models only.
#[derive(Debug, Args, Clone)]
pub struct LmArgs {
    /// Steps per window of backpropagation through time.
    #[arg(long, default_value_t = 35)]
    pub bptt: usize,
    /// The decoder's weight is the embedding table (needs --embed = --hidden).
    #[arg(long)]
    pub tied: bool,
}
