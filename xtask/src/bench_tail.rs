//! The realistic-vocabulary rows of `cargo xtask bench --tail`: AG News rows cycled to 50,000
//! and 200,000 rows, each with rare words drawn from a long, Zipf-like tail (log-uniform
//! over four times as many words as rows), so the vocabulary grows with the data as real
//! corpora's do and most embedding rows are touched once or twice — the case where exact
//! lazy Adam must catch rows up. The lesson's packed LSTM, one epoch: recur's whole
//! `recur train` (load, vocabulary, steps, the final catch-up, the saved run folder) against
//! `seed_train.py`'s epoch alone (its loading excluded), same file, same run.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Tail words added to each row.
const TAIL_WORDS: usize = 3;

/// Writes `rows` rows of `train` cycled, each with rare tail words, to `out`.
fn generate(train: &Path, rows: usize, out: &Path) -> Result<()> {
    use std::io::Write as _;
    let text = std::fs::read_to_string(train)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(rows as u64);
    let tail = (4 * rows) as f64;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    for i in 0..rows {
        let line = lines[i % lines.len()];
        // AG News rows end with a quoted description: the words go inside its quotes
        let body = line.strip_suffix('"').unwrap_or(line);
        let words: Vec<String> = (0..TAIL_WORDS)
            .map(|_| {
                let id = (rng.gen::<f64>() * tail.ln()).exp() as u64;
                format!("zq{id}x")
            })
            .collect();
        writeln!(f, "{body} {}\"", words.join(" "))?;
    }
    f.flush()?;
    Ok(())
}

/// Runs the tail rows; one JSON row per size.
pub fn run(
    recur: &Path,
    python: Option<&Path>,
    script: &Path,
    data: &Path,
    train_file: &str,
    sizes: &[usize],
    tmp: &Path,
) -> Result<Vec<Value>> {
    let dir = tmp.join("tail");
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(data.join("test.csv"), dir.join("test.csv"))?;
    println!(
        "{:<26} {:>8} {:>10} {:>11} {:>11} {:>8}",
        "tail workload (1 epoch)", "vocab", "recur s", "pytorch s", "recur/s", "ratio"
    );
    let mut out = Vec::new();
    for &rows in sizes {
        let name = format!("tail{rows}.csv");
        let file = dir.join(&name);
        generate(&data.join(train_file), rows, &file)?;
        let summary = dir.join("summary.json");
        let t0 = Instant::now();
        let res = Command::new(recur)
            .args([
                "train",
                "--model",
                "lstm-packed",
                "--epochs",
                "1",
                "--no-eval",
            ])
            .args(["--vocab-order", "first-seen", "--seed", "0", "--train"])
            .arg(&file)
            .arg("--test")
            .arg(dir.join("test.csv"))
            .arg("--out")
            .arg(dir.join("run"))
            .arg("--summary")
            .arg(&summary)
            .output()?;
        let recur_s = t0.elapsed().as_secs_f64();
        if !res.status.success() {
            bail!(
                "recur train on {name}: {}",
                String::from_utf8_lossy(&res.stderr)
            );
        }
        let sum: Value = serde_json::from_str(&std::fs::read_to_string(&summary)?)?;
        let vocab = sum["vocab_size"].as_u64().unwrap_or(0);
        let torch = match python {
            Some(py) => {
                let o = Command::new(py)
                    .arg(script)
                    .arg("--data")
                    .arg(&dir)
                    .args([
                        "--train-file",
                        &name,
                        "--model",
                        "lstm-pack",
                        "--threads",
                        "2",
                    ])
                    .output()?;
                if !o.status.success() {
                    bail!(
                        "seed_train.py on {name}: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                let r: Value = text
                    .lines()
                    .find_map(|l| l.strip_prefix("RESULT "))
                    .map(serde_json::from_str)
                    .transpose()?
                    .unwrap_or(Value::Null);
                r["epoch_s"].as_f64()
            }
            None => None,
        };
        println!(
            "{:<26} {:>8} {:>10.1} {:>11} {:>11.0} {:>8}",
            format!("lstm-packed, {rows} rows"),
            vocab,
            recur_s,
            torch.map_or("-".into(), |t| format!("{t:.1}")),
            rows as f64 / recur_s,
            torch.map_or("-".into(), |t| format!("{:.1}x", t / recur_s))
        );
        out.push(
            json!({"workload": format!("tail {rows}"), "rows": rows, "vocab": vocab,
            "recur_wall_s": recur_s, "recur_train_s": sum["train_seconds"],
            "pytorch_epoch_s": torch}),
        );
        // RECUR_BENCH_KEEP=DIR keeps the generated file there (to time another binary on it)
        match std::env::var_os("RECUR_BENCH_KEEP") {
            Some(keep) => {
                std::fs::create_dir_all(&keep)?;
                std::fs::rename(&file, Path::new(&keep).join(&name))?;
            }
            None => {
                let _ = std::fs::remove_file(&file);
            }
        }
    }
    Ok(out)
}
