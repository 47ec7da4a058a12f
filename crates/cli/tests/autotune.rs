//! `recur train --autotune` through the binary: a search of a few trials on a JSONL file
//! with string labels becomes a run that `predict` uses, `--resume` of a finished search's
//! folder says it is complete, and bad settings are refused by their flags before any work.

use std::path::PathBuf;
use std::process::{Command, Output};

use recur_testkit::fails_with;

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("autotune", tag)
}

fn recur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

/// `n` rows of three classes with their own words, as JSONL.
fn write_jsonl(path: &std::path::Path, n: usize) {
    const WORDS: [(&str, [&str; 4]); 3] = [
        ("spam", ["win", "prize", "free", "offer"]),
        ("ham", ["lunch", "meeting", "tomorrow", "thanks"]),
        ("phish", ["password", "account", "verify", "login"]),
    ];
    let mut s = String::new();
    for r in 0..n {
        let (label, w) = WORDS[r % 3];
        let text = format!("{} {} and {}", w[r % 4], w[(r / 3) % 4], w[(r + 1) % 4]);
        s.push_str(&serde_json::json!({"label": label, "text": text}).to_string());
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn a_search_of_three_trials_becomes_a_run_that_predicts() {
    let dir = tmp("search");
    let train = dir.join("train.jsonl");
    write_jsonl(&train, 150);
    let out = dir.join("run");
    let (t, o) = (train.to_str().unwrap(), out.to_str().unwrap());
    let summary = dir.join("summary.json");
    let args = [
        "train",
        "--train",
        t,
        "--autotune-trials",
        "3",
        "--embed",
        "16",
        "--seed",
        "2",
        "--out",
        o,
        "--summary",
        summary.to_str().unwrap(),
    ];
    let stdout = recur_testkit::succeeded(&recur(&args));
    for i in 0..3 {
        assert!(stdout.contains(&format!("trial {i}: valid")), "{stdout}");
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("autotune.json")).unwrap()).unwrap();
    assert_eq!(record["trials"].as_array().unwrap().len(), 3);
    // the flag given stays in every trial's recipe; the search is the report in --summary
    assert!(record["trials"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["choices"]["embed"] == 16 || t["index"] != 0));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["autotune"]["best"], record["best"]);
    let pred = recur_testkit::succeeded(&recur(&["predict", "--run", o, "verify your password"]));
    assert!(pred.contains("phish"), "{pred}");
    // a finished search is a finished run
    let again = recur(&["train", "--resume", o]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to resume"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn bad_search_settings_name_their_flags() {
    let dir = tmp("refuse");
    let train = dir.join("train.jsonl");
    write_jsonl(&train, 30);
    let t = train.to_str().unwrap();
    let out = dir.join("run");
    let o = out.to_str().unwrap();
    for (flag, value, says) in [
        (
            "--autotune",
            "0",
            "--autotune must be a positive number of seconds",
        ),
        (
            "--autotune",
            "nan",
            "--autotune must be a positive number of seconds",
        ),
        (
            "--autotune-trials",
            "0",
            "--autotune-trials must be at least 1",
        ),
    ] {
        fails_with(
            &recur(&["train", "--train", t, flag, value, "--out", o]),
            says,
        );
    }
    fails_with(
        &recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            t,
            "--autotune",
            "5",
            "--out",
            o,
        ]),
        "--autotune",
    );
    assert!(!out.exists(), "a refused search wrote {}", out.display());
}
