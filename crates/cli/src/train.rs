//! `recur train`: the lesson's training loop (Adam + cross-entropy, running accuracy every
//! 3,200 samples), end-of-epoch test accuracy, and a run folder saved atomically. Ctrl-C
//! stops after the current batch and saves what was trained.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use recur_autograd::Tape;
use recur_data::{
    encode_dataset, locate, read_csv, Dataset, Loader, Prefetch, ReadOptions, Vocab, VocabOrder,
    AG_NEWS_CLASSES,
};
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, Optimizer, ParamStore, Sgd,
    SgdConfig,
};
use recur_tensor::Backend;
use recur_tensor::DType;
use serde_json::json;

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

fn parse_order(s: &str) -> Result<VocabOrder, String> {
    match s {
        "frequency" => Ok(VocabOrder::Frequency),
        "first-seen" => Ok(VocabOrder::FirstSeen),
        _ => Err(format!(
            "unknown vocab order {s:?}: expected frequency or first-seen"
        )),
    }
}

/// Arguments of `recur train`.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// rnn | lstm | lstm-packed | gru (the lesson's classifiers).
    #[arg(long, value_parser = parse_model, default_value = "lstm-packed")]
    pub model: ModelKind,
    /// Data folder with train.csv (or train_sample.csv) and test.csv (default $RECUR_DATA_DIR, else datasets/ag_news).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Training CSV (overrides --data).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test CSV (overrides --data).
    #[arg(long)]
    pub test: Option<PathBuf>,
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
    /// frequency (<unk>, <pad>, then by count) | first-seen (the current lesson's torchtext).
    #[arg(long, value_parser = parse_order, default_value = "frequency")]
    pub vocab_order: VocabOrder,
    /// Drop tokens seen fewer times.
    #[arg(long, default_value_t = 1)]
    pub min_freq: usize,
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
    /// Skip malformed CSV rows (counted and reported) instead of failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
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
    /// Test accuracy after the last epoch (None with --no-eval).
    pub test_accuracy: Option<f64>,
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

fn read(path: &std::path::Path, skip: bool) -> Result<Dataset> {
    let d = read_csv(
        path,
        ReadOptions {
            num_classes: AG_NEWS_CLASSES.len(),
            skip_bad_rows: skip,
        },
    )?;
    if !d.skipped.is_empty() {
        eprintln!(
            "skipped {} malformed rows of {} (first: {})",
            d.skipped.len(),
            path.display(),
            d.skipped[0]
        );
    }
    if d.is_empty() {
        bail!("{}: no example", path.display());
    }
    Ok(d)
}

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
    let files = locate(a.data.as_deref(), a.train.as_deref(), a.test.as_deref())?;
    if let Some(note) = &files.note {
        eprintln!("note: {note}");
    }
    let t_load = Instant::now();
    let (train_set, test_set) = rayon::join(
        || read(&files.train, a.skip_bad_rows),
        || {
            if a.no_eval {
                Ok(None)
            } else {
                read(&files.test, a.skip_bad_rows).map(Some)
            }
        },
    );
    let (train_set, test_set) = (train_set?, test_set?);
    let texts: Vec<&str> = train_set.examples.iter().map(|e| e.text.as_str()).collect();
    let mut vocab = Vocab::from_texts(&texts, a.vocab_order, a.min_freq);
    drop(texts);
    let natural = vocab.len();
    if let Some(pad) = a.vocab_pad.filter(|&p| p > vocab.len()) {
        let mut itos = vocab.itos().to_vec();
        itos.extend((itos.len()..pad).map(|i| format!("<dummy{i}>")));
        vocab = Vocab::from_counts(
            itos.into_iter().map(|t| (t, 1)).collect(),
            VocabOrder::FirstSeen,
            1,
        );
    }
    let train_enc = Arc::new(encode_dataset(&train_set.examples, &vocab));
    let test_enc = test_set
        .as_ref()
        .map(|t| encode_dataset(&t.examples, &vocab));
    eprintln!(
        "{} train rows ({}), {} test rows, vocab {} tokens ({}{}), {:.2}s",
        train_set.len(),
        files.train.display(),
        test_set.as_ref().map_or(0, Dataset::len),
        vocab.len(),
        a.vocab_order.name(),
        if vocab.len() != natural {
            format!(", {natural} natural")
        } else {
            String::new()
        },
        t_load.elapsed().as_secs_f64()
    );

    let mut config = ClassifierConfig::lesson(a.model, vocab.len());
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
    let run_config = RunConfig {
        model: config,
        classes: AG_NEWS_CLASSES.iter().map(|s| s.to_string()).collect(),
        tokenizer: "basic_english".into(),
        training: Some(json!({
            "train_file": files.train.display().to_string(), "test_file": files.test.display().to_string(),
            "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr, "seed": a.seed, "optimizer": a.optimizer,
            "momentum": a.momentum, "weight_decay": a.weight_decay, "vocab_order": a.vocab_order.name(),
            "min_freq": a.min_freq, "limit": a.limit, "sparse_embedding": a.sparse_embedding, "dtype": "f32", "vocab_pad": a.vocab_pad, "device": a.device,
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
            test_enc.as_ref(),
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
    run.save(&run_config, &vocab, &store)?;
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
    test: Option<&recur_data::Encoded>,
    (total_loss, batches, correct, count): (f64, usize, usize, usize),
    t0: Instant,
    metrics: &mut Vec<serde_json::Value>,
    summary: &mut TrainSummary,
) -> Result<()> {
    let secs = t0.elapsed().as_secs_f64();
    let mean_loss = total_loss / batches.max(1) as f64;
    let train_acc = correct as f64 / count.max(1) as f64;
    let test_acc = match test {
        Some(t) => {
            Some(evaluate(model, store, t, a.eval_batch_size.unwrap_or(a.batch_size))?.accuracy())
        }
        None => None,
    };
    summary.test_accuracy = test_acc;
    println!(
        "epoch {}: mean loss {mean_loss:.4}, running train acc {train_acc:.4}, test acc {}, {:.0} samples/s ({count} samples in {secs:.1}s)",
        epoch + 1,
        test_acc.map_or("-".to_string(), |t| format!("{t:.4}")),
        count as f64 / secs.max(1e-9)
    );
    metrics.push(json!({"kind": "epoch", "epoch": epoch + 1, "samples": count, "mean_loss": mean_loss, "train_accuracy": train_acc, "test_accuracy": test_acc, "seconds": secs, "samples_per_s": count as f64 / secs.max(1e-9)}));
    Ok(())
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
