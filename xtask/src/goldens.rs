//! `cargo xtask goldens [--check]`: regenerates every PyTorch golden under `tests/golden`
//! from the generators tracked in the repo (`tests/golden/make.py`, `tests/golden/train/make.py`,
//! `benches/reference/word_lm.py --golden`); with `--check`, regenerates into a scratch
//! folder and fails on any file that is not byte-identical to the tracked one.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

/// Arguments of `xtask goldens`.
#[derive(Args)]
pub struct GoldensArgs {
    /// Regenerate into target/goldens-check and compare with tests/golden instead of
    /// overwriting it.
    #[arg(long)]
    pub check: bool,
    /// Python with torch installed (default ~/.torchref/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Folder with AG News test.csv, for text/agnews_* (default: $RECUR_DATA_DIR, else
    /// ../shared/datasets/ag_news); without it that file is left as it is.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Runs `xtask goldens`.
pub fn run(a: &GoldensArgs) -> Result<()> {
    let root = crate::root();
    let tracked = root.join("tests/golden");
    let python = a
        .python
        .clone()
        .unwrap_or_else(crate::bench::default_python);
    let data = a
        .data
        .clone()
        .or_else(|| std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("../shared/datasets/ag_news"));
    let out = if a.check {
        let scratch = crate::target_dir().join("goldens-check");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("clearing {}", scratch.display()))?;
        }
        scratch
    } else {
        tracked.clone()
    };
    let generators: [(&str, Vec<String>); 3] = [
        (
            "tests/golden/make.py",
            vec!["--out".into(), path(&out), "--data-dir".into(), path(&data)],
        ),
        (
            "tests/golden/train/make.py",
            vec!["--out".into(), path(&out.join("train"))],
        ),
        (
            "benches/reference/word_lm.py",
            vec!["--golden".into(), path(&out.join("lm"))],
        ),
    ];
    for (script, args) in &generators {
        println!("== {script}");
        let status = Command::new(&python)
            .arg(root.join(script))
            .args(args)
            .current_dir(&root)
            .status()
            .with_context(|| format!("running {} (pass --python)", python.display()))?;
        if !status.success() {
            bail!("{script} failed ({status})");
        }
    }
    if a.check {
        compare(&out, &tracked)
    } else {
        println!(
            "regenerated {}; `git diff --stat tests/golden` shows what changed",
            out.display()
        );
        Ok(())
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Compares every generated `.json` with the tracked file of the same relative path.
fn compare(generated: &Path, tracked: &Path) -> Result<()> {
    let mut files = Vec::new();
    json_files(tracked, tracked, &mut files)?;
    let (mut same, mut differ, mut missing) = (0, Vec::new(), Vec::new());
    for rel in &files {
        let theirs = std::fs::read(tracked.join(rel))?;
        match std::fs::read(generated.join(rel)) {
            Err(_) => missing.push(rel.clone()),
            Ok(ours) if ours == theirs => same += 1,
            Ok(ours) => differ.push(format!("{} ({})", rel.display(), describe(&ours, &theirs))),
        }
    }
    let mut extra = Vec::new();
    json_files(generated, generated, &mut extra)?;
    extra.retain(|rel| !files.contains(rel));
    println!(
        "{same} of {} golden files regenerate byte-identical",
        files.len()
    );
    for rel in &missing {
        println!(
            "not regenerated (its input is missing here): {}",
            rel.display()
        );
    }
    if !differ.is_empty() || !extra.is_empty() {
        for d in &differ {
            println!("DIFFERS: {d}");
        }
        for rel in &extra {
            println!("NOT TRACKED: {}", rel.display());
        }
        bail!(
            "{} golden files differ and {} are new; rerun without --check to update them",
            differ.len(),
            extra.len()
        );
    }
    Ok(())
}

/// Every `*.json` under `dir`, relative to `base`, sorted.
fn json_files(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(base, &p, out)?;
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p.strip_prefix(base)?.to_path_buf());
        }
    }
    Ok(())
}

/// How two versions of one golden differ: the largest numeric difference when only numbers
/// moved, else that the structure or a non-numeric value changed.
fn describe(ours: &[u8], theirs: &[u8]) -> String {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
    match (parse(ours), parse(theirs)) {
        (Some(a), Some(b)) => match max_abs_diff(&a, &b) {
            Some(d) => format!("numbers differ by up to {d:.3e}"),
            None => "structure or a non-numeric value differs".into(),
        },
        _ => "not valid JSON".into(),
    }
}

/// The largest |a - b| over matching numbers, or `None` when the trees differ otherwise.
fn max_abs_diff(a: &Value, b: &Value) -> Option<f64> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some((x.as_f64()? - y.as_f64()?).abs()),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .try_fold(0.0f64, |m, (p, q)| Some(m.max(max_abs_diff(p, q)?))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x
            .iter()
            .try_fold(0.0f64, |m, (k, p)| Some(m.max(max_abs_diff(p, y.get(k)?)?))),
        _ => (a == b).then_some(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_differences_are_measured_and_structure_changes_named() {
        let a = json!({"x": {"shape": [2], "data": [1.0, 2.0]}, "name": "c"});
        let b = json!({"x": {"shape": [2], "data": [1.0, 2.5]}, "name": "c"});
        assert_eq!(max_abs_diff(&a, &b), Some(0.5));
        assert_eq!(max_abs_diff(&a, &a), Some(0.0));
        let renamed = json!({"x": {"shape": [2], "data": [1.0, 2.0]}, "name": "d"});
        assert_eq!(max_abs_diff(&a, &renamed), None);
        let longer = json!({"x": {"shape": [3], "data": [1.0, 2.0, 3.0]}, "name": "c"});
        assert_eq!(max_abs_diff(&a, &longer), None);
    }
}
