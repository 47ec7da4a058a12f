//! `recur train`: the lesson's training loop (Adam + cross-entropy, running accuracy every
//! 3,200 samples), end-of-epoch validation loss / accuracy / macro-F1 and test accuracy,
//! and a run folder saved atomically. Ctrl-C stops after the current batch and saves what
//! was trained.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use recur_autograd::Tape;
use recur_data::{Encoded, Loader, Prefetch, VocabOrder};
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, Optimizer, ParamStore, Sgd,
    SgdConfig,
};
use recur_tensor::Backend;
use recur_tensor::DType;
use serde_json::json;

use crate::data_args::DataArgs;
use crate::eval::{argmax_rows, evaluate};
use crate::{RunConfig, RunDir};

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

/// `--class-names`: a comma-separated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassNames(pub Vec<String>);

fn parse_class_names(s: &str) -> Result<ClassNames, String> {
    let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("{s:?} has an empty class name"));
    }
    Ok(ClassNames(names))
}

/// Arguments of `recur train`.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// rnn | lstm | lstm-packed | gru (the lesson's classifiers).
    #[arg(long, value_parser = parse_model, default_value = "lstm-packed")]
    pub model: ModelKind,
    /// AG News folder with train.csv (or train_sample.csv) and test.csv (default $RECUR_DATA_DIR, else datasets/ag_news); its classes are World, Sports, Business, Sci/Tech.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Your own labelled training file (CSV, TSV, JSONL or fastText; see --format).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation file, evaluated after every epoch.
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Hold out this fraction of the training file for validation (stratified by class, drawn from --seed).
    #[arg(long)]
    pub valid_fraction: Option<f64>,
    /// Test file, evaluated after every epoch for reporting only (default with --data: its test.csv).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// How the files are read.
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Class names in class order, comma-separated: the order of string labels, or the names of integer classes 1..K (0..K-1 when the labels include 0).
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
    /// Seed of every random choice (initialisation, shuffling, dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run folder to write (default runs/<model>-seed<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop after this many training samples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// adam | sgd.
    #[arg(long, default_value = "adam", value_parser = ["adam", "sgd"])]
    pub optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// L2 weight decay (both optimizers).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// frequency (<unk>, <pad>, then by count: the lesson's, default with --data) | first-seen (the current lesson's torchtext) | pad-unk (<pad> = 0 reserved for padding, <unk> = 1, then by count: default with --train).
    #[arg(long)]
    pub vocab_order: Option<VocabOrder>,
    /// Drop tokens seen fewer times.
    #[arg(long, default_value_t = 1)]
    pub min_freq: usize,
    /// Keep at most this many tokens (the most frequent) besides <pad>/<unk>.
    #[arg(long)]
    pub max_vocab: Option<usize>,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    pub embed: usize,
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
    /// LSTM projection size (0 = none).
    #[arg(long, default_value_t = 0)]
    pub proj_size: usize,
    /// Print the running accuracy every this many samples (the lesson: 3,200).
    #[arg(long, default_value_t = 3200)]
    pub report_every: usize,
    /// Batch size of the test pass (default: --batch-size, as the lesson).
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
    /// Running train accuracy at the end.
    pub train_accuracy: f64,
    /// Test accuracy after the last epoch (None without a test file).
    pub test_accuracy: Option<f64>,
    /// Validation accuracy after the last epoch (None without validation).
    pub valid_accuracy: Option<f64>,
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Runs `recur train` on the device `--device` names.
pub fn train(a: &TrainArgs) -> Result<TrainSummary> {
    match a.device.as_str() {
        "cuda" => train_on(&recur_cuda::Cuda::new(0)?, a),
        _ => train_on(&recur_cpu::Cpu, a),
    }
}

