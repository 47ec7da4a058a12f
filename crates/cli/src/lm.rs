//! Language models on the command line: `recur train --task lm` (PyTorch's
//! word_language_model on your texts) and `recur eval` of a language-model run (test
//! perplexity); `recur generate` is in `generate.rs`. A run folder holds `config.json`
//! (`"task": "lm"`, the model, tokenizer and how the files were read), `vocab.txt` (`<unk>`,
//! `<eos>`, then the training tokens in first-seen order), `model.safetensors` (the best
//! epoch by validation perplexity), `metrics.jsonl` and `checkpoint/`.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use recur_cpu::Cpu;
use recur_data::{
    lm_ids, lm_vocab, read_documents, ReadSpec, Streams, Tokenizer, Vocab, VocabOrder,
};
use recur_layers::{rng, LanguageModel, LmConfig, ParamStore};
use recur_tensor::{Backend, CellKind, DType};
use recur_train::{lm_loss, load_params, LmObserver, LmTrainConfig, LmTrainer, RunWriter};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::data_args::DataArgs;
use crate::train::{optimizer, stop_flag, TrainArgs, TrainSummary};

/// `config.json` of a language-model run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmRunConfig {
    /// Always `"lm"`: tells language-model runs from classifier runs.
    pub task: String,
    /// The model.
    pub model: LmConfig,
    /// How texts become tokens.
    pub tokenizer: Tokenizer,
    /// How the training file was read (reused for `eval`'s file).
    pub data: ReadSpec,
    /// The flags of the training run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<Value>,
}

/// A language model loaded from a run folder.
pub struct LoadedLm<B: Backend> {
    /// Its config.
    pub config: LmRunConfig,
    /// Its vocabulary.
    pub vocab: Vocab,
    /// Its parameters.
    pub store: ParamStore<B>,
    /// The model.
    pub model: LanguageModel,
}

/// True when `run/config.json` says `"task": "lm"`.
pub fn is_lm_run(run: &Path) -> bool {
    std::fs::read_to_string(run.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| v["task"] == "lm")
}

/// Loads the language-model run in `run` onto `backend`, checking config, vocabulary and
/// parameters against each other.
pub fn load_lm<B: Backend>(backend: &B, run: &Path) -> Result<LoadedLm<B>> {
    let cp = run.join("config.json");
    let text = std::fs::read_to_string(&cp).with_context(|| format!("reading {}", cp.display()))?;
    let config: LmRunConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a language-model run config", cp.display()))?;
    if config.task != "lm" {
        bail!(
            "{}: \"task\" is {:?}, not \"lm\"",
            cp.display(),
            config.task
        );
    }
    let vocab = Vocab::load_as(&run.join("vocab.txt"), VocabOrder::Lm)?;
    if vocab.len() != config.model.vocab_size {
        bail!(
            "{}: {} tokens but config.json says vocab_size {}",
            run.join("vocab.txt").display(),
            vocab.len(),
            config.model.vocab_size
        );
    }
    let mut store = ParamStore::new(backend, DType::F32);
    let model = LanguageModel::new(&mut store, config.model.clone(), &mut rng(0))?;
    load_params(&mut store, &run.join("model.safetensors"))?;
    Ok(LoadedLm {
        config,
        vocab,
        store,
        model,
    })
}

/// Prints the trainer's records.
struct Printer;

impl LmObserver for Printer {
    fn report(&mut self, r: &Value) {
        println!(
            "| epoch {} | {:>5}/{} windows | lr {:.4} | ms/window {:.1} | loss {:.3} | ppl {:.2}",
            r["epoch"],
            r["window"],
            r["windows"],
            r["lr"].as_f64().unwrap_or(0.0),
            r["ms_per_window"].as_f64().unwrap_or(0.0),
            r["loss"].as_f64().unwrap_or(0.0),
            r["ppl"].as_f64().unwrap_or(0.0)
        );
    }

    fn epoch_done(&mut self, r: &Value) {
        let valid = match (r["valid_loss"].as_f64(), r["valid_ppl"].as_f64()) {
            (Some(l), Some(p)) => format!(", valid loss {l:.3} ppl {p:.2}"),
            _ => String::new(),
        };
        let best = if r["best"] == true { " (best)" } else { "" };
        println!(
            "epoch {}: train loss {:.3} ppl {:.2}{valid}{best}, lr {}",
            r["epoch"],
            r["train_loss"].as_f64().unwrap_or(f64::NAN),
            r["train_ppl"].as_f64().unwrap_or(f64::NAN),
            r["lr"]
        );
    }

    fn stop_requested(&self) -> bool {
        stop_flag().load(Ordering::SeqCst)
    }
}

