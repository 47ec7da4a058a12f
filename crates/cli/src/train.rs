//! `recur train`: flags → data, model, optimizer and [`recur_train::Trainer`]; prints the
//! lesson's progress lines (running accuracy every 3,200 samples) and one line per epoch
//! (validation loss / accuracy / macro-F1, test accuracy). The run folder is committed as
//! one unit at every epoch end (and every `--save-every` steps); Ctrl-C stops after the
//! current batch with a resumable run; `--resume RUN` continues it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use recur_data::load_vectors;
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, Optimizer, ParamStore, Sgd, SgdConfig,
};
use recur_tensor::{Backend, DType};
use recur_train::{
    train_skipgram, Datasets, RunOutput, RunWriter, ScheduleConfig, SkipGramConfig, TrainConfig,
    Trainer,
};

pub use crate::train_args::{Task, TrainArgs};
use crate::train_data::TrainData;
use crate::train_report::{write_summary, Printer};
use crate::RunConfig;

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
