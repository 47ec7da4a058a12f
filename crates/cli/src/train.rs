//! `recur train`: flags → data, model, optimizer and [`recur_train::Trainer`]; prints the
//! lesson's progress lines (running accuracy every 3,200 samples) and one line per epoch
//! (validation loss / accuracy / macro-F1, test accuracy). The run folder is committed as
//! one unit at every epoch end (and every `--save-every` steps); Ctrl-C stops after the
//! current batch with a resumable run; `--resume RUN` continues it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use recur_data::{load_vectors, OovInit, VocabOrder};
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, Optimizer, ParamStore, Pooling,
    Sgd, SgdConfig,
};
use recur_tensor::{Backend, CellKind, DType};
use recur_train::{
    train_skipgram, Datasets, EpochSummary, Metric, Observer, RunOutput, RunWriter, ScheduleConfig,
    ScheduleKind, SkipGramConfig, TrainConfig, Trainer,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::data_args::DataArgs;
use crate::train_data::TrainData;
use crate::RunConfig;

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
    match s {
        "rnn" | "rnn-tanh" => Ok(CellKind::RnnTanh),
        "rnn-relu" => Ok(CellKind::RnnRelu),
        "lstm" => Ok(CellKind::Lstm),
        "gru" => Ok(CellKind::Gru),
        _ => Err(format!(
            "unknown cell {s:?}: expected rnn, rnn-relu, lstm or gru"
        )),
    }
}

/// `--class-names`: a comma-separated list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassNames(pub Vec<String>);

fn parse_class_names(s: &str) -> Result<ClassNames, String> {
    let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("{s:?} has an empty class name"));
    }
    Ok(ClassNames(names))
}

/// What `recur train` trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A text classifier.
    #[default]
    Classify,
    /// A language model.
    Lm,
}

fn default_bptt() -> usize {
    35
}

