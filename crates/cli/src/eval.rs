//! `recur eval`: loss, accuracy, macro-F1, per-class precision / recall / F1 and the
//! confusion matrix of a run on a labelled file read as the run remembers; [`evaluate`] is
//! shared with training's end-of-epoch validation and test passes.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use recur_autograd::Tape;
use recur_data::{collate, encode_dataset, locate, Encoded, Loader};
use recur_layers::{Classifier, ParamStore};
use recur_tensor::Backend;

use crate::data_args::{assign, read_raw, DataArgs};
use crate::RunDir;

/// Arguments of `recur eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Labelled file to evaluate on, read as the run's training data was unless flags say
    /// otherwise (default: test.csv of --data / $RECUR_DATA_DIR).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Data folder holding test.csv.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How the file is read (overrides what the run remembers).
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Batch size (padded models see padding, so this matters for them; the lesson used 16).
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Print the scores as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// cpu | cuda.
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub device: String,
}

/// A confusion matrix and the scores derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scores {
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Scores {
    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.confusion.iter().flatten().sum();
        let correct: usize = (0..self.confusion.len())
            .map(|i| self.confusion[i][i])
            .sum();
        if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        }
    }

    /// Mean F1 over the classes that occur among the true or the predicted labels
    /// (scikit-learn's `f1_score(average="macro")`).
    pub fn macro_f1(&self) -> f64 {
        let k = self.confusion.len();
        let f1: Vec<f64> = self
            .per_class()
            .iter()
            .enumerate()
            .filter(|(c, (_, _, _, support))| {
                *support > 0 || (0..k).any(|t| self.confusion[t][*c] > 0)
            })
            .map(|(_, (_, _, f, _))| *f)
            .collect();
        if f1.is_empty() {
            0.0
        } else {
            f1.iter().sum::<f64>() / f1.len() as f64
        }
    }

    /// `(precision, recall, f1, support)` per class (0 where undefined).
    pub fn per_class(&self) -> Vec<(f64, f64, f64, usize)> {
        let k = self.confusion.len();
        (0..k)
            .map(|c| {
                let tp = self.confusion[c][c] as f64;
                let predicted: usize = (0..k).map(|t| self.confusion[t][c]).sum();
                let support: usize = self.confusion[c].iter().sum();
                let p = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let r = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if p + r == 0.0 {
                    0.0
                } else {
                    2.0 * p * r / (p + r)
                };
                (p, r, f1, support)
            })
            .collect()
    }
}

/// Row-wise argmax of `[B, K]` logits.
pub fn argmax_rows(logits: &[f32], k: usize) -> Vec<usize> {
    logits
        .chunks_exact(k)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// Scores and mean cross-entropy of a model on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The confusion matrix and what derives from it.
    pub scores: Scores,
    /// Mean cross-entropy loss per example.
    pub loss: f64,
}

/// Runs the model over `data` in file order, `batch_size` rows at a time, without gradients.
pub fn evaluate<B: Backend>(
    model: &Classifier,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<Evaluation> {
    let k = model.config.num_class;
    let mut confusion = vec![vec![0; k]; k];
    let mut loss_sum = 0.0;
    for idx in Loader::new(data.len(), batch_size, false, false, 0, 0)?.batches() {
        let batch = collate(data, idx)?;
        if let Some(&t) = batch.labels.iter().find(|&&t| t >= k) {
            bail!("label {} is outside the model's {k} classes", t + 1);
        }
        let tape = Tape::no_grad(store.backend());
        let logits = model.forward(&tape, store, &batch.tokens, &batch.lengths, None)?;
        let loss = tape.cross_entropy(logits, &batch.labels)?;
        loss_sum += tape.value(loss).scalar()? * batch.len() as f64;
        let preds = argmax_rows(&tape.value(logits).to_f32_vec()?, k);
        for (&t, &p) in batch.labels.iter().zip(&preds) {
            confusion[t][p] += 1;
        }
    }
    Ok(Evaluation {
        scores: Scores { confusion },
        loss: loss_sum / data.len().max(1) as f64,
    })
}

/// Runs `recur eval`.
pub fn eval(a: &EvalArgs) -> Result<Scores> {
    match a.device.as_str() {
        "cuda" => eval_on(&recur_cuda::Cuda::new(0)?, a),
        _ => eval_on(&recur_cpu::Cpu, a),
    }
}

fn eval_on<B: Backend>(backend: &B, a: &EvalArgs) -> Result<Scores> {
    let run = RunDir::new(&a.run).load_on(backend)?;
    let test = match &a.test {
        Some(t) => t.clone(),
        None => locate(a.data.as_deref(), None, None)?.test,
    };
    let spec = a.data_args.spec_over(&run.config.data);
    let tokenizer = run.config.tokenizer;
    if let Some(t) = a.data_args.tokenizer.filter(|&t| t != tokenizer) {
        bail!("the run was trained with the {tokenizer} tokenizer; --tokenizer {t} would feed it different tokens");
    }
    let skip = a.data_args.skip_bad_rows;
    let raw = read_raw(&test, &spec, tokenizer, skip)?;
    let data = assign(&run.config.classes()?, raw, skip)?;
    let enc = encode_dataset(&data.examples, &run.vocab, tokenizer);
    let Evaluation { scores, loss } = evaluate(&run.model, &run.store, &enc, a.batch_size)?;
    let names = run.config.class_names();
    if a.json {
        let per: Vec<_> = scores.per_class().iter().zip(&names).map(|((p, r, f, s), n)| serde_json::json!({"class": n, "precision": p, "recall": r, "f1": f, "support": s})).collect();
        println!(
            "{}",
            serde_json::json!({"file": test.display().to_string(), "examples": data.len(), "loss": loss, "accuracy": scores.accuracy(), "macro_f1": scores.macro_f1(), "per_class": per, "confusion": scores.confusion})
        );
        return Ok(scores);
    }
    println!(
        "{}: {} examples, accuracy {:.4}, macro-F1 {:.4}, loss {:.4}",
        test.display(),
        data.len(),
        scores.accuracy(),
        scores.macro_f1(),
        loss
    );
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    println!(
        "{:<w$} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "f1", "support"
    );
    for ((p, r, f, s), n) in scores.per_class().iter().zip(&names) {
        println!("{n:<w$} {p:>9.4} {r:>9.4} {f:>9.4} {s:>8}");
    }
    println!("confusion (rows: true class, columns: predicted)");
    print!("{:<w$}", "");
    for n in &names {
        print!(" {:>9}", truncate(n));
    }
    println!();
    for (row, n) in scores.confusion.iter().zip(&names) {
        print!("{n:<w$}");
        for v in row {
            print!(" {v:>9}");
        }
        println!();
    }
    Ok(scores)
}

fn truncate(s: &str) -> String {
    s.chars().take(9).collect()
}
