//! `cargo xtask bench [--against-pytorch]`: the lesson's training workloads through the real
//! `recur train` path (load, tokenize, batch, forward, backward, optimizer), samples/s and
//! peak memory per workload; with `--against-pytorch`, `seed_train.py` on the same files,
//! alternating runs, median of `--runs`; then the data row (`bench_data`). Writes
//! `bench/results.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench_workloads::{workloads, Workload};
use crate::stats::median;
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

/// Arguments of `xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Also time PyTorch (`seed_train.py`) on the same files and print the ratio.
    #[arg(long)]
    pub against_pytorch: bool,
    /// Runs per workload and side (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Data folder with train_sample.csv (or train.csv) and test.csv.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Training file name inside the data folder.
    #[arg(long, default_value = "train_sample.csv")]
    pub train_file: String,
    /// Folder with seed_train.py.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Python with torch installed (default ~/.torchref/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Only workloads whose name contains this (`data` or `vectors` for those rows alone).
    #[arg(long)]
    pub only: Option<String>,
    /// The language-model row alone: PyTorch's word_language_model configuration on the
    /// texts of the training file (validated on test.csv's), 3 epochs.
    #[arg(long)]
    pub lm: bool,
    /// The predict rows alone: `recur predict` (lesson and strong models, f32 and int8)
    /// against fastText and ONNX Runtime on 76,000 texts, then a large CSV.
    #[arg(long)]
    pub predict: bool,
    /// The realistic-vocabulary rows alone: AG News rows with a long tail of rare words,
    /// at these sizes (comma-separated), recur's whole training against PyTorch's epoch.
    #[arg(long, value_delimiter = ',', num_args = 0..)]
    pub tail: Option<Vec<usize>>,
    /// Rows of the large CSV `--predict` streams (0: none).
    #[arg(long, default_value_t = 2_000_000)]
    pub big_rows: usize,
    /// Rows of the generated file the data row reads (AG News rows cycled).
    #[arg(long, default_value_t = 120_000)]
    pub data_rows: usize,
}

fn run_recur(
    recur: &Path,
    data: &Path,
    train_file: &str,
    w: &Workload,
    seed: usize,
    tmp: &Path,
) -> Result<Value> {
    let summary = tmp.join("summary.json");
    let out = Command::new(recur)
        .arg("train")
        .args(&w.recur)
        .arg("--train")
        .arg(data.join(train_file))
        .arg("--test")
        .arg(data.join("test.csv"))
        .args([
            "--vocab-order",
            "first-seen",
            "--no-eval",
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(tmp.join("run"))
        .arg("--summary")
        .arg(&summary)
        .output()?;
    if !out.status.success() {
        bail!(
            "recur train failed for {}: {}",
            w.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(&summary)?)?)
}

/// Runs the workload's PyTorch script (seed_train.py, or the workload's own, which loads
/// seed_train.py from `$RECUR_SEED_TRAIN`) in-process through runpy so its peak RSS can be
/// read afterwards.
fn run_torch(
    python: &Path,
    seed_train: &Path,
    data: &Path,
    train_file: &str,
    w: &Workload,
    seed: usize,
) -> Result<Value> {
    let wrapper = "import resource, runpy, sys\nsys.argv = \
        sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\nprint('PEAK_RSS_KB', \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n";
    let script = match w.script {
        Some(s) => crate::root().join(s),
        None => seed_train.to_path_buf(),
    };
    let out = Command::new(python)
        .env("RECUR_SEED_TRAIN", seed_train)
        .arg("-c")
        .arg(wrapper)
        .arg(&script)
        .arg("--data")
        .arg(data)
        .args([
            "--train-file",
            train_file,
            "--threads",
            "2",
            "--seed",
            &seed.to_string(),
        ])
        .args(&w.torch)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} failed for {}: {}",
            script.display(),
            w.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut res: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(serde_json::from_str)
        .transpose()?
        .with_context(|| format!("{} printed no RESULT line", script.display()))?;
    if let Some(kb) = stdout.lines().find_map(|l| l.strip_prefix("PEAK_RSS_KB ")) {
        res["peak_rss_kb"] = json!(kb.trim().parse::<u64>().ok());
    }
    Ok(res)
}

/// The reference venv's Python (`~/.torchref/bin/python`) if it exists, else `python3`.
pub fn default_python() -> PathBuf {
    let venv = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".torchref/bin/python"));
    venv.filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs `xtask bench`.