/// Arguments of `recur train` (saved in the checkpoint, so `--resume` needs no other flag).
#[derive(Debug, Args, Clone, Serialize, Deserialize)]
pub struct TrainArgs {
    /// Continue the run in this folder from its checkpoint (every other flag comes from it).
    #[arg(long)]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    /// classify (a text classifier, the default) | lm (a language model of the texts: PyTorch's
    /// word_language_model, sampled by `recur generate`; defaults: LSTM, 2 layers of 200, dropout
    /// 0.2, SGD at 20, clipping at 0.25, 20 streams, windows of 35, 3 epochs).
    #[arg(long, value_enum, default_value = "classify")]
    #[serde(default)]
    pub task: Task,
    /// Language models: steps per window of backpropagation through time.
    #[arg(long, default_value_t = 35)]
    #[serde(default = "default_bptt")]
    pub bptt: usize,
    /// Language models: the decoder's weight is the embedding table (needs --embed = --hidden).
    #[arg(long)]
    #[serde(default)]
    pub tied: bool,
    /// Classifiers: start the embedding and recurrent layers from this language-model run (its
    /// vocabulary and tokenizer too; the shapes must agree).
    #[arg(long)]
    #[serde(default)]
    pub init_encoder: Option<PathBuf>,
    /// With --init-encoder: keep those layers fixed for the first N epochs.
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub freeze_epochs: usize,
    /// A recipe for the flags not given: strong (skip-gram vectors of the training texts, a packed
    /// BiGRU with mean pooling, dropout, large batches, clipping, a cosine schedule and the best
    /// epoch by validation; see docs/results.md).
    #[arg(long, value_enum)]
    pub preset: Option<crate::preset::Preset>,
    /// rnn | lstm | lstm-packed | gru: the lesson's classifiers (presets of --cell, --packed,
    /// --pooling).
    #[arg(long, value_parser = parse_model, default_value = "lstm-packed")]
    pub model: ModelKind,
    /// The recurrent cell instead of the model's: rnn | rnn-relu | lstm | gru.
    #[arg(long, value_parser = parse_cell)]
    pub cell: Option<CellKind>,
    /// Packed (true: no work on padding, each row's state at its last token) or padded (false)
    /// input, instead of the model's.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub packed: Option<bool>,
    /// last | mean | max | attention over time, instead of the model's (packed: over each row's own
    /// steps).
    #[arg(long)]
    pub pooling: Option<Pooling>,
    /// AG News folder with train.csv (or train_sample.csv) and test.csv (default $RECUR_DATA_DIR,
    /// else datasets/ag_news); its classes are World, Sports, Business, Sci/Tech.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Your own labelled training file (CSV, TSV, JSONL or fastText; see --format).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation file, evaluated after every epoch; it selects the best model.
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Hold out this fraction of the training file for validation (stratified by class, drawn from
    /// --seed).
    #[arg(long)]
    pub valid_fraction: Option<f64>,
    /// Test file, evaluated after every epoch for reporting only (default with --data: its
    /// test.csv).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// How the files are read.
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Class names in class order, comma-separated: the order of string labels, or the names of
    /// integer classes 1..K (0..K-1 when the labels include 0).
    #[arg(long, value_parser = parse_class_names)]
    pub class_names: Option<ClassNames>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Examples per batch.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Seed of every random choice (initialisation, shuffling, dropout, the validation split).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run folder to write (default runs/<model>-seed<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop after this many training samples, counted across epochs.
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
    /// Clip the gradients' global L2 norm to this (PyTorch's clip_grad_norm_).
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
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
    /// accuracy | macro-f1 | loss: the validation metric for the best model, --patience and the
    /// plateau schedule.
    #[arg(long, default_value = "accuracy")]
    pub metric: Metric,
    /// Also checkpoint every this many optimizer steps (always at each epoch end).
    #[arg(long)]
    pub save_every: Option<usize>,
    /// frequency (<unk>, <pad>, then by count: the lesson's, default with --data) | first-seen (the
    /// current lesson's torchtext) | pad-unk (<pad> = 0 reserved for padding, <unk> = 1, then by
    /// count: default with --train).
    #[arg(long)]
    pub vocab_order: Option<VocabOrder>,
    /// Drop tokens seen fewer times.
    #[arg(long, default_value_t = 1)]
    pub min_freq: usize,
    /// Keep at most this many tokens (the most frequent) besides <pad>/<unk>.
    #[arg(long)]
    pub max_vocab: Option<usize>,
    /// Tokens kept per text, the first ones (bounds a batch's memory; AG News texts have fewer than
    /// 300, so the lesson is untouched); 0 keeps all.
    #[arg(long, default_value_t = 2000)]
    pub max_tokens: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    pub embed: usize,
    /// Start the embedding from pretrained word vectors: GloVe text, word2vec text or binary
    /// (.bin), fastText .vec, optionally .gz; matched exactly, then lower-cased.
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// zeros | random (normal with the vectors' mean and std): the vocabulary words without a
    /// vector.
    #[arg(long, default_value = "random")]
    pub oov_init: OovInit,
    /// Keep the pretrained embedding fixed (no gradient, no optimizer state).
    #[arg(long)]
    pub freeze_embeddings: bool,
    /// Start the embedding from skip-gram vectors trained first on the training texts alone
    /// (word2vec's SGNS, seeded).
    #[arg(long)]
    pub pretrain_embeddings: bool,
    /// Passes of that skip-gram training.
    #[arg(long, default_value_t = 10)]
    pub pretrain_epochs: usize,
    /// Recurrent hidden size.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Bidirectional recurrent layer.
    #[arg(long)]
    pub bidirectional: bool,
    /// Dropout between recurrent layers.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Dropout on the embedded tokens.
    #[arg(long, default_value_t = 0.0)]
    pub embed_dropout: f64,
    /// Dropout on the pooled features, before the classifier.
    #[arg(long, default_value_t = 0.0)]
    pub fc_dropout: f64,
    /// LSTM projection size (0 = none).
    #[arg(long, default_value_t = 0)]
    pub proj_size: usize,
    /// Print the running accuracy every this many samples (the lesson: 3,200).
    #[arg(long, default_value_t = 3200)]
    pub report_every: usize,
    /// Batch size of the evaluation passes (default: --batch-size, as the lesson).
    #[arg(long)]
    pub eval_batch_size: Option<usize>,
    /// Pad the vocabulary with unused tokens up to this size (benchmarks the optimizer cost
    /// of a full-size embedding, like seed_train.py --vocab-pad).
    #[arg(long)]
    pub vocab_pad: Option<usize>,
    /// Update the embedding with PyTorch's SparseAdam (lazy: rows not in a batch do not move).
    /// Faster on huge vocabularies but NOT the same maths as the lesson's dense Adam, which
    /// the default reproduces exactly.
    #[arg(long)]
    pub sparse_embedding: bool,
    /// cpu | cuda (the first GPU).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub device: String,
    /// Skip the end-of-epoch test pass.
    #[arg(long)]
    pub no_eval: bool,
    /// Also write a JSON summary of the run to this file.
    #[arg(long)]
    pub summary: Option<PathBuf>,
}

/// What a training run measured.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Samples trained on.
    pub samples: usize,
    /// Wall time of the training loop (batches, forward, backward, optimizer), seconds.
    pub train_seconds: f64,
    /// Running train accuracy of the last epoch.
    pub train_accuracy: f64,
    /// Test accuracy after the last epoch (None without a test file).
    pub test_accuracy: Option<f64>,
    /// Validation accuracy after the last epoch (None without validation).
    pub valid_accuracy: Option<f64>,
    /// Stopped by Ctrl-C (resumable).
    pub interrupted: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Runs `recur train` on the device `--device` names (for `--resume`, the saved one).
pub fn train(a: &TrainArgs) -> Result<TrainSummary> {
    let args = match &a.resume {
        Some(run) => {
            let extra = saved_flags(run)?;
            let mut saved: TrainArgs = serde_json::from_value(extra).with_context(|| {
                format!("{}: the checkpoint's flags cannot be read", run.display())
            })?;
            saved.resume = Some(run.clone());
            saved.out = Some(run.clone());
            saved
        }
        None => a.clone(),
    };
    match (args.task, args.device.as_str()) {
        (Task::Lm, "cuda") => crate::lm::train_lm(&recur_cuda::Cuda::new(0)?, &args),
        (Task::Lm, _) => crate::lm::train_lm(&recur_cpu::Cpu, &args),
        (Task::Classify, "cuda") => train_on(&recur_cuda::Cuda::new(0)?, &args),
        (Task::Classify, _) => train_on(&recur_cpu::Cpu, &args),
    }
}

/// The flags a run's checkpoint was saved with (`checkpoint/state.json`'s `extra`), for
/// either task.
fn saved_flags(run: &Path) -> Result<serde_json::Value> {
    let path = run.join("checkpoint/state.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: no checkpoint to resume from", path.display()))?;
    let state: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a readable checkpoint state", path.display()))?;
    Ok(state["extra"].clone())
}

/// Stops training after the current batch when Ctrl-C or SIGTERM arrives (installed once).
pub(crate) fn stop_flag() -> &'static AtomicBool {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
    &STOP
}

