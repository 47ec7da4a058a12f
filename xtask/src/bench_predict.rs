//! `cargo xtask bench --predict`: classifying a corpus, in one run on the same texts
//! (test.csv ten times, 76,000 texts): `recur predict --input` with the lesson's packed LSTM
//! and the `--preset strong` model, each in f32 and int8 (`recur quantize`), against
//! fastText's Python `predict` (word bigrams, tokenization included) and ONNX Runtime on the
//! lesson model exported by `recur export`, and the recur Python package's `predict_proba`
//! and a local Dask cluster of 1 and 2 workers on the lesson model; texts/s, peak memory,
//! model size and test accuracy. Then a 2,000,000-row CSV through `recur predict` (peak
//! memory, one output row per input row). Writes `bench/predict.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// Runs `cmd` to its end: its wall seconds and peak resident memory (KiB).
fn measured(cmd: &mut Command) -> Result<(f64, u64)> {
    let t0 = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; the pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = t0.elapsed().as_secs_f64();
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut err);
        }
        bail!("{cmd:?} failed: {err}");
    }
    Ok((seconds, usage.ru_maxrss as u64))
}

fn recur_ok(recur: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(recur).args(args).output()?;
    if !out.status.success() {
        bail!(
            "recur {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn python_json(python: &Path, args: &[&str]) -> Result<Value> {
    let out = Command::new(python).args(args).output()?;
    if !out.status.success() {
        bail!(
            "{} {}: {}",
            python.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(serde_json::from_str(text.lines().last().unwrap_or(""))?)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or("")
}

/// Writes `rows` rows of `test.csv` cycled to `out`.
fn corpus(test: &Path, rows: usize, out: &Path) -> Result<()> {
    use std::io::Write as _;
    let text = std::fs::read_to_string(test)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    for i in 0..rows {
        writeln!(f, "{}", lines[i % lines.len()])?;
    }
    f.flush()?;
    Ok(())
}

/// Runs the predict benchmark; its rows.
pub fn run(
    recur: &Path,
    python: &Path,
    data: &Path,
    train_file: &str,
    big_rows: usize,
    tmp: &Path,
) -> Result<Vec<Value>> {
    let root = crate::root();
    let reference = root.join("benches/reference/predict_ref.py");
    let train = data.join(train_file);
    let test = data.join("test.csv");
    let texts = tmp.join("texts76k.csv");
    corpus(&test, 76_000, &texts)?;
    let mut runs: Vec<(&str, PathBuf)> = Vec::new();
    for (name, args) in [
        (
            "lesson lstm-packed",
            vec!["--model", "lstm-packed", "--epochs", "1"],
        ),
        ("strong", vec!["--preset", "strong"]),
    ] {
        let out = tmp.join(name.replace(' ', "-"));
        let mut a = vec![
            "train",
            "--train",
            s(&train),
            "--test",
            s(&test),
            "--seed",
            "0",
        ];
        a.extend(args);
        a.extend(["--no-eval", "--out", s(&out)]);
        recur_ok(recur, &a)?;
        let q = tmp.join(format!("{}-int8", name.replace(' ', "-")));
        recur_ok(recur, &["quantize", "--run", s(&out), "--out", s(&q)])?;
        runs.push((name, out));
        runs.push((
            if name == "strong" {
                "strong int8"
            } else {
                "lesson int8"
            },
            q,
        ));
    }
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>9}",
        "predict (76,000 texts)", "texts/s", "peak MB", "model MB", "test acc"
    );
    let mut rows = Vec::new();
    let mut row = |name: &str, tps: f64, peak_kb: u64, bytes: Option<u64>, acc: Option<f64>| {
        println!(
            "{:<22} {:>10.0} {:>10.0} {:>10} {:>9}",
            name,
            tps,
            peak_kb as f64 / 1024.0,
            bytes.map_or("-".into(), |b| format!("{:.1}", b as f64 / 1e6)),
            acc.map_or("-".into(), |a| format!("{:.2}%", a * 100.0))
        );
        rows.push(
            json!({"workload": name, "texts_per_s": tps, "peak_rss_kb": peak_kb,
            "model_bytes": bytes, "test_accuracy": acc}),
        );
    };
    for (name, run) in &runs {
        let eval: Value = serde_json::from_str(&recur_ok(
            recur,
            &["eval", "--run", s(run), "--test", s(&test), "--json"],
        )?)?;
        let (secs, peak) = measured(Command::new(recur).args([
            "predict",
            "--run",
            s(run),
            "--input",
            s(&texts),
            "--output",
            s(&tmp.join("p.jsonl")),
        ]))?;
        let bytes = std::fs::metadata(run.join("model.safetensors"))?.len();
        row(
            name,
            76_000.0 / secs,
            peak,
            Some(bytes),
            eval["accuracy"].as_f64(),
        );
    }
    // fastText: trained in a process of its own, then predicting with tokenization
    let ft = tmp.join("fasttext.bin");
    python_json(
        python,
        &[s(&reference), "fasttext-train", s(&train), s(&ft)],
    )?;
    let r = python_json(python, &[s(&reference), "fasttext", s(&ft), s(&texts)])?;
    row(
        "fastText bigrams",
        r["texts_per_s"].as_f64().unwrap_or(f64::NAN),
        r["peak_rss_kb"].as_u64().unwrap_or(0),
        std::fs::metadata(&ft).ok().map(|m| m.len()),
        None,
    );
    // ONNX Runtime on the exported lesson model (skipped without onnxruntime)
    let onnx = tmp.join("lesson.onnx");
    recur_ok(
        recur,
        &["export", "--run", s(&runs[0].1), "--onnx", s(&onnx)],
    )?;
    match python_json(python, &[s(&reference), "onnx", s(&onnx), s(&texts)]) {
        Ok(r) => row(
            "ONNX Runtime (lesson)",
            r["texts_per_s"].as_f64().unwrap_or(f64::NAN),
            r["peak_rss_kb"].as_u64().unwrap_or(0),
            std::fs::metadata(&onnx).ok().map(|m| m.len()),
            None,
        ),
        Err(e) => println!("ONNX Runtime skipped: {e}"),
    }
    // the Python package on the lesson model: predict_proba on the whole list, and a local
    // Dask cluster of 1 and 2 workers (skipped where that Python lacks them)
    let lesson = s(&runs[0].1);
    let sides: [(&str, Vec<&str>); 3] = [
        ("recur Python (lesson)", vec!["recur-python"]),
        ("Dask 1 worker (lesson)", vec!["dask", "--workers", "1"]),
        ("Dask 2 workers (lesson)", vec!["dask", "--workers", "2"]),
    ];
    for (name, side) in sides {
        let mut args = vec![s(&reference), side[0], lesson, s(&texts)];
        args.extend(&side[1..]);
        match python_json(python, &args) {
            Ok(r) => row(
                name,
                r["texts_per_s"].as_f64().unwrap_or(f64::NAN),
                r["peak_rss_kb"].as_u64().unwrap_or(0),
                None,
                None,
            ),
            Err(e) => println!(
                "{name} skipped (pip install ./crates/python \"dask[distributed]\" into {}): \
                 {e}",
                python.display()
            ),
        }
    }
    // a large CSV streams through in bounded memory, one output row per input row
    if big_rows > 0 {
        let big = tmp.join("big.csv");
        corpus(&test, big_rows, &big)?;
        let out = tmp.join("big.jsonl");
        let (secs, peak) = measured(Command::new(recur).args([
            "predict",
            "--run",
            s(&runs[0].1),
            "--input",
            s(&big),
            "--output",
            s(&out),
        ]))?;
        let written =
            std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&out)?)).count();
        println!(
            "{big_rows} rows (lesson): {:.0} texts/s, peak {:.0} MB, {written} rows out",
            big_rows as f64 / secs,
            peak as f64 / 1024.0
        );
        if written != big_rows {
            bail!("{written} output rows for {big_rows} input rows");
        }
        rows.push(json!({"workload": format!("{big_rows} rows (lesson)"),
            "texts_per_s": big_rows as f64 / secs, "peak_rss_kb": peak, "rows_out": written}));
        let _ = std::fs::remove_file(&big);
        let _ = std::fs::remove_file(&out);
    }
    Ok(rows)
}
