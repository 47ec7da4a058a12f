//! The data row of `cargo xtask bench`: reading + tokenizing + counting the vocabulary of a
//! large file (AG News rows cycled to `--data-rows`, 120,000 by default, the size of the full
//! train split), as CSV and as JSONL; recur-data in this process against the Python
//! reference (`benches/reference/data_ref.py`) in the same session, median of `--runs`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use recur_data::{
    read_csv, read_labelled, Classes, Format, ReadOptions, ReadSpec, Tokenizer, Vocab,
    VocabOptions, VocabOrder,
};
use serde_json::{json, Value};

use crate::stats::median;

/// Writes `rows` labelled rows cycled from AG News's train sample and test file as
/// `tmp/data.csv` and `tmp/data.jsonl`.
fn generate(data: &Path, train_file: &str, rows: usize, tmp: &Path) -> Result<()> {
    let mut source = Vec::new();
    for f in [train_file, "test.csv"] {
        source.extend(read_csv(&data.join(f), ReadOptions::default())?.examples);
    }
    let (mut csv, mut jsonl) = (String::new(), String::new());
    for e in source.iter().cycle().take(rows) {
        let label = e.label + 1;
        csv.push_str(&format!("{label},\"{}\"\n", e.text.replace('"', "\"\"")));
        jsonl.push_str(&json!({"label": label, "text": e.text}).to_string());
        jsonl.push('\n');
    }
    std::fs::write(tmp.join("data.csv"), csv)?;
    std::fs::write(tmp.join("data.jsonl"), jsonl)?;
    Ok(())
}

/// recur-data's whole path on one file: read, map labels to classes, count the vocabulary.
fn recur_once(path: &Path, format: Format) -> Result<(usize, usize)> {
    let spec = ReadSpec {
        format: Some(format),
        ..ReadSpec::default()
    };
    let raw = read_labelled(path, &spec, Tokenizer::BasicEnglish, false)?;
    let classes = Classes::infer(raw.examples.iter().map(|e| e.label.as_str()), None)?;
    let data = classes.assign(raw, false)?;
    let texts: Vec<&str> = data.examples.iter().map(|e| e.text.as_str()).collect();
    let vocab = Vocab::from_texts_with(
        &texts,
        VocabOptions {
            order: VocabOrder::FirstSeen,
            ..VocabOptions::default()
        },
    );
    Ok((data.len(), vocab.len()))
}

/// Times both sides on both formats; prints one line per format and returns them as JSON.
pub fn run(
    data: &Path,
    train_file: &str,
    rows: usize,
    runs: usize,
    python: Option<&Path>,
    tmp: &Path,
) -> Result<Vec<Value>> {
    // the malloc policy of the `recur` binary, which this path runs inside
    recur_cpu::keep_freed_memory();
    generate(data, train_file, rows, tmp)?;
    let root = crate::root();
    let script = root.join("benches/reference/data_ref.py");
    let textref = root.join("../shared/reference");
    let mut out = Vec::new();
    for (format, name) in [(Format::Csv, "data.csv"), (Format::Jsonl, "data.jsonl")] {
        let path = tmp.join(name);
        let mut ours = Vec::new();
        let mut shape = (0, 0);
        for _ in 0..runs {
            let t0 = Instant::now();
            shape = recur_once(&path, format)?;
            ours.push(t0.elapsed().as_secs_f64());
        }
        let theirs: Option<Vec<f64>> = match python {
            Some(py) => {
                let o = Command::new(py)
                    .arg(&script)
                    .arg(&textref)
                    .arg(&path)
                    .arg(format.name())
                    .arg(runs.to_string())
                    .output()
                    .with_context(|| format!("running {}", script.display()))?;
                if !o.status.success() {
                    bail!("data_ref.py failed: {}", String::from_utf8_lossy(&o.stderr));
                }
                let v: Value = serde_json::from_slice(&o.stdout)?;
                if v["vocab"].as_u64() != Some(shape.1 as u64) {
                    bail!(
                        "vocabulary sizes differ: recur {} vs Python {}",
                        shape.1,
                        v["vocab"]
                    );
                }
                Some(
                    v["seconds"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_f64).collect())
                        .unwrap_or_default(),
                )
            }
            None => None,
        };
        let m_ours = median(ours.clone());
        let m_theirs = theirs.clone().map(median);
        println!(
            "{:<38} {:>12} {:>12} {:>8}",
            format!("data: {} rows {}", shape.0, format.name()),
            format!("{:.0} ms", m_ours * 1e3),
            m_theirs.map_or("-".into(), |t| format!("{:.0} ms", t * 1e3)),
            m_theirs.map_or("-".into(), |t| format!("{:.1}x", t / m_ours)),
        );
        out.push(json!({
            "workload": format!("data {}", format.name()), "rows": shape.0, "vocab": shape.1,
            "recur_seconds": ours, "python_seconds": theirs,
            "ratio": m_theirs.map(|t| t / m_ours),
        }));
    }
    Ok(out)
}
