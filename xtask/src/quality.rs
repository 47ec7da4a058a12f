//! `cargo xtask quality`: test accuracy and time on a split given as two labelled CSV files
//! (label first, text in the other columns), in one run: `recur train --preset strong` and
//! `recur train --autotune SECONDS` (each seed's saved model evaluated by `recur eval`),
//! beside fastText with word bigrams, fastText's own autotune on a stratified tenth of the
//! training file with the same budget, and TF-IDF + logistic regression
//! (`benches/reference/quality.py` in the reference venv). `--sizes` repeats the table on
//! training sets of the first N rows of a seeded shuffle of the training file. Prints the
//! table and writes `bench/quality.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

/// Arguments of `cargo xtask quality`.
#[derive(Args)]
pub struct QualityArgs {
    /// The training file (default: train_sample.csv of $RECUR_DATA_DIR or
    /// ../shared/datasets/ag_news).
    #[arg(long)]
    train: Option<PathBuf>,
    /// The test file (default: test.csv beside the default training file).
    #[arg(long)]
    test: Option<PathBuf>,
    /// recur's seeds (the preset and the search are run once per seed).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// Seconds of each search (recur's --autotune and fastText's autotuneDuration).
    #[arg(long, default_value_t = 60.0)]
    budget: f64,
    /// Also train on the first N rows of a seeded shuffle of the training file, for each N.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Leave out recur's search (the preset and the baselines only).
    #[arg(long)]
    no_autotune: bool,
    /// Python with fasttext and scikit-learn (default ~/.torchref/bin/python).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the results go (default bench/quality.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `cmd` to its end: its stdout, or an error with its stderr.
fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The test accuracy of the run in `run` on `test`, by `recur eval`.
fn eval(recur: &Path, run: &Path, test: &Path) -> Result<f64> {
    let text = output(Command::new(recur).args([
        "eval".as_ref(),
        "--run".as_ref(),
        run.as_os_str(),
        "--test".as_ref(),
        test.as_os_str(),
        "--json".as_ref(),
    ]))?;
    let v: Value = serde_json::from_str(text.trim())?;
    v["accuracy"]
        .as_f64()
        .context("recur eval printed no accuracy")
}

/// One recur run of `flags` on `train` per seed: test accuracy and wall seconds each.
fn recur_runs(
    recur: &Path,
    flags: &[&str],
    train: &Path,
    test: &Path,
    seeds: &[u64],
    work: &Path,
) -> Result<Vec<(u64, f64, f64)>> {
    let mut rows = Vec::new();
    for &seed in seeds {
        let out = work.join(format!("run-{}-{seed}", flags.join("").replace('-', "")));
        let _ = std::fs::remove_dir_all(&out);
        let seed_text = seed.to_string();
        let mut cmd = Command::new(recur);
        cmd.arg("train")
            .args(flags)
            .arg("--train")
            .arg(train)
            .args(["--seed", &seed_text, "--out"])
            .arg(&out);
        let t0 = Instant::now();
        output(&mut cmd)?;
        let secs = t0.elapsed().as_secs_f64();
        let acc = eval(recur, &out, test)?;
        eprintln!(
            "  recur {} seed {seed}: {:.2}% in {secs:.1} s",
            flags.join(" "),
            acc * 100.0
        );
        rows.push((seed, acc, secs));
        let _ = std::fs::remove_dir_all(&out);
    }
    Ok(rows)
}

/// The first `n` rows of a seeded shuffle of `train`, written to `out`.
fn subset(train: &Path, n: usize, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(train).with_context(|| train.display().to_string())?;
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if n > lines.len() {
        bail!("--sizes {n}: {} has {} rows", train.display(), lines.len());
    }
    // a fixed Fisher–Yates shuffle (splitmix64), the same on every machine
    let mut state = 0x5eed_u64;
    for i in (1..lines.len()).rev() {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        lines.swap(i, (z % (i as u64 + 1)) as usize);
    }
    let mut body = lines[..n].join("\n");
    body.push('\n');
    std::fs::write(out, body)?;
    Ok(())
}

/// The table of one split: recur's preset (and search) per seed and the baselines.
fn split_table(
    a: &QualityArgs,
    recur: &Path,
    python: &Path,
    train: &Path,
    test: &Path,
    work: &Path,
) -> Result<Value> {
    let budget = a.budget.to_string();
    let mut models = Vec::new();
    let preset = recur_runs(recur, &["--preset", "strong"], train, test, &a.seeds, work)?;
    models.push(("recur --preset strong".to_string(), preset));
    if !a.no_autotune {
        let search = recur_runs(recur, &["--autotune", &budget], train, test, &a.seeds, work)?;
        models.push((format!("recur --autotune {budget}"), search));
    }
    let script = crate::root().join("benches/reference/quality.py");
    let mut baselines = Vec::new();
    for &seed in &a.seeds {
        let text = output(
            Command::new(python)
                .arg(&script)
                .arg(train)
                .arg(test)
                .args(["--budget", &budget, "--seed", &seed.to_string()]),
        )?;
        for line in text.lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(line)?;
            let name = v["model"].as_str().unwrap_or("?").to_string();
            let (acc, secs) = (
                v["test_accuracy"].as_f64().unwrap_or(f64::NAN),
                v["seconds"].as_f64().unwrap_or(f64::NAN),
            );
            match v["error"].as_str() {
                Some(e) => eprintln!("  {name} seed {seed}: failed ({e})"),
                None => eprintln!("  {name} seed {seed}: {:.2}% in {secs:.1} s", acc * 100.0),
            }
            baselines.push((name, seed, acc, secs));
        }
    }
    let mut names: Vec<String> = Vec::new();
    for b in &baselines {
        if !names.contains(&b.0) {
            names.push(b.0.clone());
        }
    }
    for name in names {
        let rows = baselines
            .iter()
            .filter(|b| b.0 == name)
            .map(|b| (b.1, b.2, b.3))
            .collect();
        models.push((name, rows));
    }
    Ok(Value::Array(
        models
            .into_iter()
            .map(|(name, rows)| {
                // a failed run (NaN accuracy) is left out of the mean and shown as failed
                let ok: Vec<&(u64, f64, f64)> = rows.iter().filter(|r| r.1.is_finite()).collect();
                let n = ok.len().max(1) as f64;
                let mean = match ok.len() {
                    0 => f64::NAN,
                    _ => ok.iter().map(|r| r.1).sum::<f64>() / n,
                };
                let secs = ok.iter().map(|r| r.2).sum::<f64>() / n;
                json!({
                    "model": name,
                    "mean_test_accuracy": mean,
                    "mean_seconds": secs,
                    "per_seed": rows.iter().map(|r| json!({"seed": r.0, "test_accuracy": r.1,
                        "seconds": r.2})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    ))
}

/// Prints one split's table.
fn print_table(title: &str, table: &Value) {
    println!(
        "\n{title}\n| model | test accuracy (mean) | per seed | time (mean) |\n|---|---|---|---|"
    );
    for m in table.as_array().into_iter().flatten() {
        let per: Vec<String> = m["per_seed"]
            .as_array()
            .into_iter()
            .flatten()
            .map(
                |r| match r["test_accuracy"].as_f64().filter(|a| a.is_finite()) {
                    Some(a) => format!("{:.2}", a * 100.0),
                    None => "failed".into(),
                },
            )
            .collect();
        let mean = match m["mean_test_accuracy"].as_f64().filter(|a| a.is_finite()) {
            Some(a) => format!("{:.2}%", a * 100.0),
            None => "failed".into(),
        };
        let secs = match m["mean_seconds"].as_f64().filter(|s| *s > 0.0) {
            Some(s) => format!("{s:.1} s"),
            None => "—".into(),
        };
        let name = m["model"].as_str().unwrap_or("?");
        println!("| {name} | {mean} | {} | {secs} |", per.join(" / "));
    }
}

/// Runs `xtask quality`.
pub fn run(a: &QualityArgs) -> Result<()> {
    let data = std::env::var_os("RECUR_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("../shared/datasets/ag_news"));
    let train = a
        .train
        .clone()
        .unwrap_or_else(|| data.join("train_sample.csv"));
    let test = a.test.clone().unwrap_or_else(|| data.join("test.csv"));
    for f in [&train, &test] {
        if !f.is_file() {
            bail!("{} is not a file (pass --train and --test)", f.display());
        }
    }
    if !(a.budget.is_finite() && a.budget > 0.0) || a.seeds.is_empty() {
        bail!("--budget must be a positive number of seconds and --seeds name one or more");
    }
    let python = a
        .python
        .clone()
        .unwrap_or_else(crate::bench::default_python);
    let recur = crate::build_recur()?;
    let work = crate::target_dir().join("quality");
    std::fs::create_dir_all(&work)?;
    let mut results = Vec::new();
    eprintln!("{} → {}", train.display(), test.display());
    let whole = split_table(a, &recur, &python, &train, &test, &work)?;
    print_table(&format!("{} (all rows)", train.display()), &whole);
    results.push(json!({"train": train, "rows": null, "models": whole}));
    for &n in &a.sizes {
        let part = work.join(format!("train-{n}.csv"));
        subset(&train, n, &part)?;
        eprintln!("{n} rows of {}", train.display());
        let table = split_table(a, &recur, &python, &part, &test, &work)?;
        print_table(&format!("{n} rows of {}", train.display()), &table);
        results.push(json!({"train": train, "rows": n, "models": table}));
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| crate::root().join("bench/quality.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = json!({"test": test, "budget_seconds": a.budget, "seeds": a.seeds,
        "splits": results});
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
