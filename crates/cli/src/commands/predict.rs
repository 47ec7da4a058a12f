//! `recur predict`: class and probabilities for each text (arguments, or lines on stdin),
//! read and run by the run's [`recur_train::Predictor`] exactly as `eval` and `serve` do.

use anyhow::{bail, Context, Result};
use recur_cpu::Cpu;
use recur_data::{Line, Lines, MAX_ROW_BYTES};
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
        // one text a line, each bounded as it is read (a runaway line is refused when it
        // crosses the limit, never read whole)
        let mut lines = Lines::new(std::io::stdin().lock(), MAX_ROW_BYTES);
        while let Some((number, line)) = lines.next_line().context("reading stdin")? {
            let text = match line {
                Line::Text(t, _) => std::str::from_utf8(t)
                    .with_context(|| format!("stdin line {number}: not valid UTF-8"))?,
                Line::TooLong => bail!(
                    "stdin line {number}: over the limit of {MAX_ROW_BYTES} bytes for one text"
                ),
            };
            emit(text)?;
        }
    } else {
        for t in &a.texts {
            emit(t)?;
        }
    }
    Ok(())
}