/// The optimizer the flags ask for.
pub(crate) fn optimizer<B: Backend>(a: &TrainArgs) -> Result<Box<dyn Optimizer<B> + Send>> {
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        bail!("--lr must be positive and finite, found {}", a.lr);
    }
    let wd = a
        .weight_decay
        .unwrap_or(if a.optimizer == "adamw" { 0.01 } else { 0.0 });
    let usable = |x: f64| x >= 0.0 && x.is_finite();
    if !usable(wd) || !usable(a.momentum) {
        bail!("--weight-decay and --momentum must be finite and not negative");
    }
    Ok(match a.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(SgdConfig {
            lr: a.lr,
            momentum: a.momentum,
            weight_decay: wd,
            ..SgdConfig::default()
        })),
        name => Box::new(Adam::new(AdamConfig {
            lr: a.lr,
            weight_decay: wd,
            decoupled: name == "adamw",
            sparse_rows: a.sparse_embedding,
            lazy_rows: true,
            ..AdamConfig::default()
        })),
    })
}

/// Refuses model and embedding flags that cannot work, before anything is read or trained.
fn check_model_flags(a: &TrainArgs) -> Result<()> {
    for (name, p) in [
        ("--dropout", a.dropout),
        ("--embed-dropout", a.embed_dropout),
        ("--fc-dropout", a.fc_dropout),
    ] {
        if !(0.0..1.0).contains(&p) {
            bail!("{name} must be a probability in [0, 1), found {p}");
        }
    }
    if a.embed == 0 || a.hidden == 0 || a.layers == 0 {
        bail!("--embed, --hidden and --layers must be at least 1");
    }
    if a.freeze_embeddings && a.embeddings.is_none() && !a.pretrain_embeddings {
        bail!(
            "--freeze-embeddings needs --embeddings FILE or --pretrain-embeddings (a frozen \
            random table learns nothing)"
        );
    }
    if a.pretrain_embeddings && a.embeddings.is_some() {
        bail!("--pretrain-embeddings and --embeddings exclude each other: give one");
    }
    if a.pretrain_embeddings && a.pretrain_epochs == 0 {
        bail!("--pretrain-epochs must be at least 1");
    }
    Ok(())
}

