//! One engine, seen from the command line: run folders written before the versioned schema
//! load and give the same results; flags of another task (or beside `--resume`) are
//! refused; `predict`, `serve` and `eval` read texts longer than the run's token limit
//! alike; a language model stopped by Ctrl-C inside an epoch resumes to the same bytes;
//! `recur plot` draws a language model's curves.

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use recur_testkit::{fails_with, succeeded, TOPIC_WORDS as WORDS};
use serde_json::{json, Value};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("engine", tag)
}

fn recur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The fixtures: runs written by recur before the run-folder schema had a version.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0")
}

/// Every number of a JSON value, in order.
fn numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        Value::Object(o) => o.values().for_each(|x| numbers(x, out)),
        _ => {}
    }
}

/// `a` and `b` have the same keys and strings, and numbers equal within `tol` (relative).
fn same_json(a: &Value, b: &Value, tol: f64) {
    let strip = |v: &Value| -> Value {
        match v {
            Value::Number(_) => json!(0),
            Value::Array(x) => Value::Array(x.iter().map(|_| json!(0)).collect()),
            other => other.clone(),
        }
    };
    if let (Value::Object(x), Value::Object(y)) = (a, b) {
        let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(x), keys(y), "{a} vs {b}");
    } else {
        assert_eq!(strip(a), strip(b), "{a} vs {b}");
    }
    let (mut na, mut nb) = (Vec::new(), Vec::new());
    numbers(a, &mut na);
    numbers(b, &mut nb);
    assert_eq!(na.len(), nb.len(), "{a} vs {b}");
    for (x, y) in na.iter().zip(&nb) {
        assert!(
            (x - y).abs() <= tol * x.abs().max(1.0),
            "{x} vs {y}: {a} vs {b}"
        );
    }
}

#[test]
fn runs_written_before_the_schema_version_load_and_give_the_same_results() {
    let fx = fixtures();
    let (cls, lm) = (fx.join("classifier"), fx.join("lm"));
    // the classifier evaluates as it did (its token limit of 12 applied to long texts)
    let out = succeeded(&recur(&[
        "eval",
        "--run",
        s(&cls),
        "--test",
        s(&fx.join("test.tsv")),
        "--json",
    ]));
    let mut got: Value = serde_json::from_str(out.trim()).unwrap();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("classifier.eval.json")).unwrap())
            .unwrap();
    got["file"] = want["file"].clone();
    same_json(&got, &want, 1e-12);
    // and predicts the same probabilities
    let want: Vec<Value> = std::fs::read_to_string(fx.join("classifier.predict.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for w in &want {
        let text = w["text"].as_str().unwrap();
        let out = succeeded(&recur(&["predict", "--run", s(&cls), "--json", text]));
        same_json(&serde_json::from_str(out.trim()).unwrap(), w, 1e-12);
    }
    // the language model scores and generates the same
    let out = succeeded(&recur(&[
        "eval",
        "--run",
        s(&lm),
        "--test",
        s(&fx.join("docs.txt")),
        "--json",
    ]));
    let mut got: Value = serde_json::from_str(out.trim()).unwrap();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("lm.eval.json")).unwrap()).unwrap();
    got["file"] = want["file"].clone();
    same_json(&got, &want, 1e-12);
    let out = succeeded(&recur(&[
        "generate",
        "--run",
        s(&lm),
        "--prompt",
        "the war",
        "--words",
        "12",
        "--seed",
        "5",
    ]));
    assert_eq!(
        out,
        std::fs::read_to_string(fx.join("lm.generate.txt")).unwrap()
    );
    // their curves draw through the same typed records
    let plots = tmp("v0-plots");
    succeeded(&recur(&["plot", s(&lm), "--out", s(&plots)]));
    succeeded(&recur(&["plot", s(&cls), "--out", s(&plots)]));
    // their training cannot be resumed: said, not attempted
    let copy = tmp("v0-resume").join("lm");
    std::fs::create_dir_all(copy.join("checkpoint")).unwrap();
    for f in [
        "config.json",
        "vocab.txt",
        "model.safetensors",
        "metrics.jsonl",
        "checkpoint/state.json",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
    ] {
        std::fs::copy(lm.join(f), copy.join(f)).unwrap();
    }
    fails_with(
        &recur(&["train", "--resume", s(&copy)]),
        "written by an earlier recur",
    );
}

