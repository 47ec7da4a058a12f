//! `cargo xtask bench --lm [--against-pytorch]`: the language-model row — PyTorch's
//! word_language_model configuration (2-layer LSTM of 200, tied, dropout 0.2, SGD at 20
//! clipped at 0.25, 20 streams, windows of 35, 3 epochs) trained on the texts of the
//! training file and validated on test.csv's, by `recur train --task lm` and, with
//! `--against-pytorch`, by `benches/reference/word_lm.py` in the same run: validation
//! perplexity per epoch and training tokens per second of each, and their ratios.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The two sides' flags for the same configuration.
const EPOCHS: &str = "3";

fn run_recur(recur: &Path, train: &Path, valid: &Path, seed: u64, tmp: &Path) -> Result<Value> {
    let summary = tmp.join("lm-summary.json");
    let out = Command::new(recur)
        .args([
            "train", "--task", "lm", "--tied", "--epochs", EPOCHS, "--seed",
        ])
        .arg(seed.to_string())
        .arg("--train")
        .arg(train)
        .arg("--valid")
        .arg(valid)
        .arg("--out")
        .arg(tmp.join("lm-run"))
        .arg("--summary")
        .arg(&summary)
        .output()?;
    if !out.status.success() {
        bail!(
            "recur train --task lm failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(&summary)?)?)
}

fn run_torch(
    python: &Path,
    script: &Path,
    train: &Path,
    valid: &Path,
    seed: u64,
) -> Result<Vec<Value>> {
    let out = Command::new(python)
        .arg(script)
        .arg("--train")
        .arg(train)
        .arg("--valid")
        .arg(valid)
        .args(["--tied", "--epochs", EPOCHS, "--threads", "2", "--seed"])
        .arg(seed.to_string())
        .output()?;
    if !out.status.success() {
        bail!(
            "word_lm.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).context("word_lm.py printed a bad line"))
        .collect()
}

/// Runs the language-model row; returns its JSON for `bench/results.json`.
pub fn run(
    recur: &Path,
    python: &Path,
    data: &Path,
    train_file: &str,
    against: bool,
    tmp: &Path,
) -> Result<Value> {
    let (train, valid) = (data.join(train_file), data.join("test.csv"));
    let ours = run_recur(recur, &train, &valid, 0, tmp)?;
    let ours_ppl: Vec<f64> = ours["epochs_detail"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["valid_ppl"].as_f64()).collect())
        .unwrap_or_default();
    let ours_tps = ours["tokens_per_s"].as_f64().unwrap_or(f64::NAN);
    println!(
        "language model ({} epochs of {}; validation perplexity per epoch, training tokens/s)",
        EPOCHS,
        train.display()
    );
    println!(
        "  recur:   {:?}  {:.0} tokens/s",
        ours_ppl
            .iter()
            .map(|p| (p * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        ours_tps
    );
    let mut row = json!({"recur": ours});
    if against {
        let script = crate::root().join("benches/reference/word_lm.py");
        let theirs = run_torch(python, &script, &train, &valid, 0)?;
        let their_ppl: Vec<f64> = theirs
            .iter()
            .filter_map(|e| e["valid_ppl"].as_f64())
            .collect();
        let secs: f64 = theirs.iter().filter_map(|e| e["seconds"].as_f64()).sum();
        let tokens: f64 = theirs
            .iter()
            .filter_map(|e| {
                e["tokens_per_s"]
                    .as_f64()
                    .zip(e["seconds"].as_f64())
                    .map(|(t, s)| t * s)
            })
            .sum();
        let their_tps = tokens / secs;
        println!(
            "  pytorch: {:?}  {:.0} tokens/s",
            their_ppl
                .iter()
                .map(|p| (p * 10.0).round() / 10.0)
                .collect::<Vec<_>>(),
            their_tps
        );
        if let (Some(a), Some(b)) = (ours_ppl.last(), their_ppl.last()) {
            println!(
                "  final perplexity: recur / PyTorch = {:.3}; tokens/s: {:.2}x",
                a / b,
                ours_tps / their_tps
            );
        }
        row["pytorch"] = json!(theirs);
    }
    Ok(row)
}