/// The classifier the flags ask for, for `data`.
fn model_config(a: &TrainArgs, data: &TrainData) -> ClassifierConfig {
    let mut config = ClassifierConfig::lesson(a.model, data.vocab.len());
    config.num_class = data.classes.len();
    config.padding_idx = data.vocab_order.padding_idx();
    config.embed_dim = a.embed;
    config.hidden_dim = a.hidden;
    config.num_layers = a.layers;
    config.bidirectional = a.bidirectional;
    config.dropout = a.dropout;
    config.proj_size = a.proj_size;
    config.cell_override = a.cell;
    config.packed_override = a.packed;
    config.pooling_override = a.pooling;
    config.embed_dropout = a.embed_dropout;
    config.fc_dropout = a.fc_dropout;
    config.freeze_embedding = a.freeze_embeddings;
    config
}

fn train_config(a: &TrainArgs) -> TrainConfig {
    TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        eval_batch_size: a.eval_batch_size.unwrap_or(a.batch_size),
        seed: a.seed,
        limit: a.limit,
        report_every: a.report_every,
        clip_grad_norm: a.clip_grad_norm,
        schedule: ScheduleConfig {
            kind: a.lr_schedule,
            warmup_steps: a.warmup_steps,
            factor: a.plateau_factor,
            patience: a.plateau_patience,
            ..ScheduleConfig::default()
        },
        patience: a.patience,
        metric: a.metric,
        save_every: a.save_every,
        ..TrainConfig::default()
    }
}

/// Prints progress as the lesson did, with a progress bar on a terminal; Ctrl-C asks to stop.
struct Printer {
    bar: ProgressBar,
}

impl Observer for Printer {
    fn epoch_started(&mut self, epoch: usize, samples: usize) {
        self.bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(samples as u64)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(format!("{}", epoch + 1));
    }

    fn batch_done(&mut self, samples: usize) {
        self.bar.inc(samples as u64);
    }

    fn report(&mut self, r: &serde_json::Value) {
        self.bar
            .suspend(|| println!("{}: acc={}", r["samples"], r["train_accuracy"]));
    }

    fn epoch_done(&mut self, e: &EpochSummary) {
        self.bar.finish_and_clear();
        let valid = e.valid.as_ref().map_or(String::new(), |v| {
            format!(
                "valid loss {:.4} acc {:.4} macro-F1 {:.4}{}, ",
                v.loss,
                v.scores.accuracy(),
                v.scores.macro_f1(),
                if e.best { " (best)" } else { "" }
            )
        });
        println!(
            "epoch {}: mean loss {:.4}, running train acc {:.4}, {valid}test acc {}, {:.0} \
                samples/s ({} samples in {:.1}s)",
            e.epoch,
            e.mean_loss,
            e.train_accuracy,
            e.test_accuracy
                .map_or("-".to_string(), |t| format!("{t:.4}")),
            e.samples as f64 / e.seconds.max(1e-9),
            e.samples,
            e.seconds
        );
    }

    fn stop_requested(&self) -> bool {
        STOP.load(Ordering::SeqCst)
    }
}