fn train_on<B: Backend>(backend: &B, a: &TrainArgs) -> Result<TrainSummary> {
    if a.batch_size == 0 || a.report_every == 0 {
        bail!("--batch-size and --report-every must be at least 1");
    }
    let data = crate::train_data::load(a)?;
    let train_enc = data.train.clone();
    let vocab = &data.vocab;
    let mut config = ClassifierConfig::lesson(a.model, vocab.len());
    config.num_class = data.classes.len();
    config.padding_idx = data.vocab_order.padding_idx();
    config.embed_dim = a.embed;
    config.hidden_dim = a.hidden;
    config.num_layers = a.layers;
    config.bidirectional = a.bidirectional;
    config.dropout = a.dropout;
    config.proj_size = a.proj_size;
    let mut store = ParamStore::new(backend, DType::F32);
    let mut init_rng = rng(a.seed);
    let model = Classifier::new(&mut store, config.clone(), &mut init_rng)?;
    let mut dropout_rng = rng(a.seed ^ 0x5eed_d20f);
    let mut opt: Box<dyn Optimizer<B>> = match a.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(SgdConfig {
            lr: a.lr,
            momentum: a.momentum,
            weight_decay: a.weight_decay,
            ..SgdConfig::default()
        })),
        _ => Box::new(Adam::new(AdamConfig {
            lr: a.lr,
            weight_decay: a.weight_decay,
            sparse_rows: a.sparse_embedding,
            ..AdamConfig::default()
        })),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", a.model.name(), a.seed)));
    let run = RunDir::new(&out);
    let path_str = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let run_config = RunConfig {
        model: config,
        classes: data.classes.names().to_vec(),
        labels: data.classes.map(),
        tokenizer: data.tokenizer,
        vocab_order: data.vocab_order,
        data: data.spec.clone(),
        training: Some(json!({
            "train_file": data.train_file.display().to_string(), "valid_file": path_str(&data.valid_file),
            "valid_fraction": a.valid_fraction, "test_file": path_str(&data.test_file),
            "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr, "seed": a.seed, "optimizer": a.optimizer,
            "momentum": a.momentum, "weight_decay": a.weight_decay,
            "min_freq": a.min_freq, "max_vocab": a.max_vocab, "limit": a.limit, "sparse_embedding": a.sparse_embedding, "dtype": "f32", "vocab_pad": a.vocab_pad, "device": a.device,
        })),
    };

    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
    STOP.store(false, Ordering::SeqCst);
    let use_dropout = a.dropout > 0.0;
    let mut metrics = Vec::new();
    let mut summary = TrainSummary {
        samples: 0,
        train_seconds: 0.0,
        train_accuracy: 0.0,
        test_accuracy: None,
        valid_accuracy: None,
    };
    let epoch_size = a.limit.map_or(train_enc.len(), |l| l.min(train_enc.len()));
    for epoch in 0..a.epochs {
        let loader = Loader::new(
            train_enc.len(),
            a.batch_size,
            true,
            false,
            a.seed,
            epoch as u64,
        )?;
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(epoch_size as u64)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("{}", epoch + 1));
        let (mut total_loss, mut correct, mut count, mut batches) = (0.0, 0usize, 0usize, 0usize);
        let mut next_report = a.report_every;
        let mut halt = None;
        let t0 = Instant::now();
        for batch in Prefetch::start(train_enc.clone(), loader, 4) {
            let tape = Tape::new(backend);
            let logits = model.forward(
                &tape,
                &store,
                &batch.tokens,
                &batch.lengths,
                use_dropout.then_some(&mut dropout_rng),
            )?;
            let loss = tape.cross_entropy(logits, &batch.labels)?;
            let mut grads = tape.backward(loss)?;
            let loss_value = tape.value(loss).scalar()?;
            let preds = argmax_rows(&tape.value(logits).to_f32_vec()?, model.config.num_class);
            drop(tape);
            opt.step(&mut store, &mut grads)?;
            total_loss += loss_value;
            correct += preds
                .iter()
                .zip(&batch.labels)
                .filter(|(p, l)| p == l)
                .count();
            count += batch.len();
            batches += 1;
            bar.inc(batch.len() as u64);
            if count >= next_report {
                let acc = correct as f64 / count as f64;
                bar.suspend(|| println!("{count}: acc={acc}"));
                metrics.push(json!({"kind": "report", "epoch": epoch + 1, "samples": count, "train_accuracy": acc, "mean_loss": total_loss / batches as f64}));
                while next_report <= count {
                    next_report += a.report_every;
                }
            }
            let stop = STOP.load(Ordering::SeqCst);
            if stop || a.limit.is_some_and(|l| summary.samples + count >= l) {
                halt = Some(stop);
                break;
            }
        }
        bar.finish_and_clear();
        opt.sync(&mut store)?;
        summary.train_seconds += t0.elapsed().as_secs_f64();
        summary.samples += count;
        summary.train_accuracy = if count > 0 {
            correct as f64 / count as f64
        } else {
            0.0
        };
        if halt == Some(true) {
            eprintln!(
                "interrupted after {count} samples of epoch {}: saving the run",
                epoch + 1
            );
            metrics.push(json!({"kind": "interrupted", "epoch": epoch + 1, "samples": count}));
            break;
        }
        end_epoch(
            a,
            epoch,
            &model,
            &store,
            (data.valid.as_ref(), data.test.as_ref()),
            (total_loss, batches, correct, count),
            t0,
            &mut metrics,
            &mut summary,
        )?;
        if halt.is_some() {
            break;
        }
    }
    opt.sync(&mut store)?;
    run.save(&run_config, vocab, &store)?;
    run.save_metrics(&metrics)?;
    eprintln!("saved run to {}", out.display());
    if let Some(path) = &a.summary {
        let s = json!({
            "model": a.model.name(), "seed": a.seed, "samples": summary.samples, "train_seconds": summary.train_seconds,
            "samples_per_s": summary.samples as f64 / summary.train_seconds.max(1e-9), "train_accuracy": summary.train_accuracy,
            "test_accuracy": summary.test_accuracy, "vocab_size": vocab.len(), "peak_rss_kb": peak_rss_kb(), "reports": metrics.iter().filter(|m| m["kind"] == "report").cloned().collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&s)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn end_epoch<B: Backend>(
    a: &TrainArgs,
    epoch: usize,
    model: &Classifier,
    store: &ParamStore<B>,
    (valid, test): (Option<&Encoded>, Option<&Encoded>),
    (total_loss, batches, correct, count): (f64, usize, usize, usize),
    t0: Instant,
    metrics: &mut Vec<serde_json::Value>,
    summary: &mut TrainSummary,
) -> Result<()> {
    let secs = t0.elapsed().as_secs_f64();
    let mean_loss = total_loss / batches.max(1) as f64;
    let train_acc = correct as f64 / count.max(1) as f64;
    let eval_batch = a.eval_batch_size.unwrap_or(a.batch_size);
    let valid = valid
        .map(|v| evaluate(model, store, v, eval_batch))
        .transpose()?;
    let test_acc = test
        .map(|t| evaluate(model, store, t, eval_batch).map(|e| e.scores.accuracy()))
        .transpose()?;
    summary.test_accuracy = test_acc;
    summary.valid_accuracy = valid.as_ref().map(|v| v.scores.accuracy());
    let valid_text = valid.as_ref().map_or(String::new(), |v| {
        format!(
            "valid loss {:.4} acc {:.4} macro-F1 {:.4}, ",
            v.loss,
            v.scores.accuracy(),
            v.scores.macro_f1()
        )
    });
    println!(
        "epoch {}: mean loss {mean_loss:.4}, running train acc {train_acc:.4}, {valid_text}test acc {}, {:.0} samples/s ({count} samples in {secs:.1}s)",
        epoch + 1,
        test_acc.map_or("-".to_string(), |t| format!("{t:.4}")),
        count as f64 / secs.max(1e-9)
    );
    metrics.push(json!({"kind": "epoch", "epoch": epoch + 1, "samples": count, "mean_loss": mean_loss, "train_accuracy": train_acc,
        "valid_loss": valid.as_ref().map(|v| v.loss), "valid_accuracy": valid.as_ref().map(|v| v.scores.accuracy()),
        "valid_macro_f1": valid.as_ref().map(|v| v.scores.macro_f1()),
        "test_accuracy": test_acc, "seconds": secs, "samples_per_s": count as f64 / secs.max(1e-9)}));
    Ok(())
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