pub fn run(a: &BenchArgs) -> Result<()> {
    let root = crate::root();
    let data = a
        .data
        .clone()
        .or_else(|| std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("../shared/datasets/ag_news"));
    if !data.join(&a.train_file).is_file() || !data.join("test.csv").is_file() {
        bail!(
            "{} needs {} and test.csv (pass --data DIR or set RECUR_DATA_DIR)",
            data.display(),
            a.train_file
        );
    }
    let script = a
        .reference
        .clone()
        .unwrap_or_else(|| root.join("../shared/reference"))
        .join("seed_train.py");
    if a.against_pytorch && !script.is_file() {
        bail!(
            "--against-pytorch needs {} (pass --reference DIR)",
            script.display()
        );
    }
    let python = a.python.clone().unwrap_or_else(default_python);
    let recur = crate::build_recur()?;
    let tmp = std::env::temp_dir().join(format!("recur-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    if let Some(sizes) = &a.tail {
        let sizes = if sizes.is_empty() {
            vec![50_000, 200_000]
        } else {
            sizes.clone()
        };
        let python = a.against_pytorch.then_some(python.as_path());
        let rows =
            crate::bench_tail::run(&recur, python, &script, &data, &a.train_file, &sizes, &tmp)?;
        let dir = root.join("bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("tail.json"), serde_json::to_string_pretty(&rows)?)?;
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(());
    }
    if a.predict {
        let rows =
            crate::bench_predict::run(&recur, &python, &data, &a.train_file, a.big_rows, &tmp)?;
        let dir = root.join("bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("predict.json"),
            serde_json::to_string_pretty(&rows)?,
        )?;
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(());
    }
    if a.lm {
        let row = crate::bench_lm::run(
            &recur,
            &python,
            &data,
            &a.train_file,
            a.against_pytorch,
            &tmp,
        )?;
        let dir = root.join("bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("lm.json"), serde_json::to_string_pretty(&row)?)?;
        return Ok(());
    }
    let mut rows = Vec::new();
    println!(
        "{:<52} {:>10} {:>10} {:>7} {:>9} {:>9}",
        "workload", "recur/s", "pytorch/s", "ratio", "recur MB", "torch MB"
    );
    for w in workloads()
        .iter()
        .filter(|w| a.only.as_ref().is_none_or(|o| w.name.contains(o.as_str())))
    {
        let (mut ours, mut theirs, mut our_mem, mut their_mem) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in 0..a.runs.max(1) {
            let res = run_recur(&recur, &data, &a.train_file, w, r, &tmp)?;
            ours.push(res["samples_per_s"].as_f64().unwrap_or(f64::NAN));
            our_mem.extend(res["peak_rss_kb"].as_f64());
            if a.against_pytorch {
                let t = run_torch(&python, &script, &data, &a.train_file, w, r)?;
                theirs.push(t["samples_per_s"].as_f64().unwrap_or(f64::NAN));
                their_mem.extend(t["peak_rss_kb"].as_f64());
            }
        }
        let (m_ours, m_theirs) = (median(ours.clone()), median(theirs.clone()));
        let ratio = m_ours / m_theirs;
        let mb = |v: &[f64]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                format!("{:.0}", median(v.to_vec()) / 1024.0)
            }
        };
        println!(
            "{:<52} {:>10.0} {:>10} {:>7} {:>9} {:>9}",
            w.name,
            m_ours,
            if a.against_pytorch {
                format!("{m_theirs:.0}")
            } else {
                "-".into()
            },
            if a.against_pytorch {
                format!("{ratio:.1}x")
            } else {
                "-".into()
            },
            mb(&our_mem),
            mb(&their_mem)
        );
        rows.push(json!({
            "workload": w.name, "recur_args": w.recur, "pytorch_args": w.torch,
            "recur_samples_per_s": ours, "pytorch_samples_per_s": theirs,
            "recur_median": m_ours,
                "pytorch_median": if a.against_pytorch { json!(m_theirs) } else { Value::Null },
            "ratio": if a.against_pytorch { json!(ratio) } else { Value::Null },
            "recur_peak_rss_kb": our_mem, "pytorch_peak_rss_kb": their_mem,
        }));
    }
    crate::bench_scan::print_ratios(&rows);
    if a.only.as_ref().is_none_or(|o| o.starts_with("data")) {
        let python = a.against_pytorch.then_some(python.as_path());
        rows.extend(crate::bench_data::run(
            &data,
            &a.train_file,
            a.data_rows,
            a.runs.max(1),
            python,
            &tmp,
        )?);
    }
    if a.only.as_ref().is_none_or(|o| o.starts_with("vectors")) {
        let python = a.against_pytorch.then_some(python.as_path());
        rows.push(crate::bench_vectors::run(
            &data,
            &a.train_file,
            a.runs.max(1),
            python,
            &root.join("bench"),
        )?);
    }
    let host = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let out_dir = root.join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let result = json!({"cpu": host,
        "threads": std::thread::available_parallelism().map(|n| n.get()).ok(), "runs": a.runs,
        "train_file": a.train_file, "workloads": rows});
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    println!("wrote {}", out_dir.join("results.json").display());
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
