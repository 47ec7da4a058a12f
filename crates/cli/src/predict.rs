//! `recur predict`: class and probabilities for each text (arguments, or lines on stdin).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use recur_cpu::Cpu;

use crate::{LoadedRun, RunDir};

/// Arguments of `recur predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Texts to classify; none reads one text per line from stdin.
    pub texts: Vec<String>,
    /// Print one JSON object per text.
    #[arg(long)]
    pub json: bool,
}

/// Class probabilities of one text, tokenized as the run was trained (a batch of one, so no
/// padding is involved); `None` when the text has no token.
pub fn probabilities(run: &LoadedRun<Cpu>, text: &str) -> Result<Option<Vec<f64>>> {
    match run.encode(text) {
        None => Ok(None),
        Some(ids) => Ok(run.probabilities(&[ids])?.pop()),
    }
}

/// Runs `recur predict`.
pub fn predict(a: &PredictArgs) -> Result<()> {
    let run = RunDir::new(&a.run).load_on(&Cpu)?;
    let names = run.config.class_names();
    let emit = |text: &str| -> Result<()> {
        match probabilities(&run, text)? {
            None => {
                if a.json {
                    println!(
                        "{}",
                        serde_json::json!({"text": text, "error": "no token in text"})
                    );
                } else {
                    println!("-\t(no token in text)");
                }
            }
            Some(p) => {
                let best = p
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, &v)| if v > p[b] { i } else { b });
                if a.json {
                    let probs: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(&p)
                        .map(|(n, v)| (n.clone(), serde_json::json!(v)))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({"text": text, "class": names[best],
                            "probabilities": probs})
                    );
                } else {
                    let probs: Vec<String> = names
                        .iter()
                        .zip(&p)
                        .map(|(n, v)| format!("{n}={v:.4}"))
                        .collect();
                    println!("{}\t{}", names[best], probs.join(" "));
                }
            }
        }
        Ok(())
    };
    if a.texts.is_empty() {
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            emit(&line.with_context(|| format!("stdin line {}", i + 1))?)?;
        }
    } else {
        for t in &a.texts {
            emit(t)?;
        }
    }
    Ok(())
}