/// The documents of `path` as `spec` and `tokenizer` read them.
fn documents(path: &Path, spec: &ReadSpec, tokenizer: Tokenizer) -> Result<Vec<String>> {
    read_documents(path, spec, tokenizer).with_context(|| format!("reading {}", path.display()))
}

/// `recur train --task lm` on `backend`.
pub fn train_lm<B: Backend>(backend: &B, a: &TrainArgs) -> Result<TrainSummary> {
    let config = LmTrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        eval_batch_size: a.eval_batch_size.unwrap_or(10),
        bptt: a.bptt,
        clip_grad_norm: a.clip_grad_norm,
        lr_decay: 4.0,
        log_interval: a.report_every,
    };
    config.validate()?;
    let cell = a.cell.unwrap_or(CellKind::Lstm);
    let opt = optimizer::<B>(a)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/lm-seed{}", a.seed)));
    let stop = stop_flag();
    stop.store(false, Ordering::SeqCst);
    let writer = RunWriter::open(&out)?;
    let Some(train_path) = &a.train else {
        bail!(
            "--task lm needs --train FILE: a text file (one document per line) or a labelled \
            file whose texts are read"
        );
    };
    let tokenizer = a.data_args.tokenizer.unwrap_or_default();
    let spec = a.data_args.spec_over(&ReadSpec::default());
    let t0 = std::time::Instant::now();
    let train_docs = documents(train_path, &spec, tokenizer)?;
    let refs: Vec<&str> = train_docs.iter().map(String::as_str).collect();
    let vocab = lm_vocab(&refs, tokenizer, a.min_freq, a.max_vocab);
    let train_ids = lm_ids(&refs, tokenizer, &vocab);
    let train = Streams::new(&train_ids, a.batch_size)?;
    let valid = match &a.valid {
        Some(p) => {
            let docs = documents(p, &spec, tokenizer)?;
            let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
            let ids = lm_ids(&refs, tokenizer, &vocab);
            Some(Streams::new(&ids, config.eval_batch_size)?)
        }
        None => None,
    };
    eprintln!(
        "{} documents, {} training tokens in {} streams of {}, vocabulary {} ({}), {}{:.2}s",
        train_docs.len(),
        train_ids.len(),
        train.batch(),
        train.rows(),
        vocab.len(),
        tokenizer.name(),
        valid.as_ref().map_or(String::new(), |v| format!(
            "{} validation tokens, ",
            v.predictions() + v.batch()
        )),
        t0.elapsed().as_secs_f64()
    );
    if stop.load(Ordering::SeqCst) {
        eprintln!("interrupted while loading the data: nothing was trained or saved");
        return Ok(interrupted_summary());
    }
    let model_config = LmConfig {
        vocab_size: vocab.len(),
        embed_dim: a.embed,
        hidden_dim: a.hidden,
        num_layers: a.layers,
        cell,
        dropout: a.dropout,
        tied: a.tied,
    };
    let mut store = ParamStore::new(backend, DType::F32);
    let model = LanguageModel::new(&mut store, model_config.clone(), &mut rng(a.seed))?;
    let run_config = LmRunConfig {
        task: "lm".into(),
        model: model_config,
        tokenizer,
        data: spec,
        training: Some(serde_json::to_value(a)?),
    };
    let mut vocab_text = vocab.itos().join("\n");
    vocab_text.push('\n');
    let files = vec![
        (
            "config.json".to_string(),
            serde_json::to_vec_pretty(&run_config)?,
        ),
        ("vocab.txt".to_string(), vocab_text.into_bytes()),
    ];
    let mut trainer = LmTrainer::new(config, &model, store, opt, rng(a.seed ^ 0x5eed_d20f))
        .with_output(writer, files, serde_json::to_value(a)?);
    if a.resume.is_some() {
        trainer.resume()?;
        let p = trainer.progress();
        eprintln!(
            "resuming {} after epoch {} (lr {})",
            out.display(),
            p.epoch,
            p.lr
        );
    }
    let fit = trainer.fit(&train, valid.as_ref(), &mut Printer)?;
    if fit.interrupted {
        let done = trainer.progress().epoch;
        if done == 0 {
            eprintln!(
                "interrupted in the first epoch: nothing was saved, and {} is left as it was",
                out.display()
            );
        } else {
            eprintln!(
                "interrupted in epoch {}: the checkpoint after epoch {done} in {} stands (continue \
                    with: recur train --resume {})",
                done + 1,
                out.display(),
                out.display()
            );
        }
    } else {
        eprintln!(
            "saved run to {} ({:.0} training tokens/s)",
            out.display(),
            fit.tokens_per_s
        );
    }
    if let Some(path) = &a.summary {
        let epochs: Vec<&Value> = trainer
            .metrics()
            .iter()
            .filter(|m| m["kind"] == "epoch")
            .collect();
        let j = json!({
            "task": "lm", "seed": a.seed, "epochs": fit.epochs, "train_loss": fit.train_loss,
            "valid_loss": fit.valid_loss, "valid_ppl": fit.valid_loss.map(f64::exp),
            "tokens_per_s": fit.tokens_per_s, "train_seconds": trainer.progress().train_seconds,
            "vocab_size": vocab.len(), "train_tokens": train_ids.len(),
            "epochs_detail": epochs,
        });
        std::fs::write(path, serde_json::to_string_pretty(&j)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(TrainSummary {
        samples: train.predictions() * fit.epochs,
        train_seconds: trainer.progress().train_seconds,
        train_accuracy: 0.0,
        test_accuracy: None,
        valid_accuracy: None,
        interrupted: fit.interrupted,
    })
}

fn interrupted_summary() -> TrainSummary {
    TrainSummary {
        samples: 0,
        train_seconds: 0.0,
        train_accuracy: 0.0,
        test_accuracy: None,
        valid_accuracy: None,
        interrupted: true,
    }
}

/// Test loss and perplexity of a language-model run on `test`, read as the run's training
/// file was (unless `data_args` say otherwise).
pub fn eval_lm(run: &Path, test: &Path, data_args: &DataArgs, json: bool) -> Result<f64> {
    let lm = load_lm(&Cpu, run)?;
    let tokenizer = lm.config.tokenizer;
    if let Some(t) = data_args.tokenizer.filter(|&t| t != tokenizer) {
        bail!(
            "the run was trained with the {tokenizer} tokenizer; --tokenizer {t} would feed it \
            different tokens"
        );
    }
    let spec = data_args.spec_over(&lm.config.data);
    let docs = documents(test, &spec, tokenizer)?;
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let ids = lm_ids(&refs, tokenizer, &lm.vocab);
    let unknown = ids.iter().filter(|&&i| i == lm.vocab.unk_id()).count();
    let bptt = lm
        .config
        .training
        .as_ref()
        .and_then(|t| t["bptt"].as_u64())
        .unwrap_or(35) as usize;
    let data = Streams::new(&ids, 10)?;
    let loss = lm_loss(&lm.model, &lm.store, &data, bptt)?;
    if json {
        println!(
            "{}",
            json!({"file": test.display().to_string(), "tokens": ids.len(), "unknown": unknown,
                "loss": loss, "perplexity": loss.exp()})
        );
    } else {
        println!(
            "{}: {} tokens ({} unknown), loss {:.4}, perplexity {:.2}",
            test.display(),
            ids.len(),
            unknown,
            loss,
            loss.exp()
        );
    }
    Ok(loss)
}

/// The tokenizer and vocabulary of the language-model run `run` (for `--init-encoder`).
pub fn encoder_vocab(run: &Path) -> Result<(Tokenizer, Vocab)> {
    if !is_lm_run(run) {
        bail!(
            "--init-encoder {}: not a language-model run (recur train --task lm)",
            run.display()
        );
    }
    let lm = load_lm(&Cpu, run)?;
    Ok((lm.config.tokenizer, lm.vocab))
}

/// Copies the embedding and recurrent layers of the language-model run `run` into a
/// classifier's `store` (`encoder.weight` → `embedding.weight`, `rnn.*` → `rnn.*`), every
/// shape checked; returns the ids of the parameters copied.
pub fn init_from_lm<B: Backend>(
    run: &Path,
    store: &mut ParamStore<B>,
) -> Result<Vec<recur_layers::ParamId>> {
    let lm = load_lm(store.backend(), run)?;
    let mut copied = Vec::new();
    for (_, name, value) in lm.store.iter() {
        let target = match name {
            "encoder.weight" => "embedding.weight",
            n if n.starts_with("rnn.") => n,
            _ => continue,
        };
        let Some(id) = store.id(target) else {
            bail!(
                "--init-encoder: the classifier has no {target} for the language model's {name}: \
                give it the model's --cell, --layers, --embed and --hidden (no --bidirectional, no \
                --proj-size)"
            );
        };
        store.set(id, value.clone()).with_context(|| {
            format!(
                "--init-encoder: {name} of {} does not fit the classifier",
                run.display()
            )
        })?;
        copied.push(id);
    }
    let missing: Vec<&str> = store
        .iter()
        .filter(|(id, n, _)| n.starts_with("rnn.") && !copied.contains(id))
        .map(|(_, n, _)| n)
        .collect();
    if !missing.is_empty() {
        bail!(
            "--init-encoder: the language model of {} has no {}: give the classifier its --layers \
                and --cell",
            run.display(),
            missing.join(", ")
        );
    }
    Ok(copied)
}
