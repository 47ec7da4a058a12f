//! The vectors row of `cargo xtask bench`: loading a 400,000 × 300 word2vec text file
//! (generated once with a fixed seed into `bench/`, no download) for the AG News training
//! vocabulary with `recur_data::load_vectors`, in a child process so its peak memory is its
//! own, against gensim's `KeyedVectors.load_word2vec_format` on the same file
//! (`benches/reference/vectors_ref.py`), median of runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use recur_data::{load_vectors, read_csv, OovInit, ReadOptions, Vocab, VocabOrder};
use serde_json::{json, Value};

use crate::stats::median;

const WORDS: usize = 400_000;
const DIM: usize = 300;

/// The AG News training vocabulary (the lesson's order).
fn vocab(data: &Path, train_file: &str) -> Result<Vocab> {
    let d = read_csv(&data.join(train_file), ReadOptions::default())?;
    let texts: Vec<&str> = d.examples.iter().map(|e| e.text.as_str()).collect();
    Ok(Vocab::from_texts(&texts, VocabOrder::Frequency, 1))
}

/// Writes the vectors file: the vocabulary's words first (GloVe-like coverage), then
/// `w<i>` fillers; values uniform in ±1 with 5 decimals, seed 0.
fn generate(path: &Path, vocab: &Vocab) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    writeln!(f, "{WORDS} {DIM}")?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let words = vocab.itos().iter().skip(2).cloned();
    let fillers = (0..).map(|i| format!("w{i}"));
    for word in words.chain(fillers).take(WORDS) {
        f.write_all(word.as_bytes())?;
        for _ in 0..DIM {
            write!(f, " {:.5}", rng.gen_range(-1.0f32..1.0))?;
        }
        f.write_all(b"\n")?;
    }
    f.flush()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The child side: loads `path` for the vocabulary and prints seconds and peak memory.
pub fn child(path: &Path, data: &Path, train_file: &str) -> Result<()> {
    let v = vocab(data, train_file)?;
    let t0 = Instant::now();
    let t = load_vectors(path, &v, DIM, OovInit::Random, Some(1), 0)?;
    let seconds = t0.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok());
    println!(
        "{}",
        json!({"seconds": seconds, "words": t.file_words, "found": t.found(), "vocab": v.len(),
            "peak_rss_kb": peak})
    );
    Ok(())
}

/// Times both sides; prints one line and returns it as JSON.
pub fn run(
    data: &Path,
    train_file: &str,
    runs: usize,
    python: Option<&Path>,
    out_dir: &Path,
) -> Result<Value> {
    std::fs::create_dir_all(out_dir)?;
    let path: PathBuf = out_dir.join("vectors-400k-300.txt");
    if !path.is_file() {
        eprintln!("generating {} (once)", path.display());
        generate(&path, &vocab(data, train_file)?)?;
    }
    let me = std::env::current_exe()?;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let (mut our_mem, mut their_mem) = (Vec::new(), Vec::new());
    let mut found = Value::Null;
    for _ in 0..runs {
        let o = Command::new(&me)
            .args(["bench-vectors-child", "--file"])
            .arg(&path)
            .arg("--data")
            .arg(data)
            .args(["--train-file", train_file])
            .output()?;
        if !o.status.success() {
            bail!(
                "loading vectors failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let v: Value = serde_json::from_slice(&o.stdout)?;
        ours.push(v["seconds"].as_f64().unwrap_or(f64::NAN));
        our_mem.extend(v["peak_rss_kb"].as_f64());
        found = json!({"found": v["found"], "vocab": v["vocab"]});
        if let Some(py) = python {
            let script = crate::root().join("benches/reference/vectors_ref.py");
            let o = Command::new(py)
                .arg(&script)
                .arg(&path)
                .output()
                .with_context(|| format!("running {}", script.display()))?;
            if !o.status.success() {
                bail!(
                    "vectors_ref.py failed (is gensim installed?): {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let v: Value = serde_json::from_slice(&o.stdout)?;
            theirs.push(v["seconds"].as_f64().unwrap_or(f64::NAN));
            their_mem.extend(v["peak_rss_kb"].as_f64());
        }
    }
    let (m_ours, m_theirs) = (median(ours.clone()), median(theirs.clone()));
    let vectors_mb = (WORDS * DIM * 4) as f64 / 1e6;
    println!(
        "{:<38} {:>12} {:>12} {:>8} {:>10} {:>10}",
        format!("vectors: {WORDS} x {DIM} text"),
        format!("{:.2} s", m_ours),
        if python.is_some() {
            format!("{m_theirs:.2} s")
        } else {
            "-".into()
        },
        if python.is_some() {
            format!("{:.1}x", m_theirs / m_ours)
        } else {
            "-".into()
        },
        format!("{:.0}", median(our_mem.clone()) / 1024.0),
        if their_mem.is_empty() {
            "-".into()
        } else {
            format!("{:.0}", median(their_mem.clone()) / 1024.0)
        },
    );
    Ok(json!({
        "workload": "vectors 400k x 300 text", "recur_seconds": ours, "gensim_seconds": theirs,
        "ratio": if python.is_some() { json!(m_theirs / m_ours) } else { Value::Null },
        "recur_peak_rss_kb": our_mem, "gensim_peak_rss_kb": their_mem,
        "vectors_mb": vectors_mb, "coverage": found,
    }))
}
