//! `recur eval`: loss, accuracy, macro-F1, per-class precision / recall / F1 and the
//! confusion matrix of a run on a labelled file read as the run remembers (the scores are
//! `recur-train`'s).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use recur_data::{encode_dataset, locate};
use recur_tensor::Backend;
use recur_train::{evaluate, Evaluation, Scores};

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
        bail!(
            "the run was trained with the {tokenizer} tokenizer; --tokenizer {t} would feed it \
            different tokens"
        );
    }
    let skip = a.data_args.skip_bad_rows;
    let raw = read_raw(&test, &spec, tokenizer, skip)?;
    let data = assign(&run.config.classes()?, raw, skip)?;
    let mut enc = encode_dataset(&data.examples, &run.vocab, tokenizer);
    if let Some(max) = run.config.max_tokens {
        enc.truncate(max);
    }
    let Evaluation { scores, loss } = evaluate(&run.model, &run.store, &enc, a.batch_size)?;
    let names = run.config.class_names();
    if a.json {
        let per: Vec<_> = scores
            .per_class()
            .iter()
            .zip(&names)
            .map(|((p, r, f, s), n)| {
                serde_json::json!({"class": n, "precision": p, "recall": r, "f1": f,
            "support": s})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"file": test.display().to_string(), "examples": data.len(),
                "loss": loss, "accuracy": scores.accuracy(), "macro_f1": scores.macro_f1(),
                "per_class": per, "confusion": scores.confusion})
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