#[test]
fn flags_of_another_task_or_beside_resume_are_refused() {
    let dir = tmp("flags");
    let t = dir.join("train.txt");
    std::fs::write(&t, "a b c\n").unwrap();
    let lm = |extra: &[&str]| {
        let mut args = vec!["train", "--task", "lm", "--train", s(&t)];
        args.extend(extra);
        recur(&args)
    };
    for (flags, named) in [
        (
            vec!["--pooling", "max"],
            "--pooling applies only to --task classify",
        ),
        (
            vec!["--bidirectional"],
            "--bidirectional applies only to --task classify",
        ),
        (vec!["--patience", "2"], "--patience applies only"),
        (vec!["--test", "x.csv"], "--test applies only"),
        (
            vec!["--max-tokens", "9", "--model", "gru"],
            "--model, --max-tokens apply only",
        ),
        (vec!["--preset", "strong"], "--preset applies only"),
    ] {
        let out = lm(&flags);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        fails_with(&out, named);
    }
    let out = recur(&["train", "--train", s(&t), "--bptt", "5"]);
    fails_with(
        &out,
        "--bptt applies only to --task lm, not to --task classify",
    );
    let out = recur(&["train", "--resume", s(&dir), "--epochs", "3"]);
    fails_with(&out, "takes no other flag (given: --epochs)");
    // flags that only shape another flag need it
    fails_with(
        &recur(&["train", "--train", s(&t), "--oov-init", "zeros"]),
        "--embeddings",
    );
    fails_with(
        &recur(&["train", "--train", s(&t), "--freeze-epochs", "1"]),
        "--init-encoder",
    );
    fails_with(
        &recur(&["train", "--train", s(&t), "--momentum", "0.9"]),
        "--momentum is SGD's",
    );
}

