//! `recur predict`: class and probabilities for each text (arguments, or lines on stdin),
//! read and run by the run's [`recur_train::Predictor`] exactly as `eval` and `serve` do.

use std::io::BufRead;

use anyhow::{Context, Result};
use recur_cpu::Cpu;
use recur_train::{Prediction, RunDir};

use crate::args::PredictArgs;

/// Runs `recur predict`.
pub fn predict(a: &PredictArgs) -> Result<()> {
    let run = RunDir::new(&a.run).load_classifier(&Cpu)?;
    let names = run.class_names();
    let emit = |text: &str| -> Result<()> {
        match run.predict(&[text])?.pop().flatten() {
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
            Some(Prediction {
                probabilities: p,
                class,
            }) => {
                if a.json {
                    let probs: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(&p)
                        .map(|(n, v)| (n.clone(), serde_json::json!(v)))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({"text": text, "class": names[class],
                            "probabilities": probs})
                    );
                } else {
                    let probs: Vec<String> = names
                        .iter()
                        .zip(&p)
                        .map(|(n, v)| format!("{n}={v:.4}"))
                        .collect();
                    println!("{}\t{}", names[class], probs.join(" "));
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