fn train_on<B: Backend>(backend: &B, a: &TrainArgs) -> Result<TrainSummary> {
    let config = train_config(a);
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", a.model.name(), a.seed)));
    let opt = optimizer::<B>(a)?;
    config.validate(a.valid.is_some() || a.valid_fraction.is_some())?;
    check_model_flags(a)?;
    stop_flag().store(false, Ordering::SeqCst);
    // --out is checked (and locked) before anything is read or trained
    let writer = RunWriter::open(&out)?;
    let data = crate::train_data::load(a)?;
    if STOP.load(Ordering::SeqCst) {
        eprintln!("interrupted while loading the data: nothing was trained or saved");
        return Ok(TrainSummary {
            samples: 0,
            train_seconds: 0.0,
            train_accuracy: 0.0,
            test_accuracy: None,
            valid_accuracy: None,
            interrupted: true,
        });
    }
    // a classifier started from a language model takes its architecture
    let mut shaped = a.clone();
    if let Some(run) = &a.init_encoder {
        if a.bidirectional || a.proj_size > 0 {
            bail!(
                "--init-encoder: the language model is unidirectional without projection; drop \
                --bidirectional / --proj-size"
            );
        }
        let lm = crate::lm::load_lm(backend, run)?.config.model;
        (shaped.cell, shaped.layers) = (Some(lm.cell), lm.num_layers);
        (shaped.hidden, shaped.embed) = (lm.hidden_dim, lm.embed_dim);
    }
    let model_cfg = model_config(&shaped, &data);
    let mut store = ParamStore::new(backend, DType::F32);
    let model = Classifier::new(&mut store, model_cfg.clone(), &mut rng(a.seed))?;
    let mut config = config;
    if let Some(run) = &a.init_encoder {
        let copied = crate::lm::init_from_lm(run, &mut store)?;
        if a.resume.is_none() {
            eprintln!(
                "embedding and {} recurrent parameters from the language model in {}{}",
                copied.len() - 1,
                run.display(),
                if a.freeze_epochs > 0 {
                    format!(", fixed for the first {} epochs", a.freeze_epochs)
                } else {
                    String::new()
                }
            );
        }
        config.frozen = copied.iter().map(|id| id.index()).collect();
        config.freeze_epochs = a.freeze_epochs;
    }
    if a.pretrain_embeddings && a.resume.is_none() {
        let t0 = std::time::Instant::now();
        let skip: Vec<usize> = data
            .vocab_order
            .padding_idx()
            .into_iter()
            .chain([data.vocab.unk_id()])
            .collect();
        let mut table = train_skipgram(
            &data.train.ids,
            data.vocab.len(),
            &skip,
            SkipGramConfig {
                dim: a.embed,
                epochs: a.pretrain_epochs,
                seed: a.seed,
                ..SkipGramConfig::default()
            },
        );
        if let Some(p) = model_cfg.padding_idx {
            table[p * a.embed..(p + 1) * a.embed].fill(0.0);
        }
        eprintln!(
            "skip-gram vectors of the training texts: {} words, {} epochs, {:.1}s",
            data.vocab.len(),
            a.pretrain_epochs,
            t0.elapsed().as_secs_f64()
        );
        let t = recur_tensor::Tensor::from_f32(
            backend,
            &[data.vocab.len(), a.embed],
            &table,
            DType::F32,
        )?;
        store.set(model.embedding.weight, t)?;
    }
    if let (Some(path), None) = (&a.embeddings, &a.resume) {
        let t0 = std::time::Instant::now();
        let v = &data.vocab;
        let table = load_vectors(path, v, a.embed, a.oov_init, model_cfg.padding_idx, a.seed)?;
        eprintln!(
            "found {} of {} vocabulary words ({:.1}%; {} only lower-cased) among {} vectors of {}, \
                {:.2}s",
            table.found(),
            v.len(),
            100.0 * table.found() as f64 / v.len().max(1) as f64,
            table.lowercase,
            table.file_words,
            path.display(),
            t0.elapsed().as_secs_f64()
        );
        let t =
            recur_tensor::Tensor::from_f32(backend, &[v.len(), a.embed], &table.table, DType::F32)?;
        store.set(model.embedding.weight, t)?;
    }
    let run_config = RunConfig {
        model: model_cfg,
        classes: data.classes.names().to_vec(),
        labels: data.classes.map(),
        tokenizer: data.tokenizer,
        max_tokens: (a.max_tokens > 0).then_some(a.max_tokens),
        vocab_order: data.vocab_order,
        data: data.spec.clone(),
        training: Some(serde_json::to_value(a)?),
    };
    let mut vocab_text = data.vocab.itos().join("\n");
    vocab_text.push('\n');
    if a.resume.is_some() {
        let saved = std::fs::read(out.join("vocab.txt")).unwrap_or_default();
        if saved != vocab_text.as_bytes() {
            bail!(
                "{}: the vocabulary built from the training data differs from the run's vocab.txt: \
                    the data changed since the run started",
                out.display()
            );
        }
    }
    let files = vec![
        (
            "config.json".to_string(),
            serde_json::to_vec_pretty(&run_config)?,
        ),
        ("vocab.txt".to_string(), vocab_text.into_bytes()),
    ];
    let output = RunOutput::with_writer(writer, files, serde_json::to_value(a)?);
    let dropout_rng = rng(a.seed ^ 0x5eed_d20f);
    let mut trainer = Trainer::new(config, &model, store, opt, dropout_rng).with_output(output);
    if a.resume.is_some() {
        trainer.resume()?;
        let p = trainer.progress();
        if let Some(done) = &p.finished {
            eprintln!(
                "{}: the run is complete ({done}); nothing to resume",
                out.display()
            );
        } else {
            eprintln!(
                "resuming {} at epoch {}, batch {} (step {})",
                out.display(),
                p.epoch + 1,
                p.batch,
                p.step
            );
        }
    }
    let mut printer = Printer {
        bar: ProgressBar::hidden(),
    };
    let datasets = Datasets {
        train: data.train.clone(),
        valid: data.valid.as_ref(),
        test: data.test.as_ref(),
    };
    let fit = trainer.fit(&datasets, &mut printer)?;
    printer.bar.finish_and_clear();
    if fit.interrupted && !fit.saved {
        eprintln!(
            "interrupted before the first checkpoint: nothing was saved, and the run already in {} \
                is left as it was",
            out.display()
        );
    } else if fit.interrupted {
        let p = trainer.progress();
        eprintln!(
            "interrupted after {} samples of epoch {}: saved a resumable run to {} (continue with: \
                recur train --resume {})",
            p.stats.count,
            p.epoch + 1,
            out.display(),
            out.display()
        );
    } else {
        // why the run ended before its last epoch (early stopping, --limit)
        if let Some(done) = fit.finished.as_ref().filter(|d| !d.starts_with("trained")) {
            eprintln!("{done}");
        }
        eprintln!("saved run to {}", out.display());
    }
    let summary = TrainSummary {
        samples: fit.samples,
        train_seconds: fit.train_seconds,
        train_accuracy: fit.train_accuracy,
        test_accuracy: fit.test_accuracy,
        valid_accuracy: fit.valid_accuracy,
        interrupted: fit.interrupted,
    };
    if let Some(path) = &a.summary {
        write_summary(path, a, &summary, data.vocab.len(), trainer.metrics())?;
    }
    Ok(summary)
}

fn write_summary(
    path: &Path,
    a: &TrainArgs,
    s: &TrainSummary,
    vocab_size: usize,
    metrics: &[serde_json::Value],
) -> Result<()> {
    let reports: Vec<_> = metrics
        .iter()
        .filter(|m| m["kind"] == "report")
        .cloned()
        .collect();
    let j = json!({
        "model": a.model.name(), "seed": a.seed, "samples": s.samples,
            "train_seconds": s.train_seconds,
        "samples_per_s": s.samples as f64 / s.train_seconds.max(1e-9),
            "train_accuracy": s.train_accuracy,
        "valid_accuracy": s.valid_accuracy, "test_accuracy": s.test_accuracy,
            "vocab_size": vocab_size,
        "peak_rss_kb": peak_rss_kb(), "reports": reports,
    });
    std::fs::write(path, serde_json::to_string_pretty(&j)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