/// A CSV whose texts open with a few words of one topic and go on with many of another.
fn write_long(path: &Path, rows: usize, salt: usize) {
    let mut out = String::new();
    for r in 0..rows {
        let c = (r + salt) % 4;
        let other = (c + 1 + r % 3) % 4;
        let head: Vec<&str> = (0..4).map(|i| WORDS[c][(r + i) % 5]).collect();
        let tail: Vec<&str> = (0..30).map(|i| WORDS[other][(r * 3 + i) % 5]).collect();
        out.push_str(&format!(
            "{},\"{} {}\"\n",
            c + 1,
            head.join(" "),
            tail.join(" ")
        ));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn predict_serve_and_eval_read_long_texts_alike() {
    let dir = tmp("long");
    // trained on short texts of one topic each; read with a limit of 4 tokens, the long
    // texts are their first topic, read whole they would be the other one
    let mut short = String::new();
    for r in 0..400 {
        let c = r % 4;
        let w: Vec<&str> = (0..4).map(|i| WORDS[c][(r + i) % 5]).collect();
        short.push_str(&format!("{},\"{}\"\n", c + 1, w.join(" ")));
    }
    std::fs::write(dir.join("train.csv"), short).unwrap();
    write_long(&dir.join("test.csv"), 24, 1);
    let run = dir.join("run");
    succeeded(&recur(&[
        "train",
        "--data",
        s(&dir),
        "--epochs",
        "3",
        "--lr",
        "0.02",
        "--max-tokens",
        "4",
        "--out",
        s(&run),
    ]));
    let eval: Value = serde_json::from_str(
        succeeded(&recur(&[
            "eval",
            "--run",
            s(&run),
            "--test",
            s(&dir.join("test.csv")),
            "--json",
            "--batch-size",
            "1",
        ]))
        .trim(),
    )
    .unwrap();
    assert_eq!(eval["accuracy"], 1.0, "{eval}");
    // predict: the same texts, one JSON line each
    let csv = std::fs::read_to_string(dir.join("test.csv")).unwrap();
    let rows: Vec<(usize, String)> = csv
        .lines()
        .map(|l| {
            let (label, text) = l.split_once(',').unwrap();
            (
                label.parse::<usize>().unwrap() - 1,
                text.trim_matches('"').to_string(),
            )
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["predict", "--run", s(&run), "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (_, t) in &rows {
            std::io::Write::write_all(&mut stdin, format!("{t}\n").as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let names = ["World", "Sports", "Business", "Sci/Tech"];
    let predicted: Vec<Vec<f64>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            names
                .iter()
                .map(|n| v["probabilities"][n].as_f64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(predicted.len(), rows.len());
    // eval's loss is the mean cross-entropy of predict's probabilities
    let loss: f64 = rows
        .iter()
        .zip(&predicted)
        .map(|((label, _), p)| -p[*label].ln())
        .sum::<f64>()
        / rows.len() as f64;
    let eval_loss = eval["loss"].as_f64().unwrap();
    assert!(
        (loss - eval_loss).abs() < 1e-5,
        "predict {loss} vs eval {eval_loss}"
    );
    for ((label, _), p) in rows.iter().zip(&predicted) {
        let best = (0..4).fold(0, |b, k| if p[k] > p[b] { k } else { b });
        assert_eq!(best, *label, "the limit was not applied: {p:?}");
    }
    // serve: the same probabilities
    let mut server = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["serve", "--run", s(&run), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    let body = json!({"inputs": texts, "parameters": {"top_k": 4}}).to_string();
    let answer = ureq::post(&format!("{base}/predict"))
        .set("content-type", "application/json")
        .send_string(&body);
    let _ = server.kill();
    let _ = server.wait();
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    let answer: Value = serde_json::from_str(&answer.unwrap().into_string().unwrap()).unwrap();
    for (served, p) in answer.as_array().unwrap().iter().zip(&predicted) {
        for item in served.as_array().unwrap() {
            let k = names.iter().position(|n| *n == item["label"]).unwrap();
            let score = item["score"].as_f64().unwrap();
            assert!(
                (score - p[k]).abs() < 1e-6,
                "serve {score} vs predict {}",
                p[k]
            );
        }
    }
}

/// The numbers of every record of `metrics.jsonl` that do not measure time.
fn curves(run: &Path) -> Vec<f64> {
    let mut out = Vec::new();
    for line in std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
    {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "interrupted" {
            continue;
        }
        let o = v.as_object_mut().unwrap();
        for k in ["seconds", "samples_per_s", "ms_per_batch"] {
            o.remove(k);
        }
        numbers(&v, &mut out);
    }
    out
}

fn write_corpus(path: &Path, docs: usize) {
    let mut out = String::new();
    for d in 0..docs {
        let w = WORDS[d % 4];
        let words: Vec<&str> = (0..12).map(|i| w[(d * 7 + i * 3) % 5]).collect();
        out.push_str(&words.join(" "));
        out.push_str(" .\n");
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_language_model_stopped_inside_an_epoch_resumes_to_the_same_bytes() {
    let dir = tmp("lm-sigint");
    write_corpus(&dir.join("train.txt"), 1500);
    write_corpus(&dir.join("valid.txt"), 60);
    let args = |out: &Path| -> Vec<String> {
        [
            "train",
            "--task",
            "lm",
            "--train",
            s(&dir.join("train.txt")),
            "--valid",
            s(&dir.join("valid.txt")),
            "--epochs",
            "2",
            "--layers",
            "1",
            "--hidden",
            "24",
            "--embed",
            "24",
            "--bptt",
            "8",
            "--batch-size",
            "4",
            "--report-every",
            "20",
            "--out",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let straight = dir.join("straight");
    succeeded(
        &Command::new(env!("CARGO_BIN_EXE_recur"))
            .args(args(&straight))
            .output()
            .unwrap(),
    );
    // the same run, stopped by SIGINT at its third progress line (inside the first epoch)
    let stopped = dir.join("stopped");
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args(&stopped))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("| epoch 1 |") {
            seen += 1;
            if seen == 3 {
                break;
            }
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("of epoch 1: saved a resumable run"),
        "{stderr}"
    );
    assert!(!rest.iter().any(|l| l.starts_with("epoch 1:")), "{rest:?}");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(stopped.join("checkpoint/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        state["progress"]["epoch"], 0,
        "stopped inside the first epoch"
    );
    assert!(stopped.join("checkpoint/carried.safetensors").is_file());
    succeeded(&recur(&["train", "--resume", s(&stopped)]));
    for f in [
        "model.safetensors",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
        "vocab.txt",
    ] {
        assert_eq!(
            std::fs::read(straight.join(f)).unwrap(),
            std::fs::read(stopped.join(f)).unwrap(),
            "{f} differs after resuming"
        );
    }
    assert_eq!(
        curves(&straight),
        curves(&stopped),
        "the curves differ after resuming"
    );
    // its curves draw: the training loss of the reports and epochs, and perplexity
    let plots = dir.join("plots");
    succeeded(&recur(&["plot", s(&stopped), "--out", s(&plots)]));
    let svg = std::fs::read_to_string(plots.join("curves.svg")).unwrap();
    for label in [
        "train (reports)",
        "validation",
        "perplexity",
        "cross-entropy per token",
    ] {
        assert!(svg.contains(label), "no {label:?} in the plot");
    }
    assert!(
        svg.matches("<polyline").count() >= 4,
        "too few curves drawn"
    );
}
