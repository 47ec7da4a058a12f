//! `recur export --onnx`, checked in ONNX Runtime: every classifier configuration, trained
//! briefly on AG News, gives recur's probabilities (within 1e-5) and arg-max on the whole
//! test set in batches of 64 through the Python example (its own tokenizer, from the
//! sidecar), recur's numbers for a row alone, and recur eval's accuracy; a packed model's
//! row alone equals the row in its batch; tricky texts read alike under every tokenizer; a
//! language model's steps and greedy text equal recur's; what cannot be exported is
//! refused and nothing is left at the output path.
//!
//! The ONNX Runtime parts need a Python with `onnx`, `onnxruntime` and `numpy`
//! (`$RECUR_ONNX_PYTHON`, or the venv `.ci/run` makes at `target/py-venv`): without one
//! they skip, and with `REQUIRE_ONNX=1` they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use recur_cpu::Cpu;
use recur_data::{read_csv, Encoded, ReadOptions};
use recur_testkit::{fails_with, succeeded, TOPIC_WORDS as WORDS};
use recur_train::{predict_logits, RunDir};
use serde_json::{json, Value};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("onnx", tag)
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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Python that imports onnx, onnxruntime and numpy; `None` (after saying so, or failing
/// with `REQUIRE_ONNX=1`) when there is none.
fn python(what: &str) -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let candidates = [
        std::env::var_os("RECUR_ONNX_PYTHON").map(PathBuf::from),
        Some(target.join("py-venv/bin/python")),
    ];
    for py in candidates.into_iter().flatten() {
        let ok = Command::new(&py)
            .args(["-c", "import onnx, onnxruntime, numpy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(py);
        }
    }
    if std::env::var("REQUIRE_ONNX").is_ok_and(|v| v == "1") {
        panic!(
            "{what}: a Python with onnx, onnxruntime and numpy is required (REQUIRE_ONNX=1) but \
             none was found: set RECUR_ONNX_PYTHON or make target/py-venv (.ci/run does)"
        );
    }
    println!("SKIPPED {what}: no Python with onnx and onnxruntime (set RECUR_ONNX_PYTHON)");
    None
}

fn ag_news(name: &str) -> Option<PathBuf> {
    [
        std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from),
        Some(workspace().join("../shared/datasets/ag_news")),
    ]
    .into_iter()
    .flatten()
    .map(|d| d.join(name))
    .find(|p| p.is_file())
}

fn run_python(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{py:?} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn example(name: &str) -> String {
    s(&workspace().join("crates/onnx/python").join(name)).to_string()
}

/// `onnx.checker` (full) on `model`, then ONNX Runtime on `feeds`; the outputs by name.
fn ort_run(py: &Path, model: &Path, feeds: &[Value]) -> Vec<Value> {
    let path = model.with_extension("feeds.json");
    std::fs::write(&path, serde_json::to_vec(feeds).unwrap()).unwrap();
    let script = workspace().join("crates/cli/tests/onnx/run.py");
    let out = run_python(py, &[s(&script), s(model), s(&path)]);
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Probabilities (row-wise softmax) of `[N, K]` logits.
fn softmax_rows(logits: &[f32], k: usize) -> Vec<Vec<f64>> {
    logits
        .chunks_exact(k)
        .map(|row| {
            let max = row
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
            let e: Vec<f64> = row.iter().map(|&x| (f64::from(x) - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.iter().map(|x| x / sum).collect()
        })
        .collect()
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0
}

/// The example classifier's probabilities for `texts`, `batch` at a time (`None`: no token).
fn classify_py(py: &Path, model: &Path, texts: &[String], batch: usize) -> Vec<Option<Vec<f64>>> {
    let file = model.with_extension(format!("texts{batch}.jsonl"));
    let lines: Vec<String> = texts.iter().map(|t| json!(t).to_string()).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = run_python(
        py,
        &[
            &example("classify.py"),
            s(model),
            "--file",
            s(&file),
            "--json-lines",
            "--json",
            "--threads",
            "2",
            "--batch-size",
            &batch.to_string(),
        ],
    );
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v.get("probabilities").map(|p| {
                p.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
        })
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: onnx {g} vs recur {w}");
    }
}

/// Exports `run` to `run/model.onnx`; its path.
fn export(run: &Path) -> PathBuf {
    let model = run.join("model.onnx");
    succeeded(&recur(&["export", "--run", s(run), "--onnx", s(&model)]));
    model
}

/// Checks the exported classifier of `run` against recur on `texts` (labels `labels`):
/// batches of 64 in order, rows alone, accuracy; `test` (labelled, as the run reads files)
/// for `recur eval`.
fn check_classifier(py: &Path, run: &Path, name: &str, texts: &[String], test: &Path) {
    let model = export(run);
    ort_run(py, &model, &[]);
    let p = RunDir::new(run).load_classifier(&Cpu).unwrap();
    let packed = p.config().model.packed();
    let k = p.config().model.num_class;
    // recur: the same batches of 64 as evaluation runs them
    let ids: Vec<Vec<usize>> = texts.iter().map(|t| p.encode(t).unwrap()).collect();
    let enc = Encoded {
        labels: vec![0; ids.len()],
        ids: ids.clone(),
    };
    let logits = predict_logits(p.model(), p.store(), &enc, 64).unwrap();
    let want = softmax_rows(&logits, k);
    let got = classify_py(py, &model, texts, 64);
    let mut onnx_pred = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let g = g.as_ref().unwrap();
        assert_close(&format!("{name}: row {i} in batches of 64"), g, w, 1e-5);
        assert_eq!(argmax(g), argmax(w), "{name}: row {i}: arg-max");
        onnx_pred.push(argmax(g));
    }
    // rows alone: what recur predict computes; a packed row alone is the row in its batch
    let sample: Vec<usize> = (0..texts.len()).step_by(texts.len().div_ceil(60)).collect();
    let alone_texts: Vec<String> = sample.iter().map(|&i| texts[i].clone()).collect();
    let alone = classify_py(py, &model, &alone_texts, 1);
    let sample_ids: Vec<Vec<usize>> = sample.iter().map(|&i| ids[i].clone()).collect();
    let recur_alone = p.probabilities(&sample_ids).unwrap();
    for ((&i, g), w) in sample.iter().zip(&alone).zip(&recur_alone) {
        let g = g.as_ref().unwrap();
        assert_close(&format!("{name}: row {i} alone"), g, w, 1e-5);
        if packed {
            let batched = got[i].as_ref().unwrap();
            assert_close(
                &format!("{name}: row {i} alone vs in its batch"),
                g,
                batched,
                1e-6,
            );
        }
    }
    // recur eval's accuracy, batches of 64, is the ONNX Runtime accuracy
    let eval: Value = serde_json::from_str(&succeeded(&recur(&[
        "eval",
        "--run",
        s(run),
        "--test",
        s(test),
        "--batch-size",
        "64",
        "--json",
    ])))
    .unwrap();
    let labels = read_csv(test, ReadOptions::default()).unwrap();
    let correct = labels
        .examples
        .iter()
        .zip(&onnx_pred)
        .filter(|(e, &p)| e.label == p)
        .count();
    let onnx_acc = correct as f64 / texts.len() as f64;
    let recur_acc = eval["accuracy"].as_f64().unwrap();
    assert!(
        (onnx_acc - recur_acc).abs() < 1e-12,
        "{name}: accuracy onnx {onnx_acc} vs recur eval {recur_acc}"
    );
    println!("{name}: accuracy {recur_acc:.4} in recur and ONNX Runtime");
}

#[test]
fn every_classifier_runs_in_onnx_runtime_with_recurs_numbers() {
    let Some(py) = python("ONNX classifier matrix") else {
        return;
    };
    let (Some(train), Some(test)) = (ag_news("train_sample.csv"), ag_news("test.csv")) else {
        recur_testkit::skip_without_data("ONNX classifier matrix");
        return;
    };
    let texts: Vec<String> = read_csv(&test, ReadOptions::default())
        .unwrap()
        .examples
        .into_iter()
        .map(|e| e.text)
        .collect();
    let dir = tmp("matrix");
    let configs: &[(&str, &[&str])] = &[
        ("rnn", &["--model", "rnn"]),
        ("lstm", &["--model", "lstm"]),
        ("lstm-packed", &["--model", "lstm-packed"]),
        ("gru", &["--model", "gru"]),
        (
            "bilstm2-packed",
            &["--model", "lstm-packed", "--layers", "2", "--bidirectional"],
        ),
        (
            "gru-packed-mean",
            &["--cell", "gru", "--packed", "--pooling", "mean"],
        ),
        (
            "bigru-packed-attention",
            &[
                "--cell",
                "gru",
                "--packed",
                "--bidirectional",
                "--pooling",
                "attention",
            ],
        ),
        (
            "rnn-relu2-packed-max",
            &[
                "--cell",
                "rnn-relu",
                "--packed",
                "--layers",
                "2",
                "--pooling",
                "max",
            ],
        ),
        (
            "bilstm2-padded-mean",
            &[
                "--cell",
                "lstm",
                "--packed",
                "false",
                "--layers",
                "2",
                "--bidirectional",
                "--pooling",
                "mean",
            ],
        ),
        (
            "lstm-padded-attention",
            &[
                "--cell",
                "lstm",
                "--packed",
                "false",
                "--pooling",
                "attention",
            ],
        ),
        (
            "birnn-padded-max",
            &[
                "--cell",
                "rnn",
                "--packed",
                "false",
                "--bidirectional",
                "--pooling",
                "max",
            ],
        ),
        (
            "bigru-packed-mean-bag-chars-members",
            &[
                "--cell",
                "gru",
                "--packed",
                "--bidirectional",
                "--pooling",
                "mean",
                "--ngram-buckets",
                "4096",
                "--char-buckets",
                "2048",
                "--members",
                "2",
                "--valid-fraction",
                "0.1",
            ],
        ),
        (
            "bigru-padded-last",
            &["--cell", "gru", "--packed", "false", "--bidirectional"],
        ),
        (
            "lstm-packed-max-tokens",
            &[
                "--model",
                "lstm-packed",
                "--pooling",
                "max",
                "--max-tokens",
                "12",
            ],
        ),
    ];
    for (name, flags) in configs {
        let run = dir.join(name);
        let mut args = vec![
            "train",
            "--train",
            s(&train),
            "--test",
            s(&test),
            "--epochs",
            "1",
            "--limit",
            "4000",
            "--lr",
            "0.01",
            "--batch-size",
            "32",
            "--embed",
            "16",
            "--hidden",
            "16",
            "--min-freq",
            "2",
            "--seed",
            "5",
            "--out",
            s(&run),
        ];
        args.extend_from_slice(flags);
        succeeded(&recur(&args));
        check_classifier(&py, &run, name, &texts, &test);
    }
}

/// A labelled CSV of topic words with tricky text around them: Unicode case, quotes,
/// `<br />`, punctuation, separators that only some rules call whitespace.
fn write_tricky(path: &Path, rows: usize) -> Vec<String> {
    let extras = [
        "ÉCOLE Straße İstanbul ΟΔΟΣ",
        "don't \"quote\" it.<br />next, (maybe)!?",
        "tab\tnbsp\u{a0}thin\u{2009}sep\u{1c}unit",
        "semi;colon:dash-and/slash",
        "   spaced   out   ",
        "emoji 🚀 and 中文字符",
    ];
    let mut texts = Vec::new();
    let mut csv = String::new();
    for i in 0..rows {
        let class = i % 4;
        let text = format!(
            "{} {} {}",
            WORDS[class][i % 5],
            extras[i % extras.len()],
            WORDS[class][(i / 5) % 5]
        );
        csv.push_str(&format!(
            "\"{}\",\"{}\",\"\"\n",
            class + 1,
            text.replace('"', "\"\"")
        ));
        // AG News rows are title + " " + description
        texts.push(format!("{text} "));
    }
    std::fs::write(path, csv).unwrap();
    texts
}

#[test]
fn every_tokenizer_reads_text_in_python_as_recur_does() {
    let Some(py) = python("ONNX tokenizers") else {
        return;
    };
    let dir = tmp("tokenizers");
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    write_tricky(&train, 240);
    let texts = write_tricky(&test, 120);
    for (tok, extra) in [
        ("basic_english", &[][..]),
        ("whitespace", &[][..]),
        ("char", &["--max-tokens", "40"][..]),
    ] {
        let run = dir.join(tok);
        let mut args = vec![
            "train",
            "--train",
            s(&train),
            "--test",
            s(&test),
            "--tokenizer",
            tok,
            "--epochs",
            "3",
            "--lr",
            "0.02",
            "--embed",
            "8",
            "--hidden",
            "8",
            "--out",
            s(&run),
        ];
        args.extend_from_slice(extra);
        succeeded(&recur(&args));
        // the sidecar's vocabulary and rules give recur's ids for every text
        let p = RunDir::new(&run).load_classifier(&Cpu).unwrap();
        let model = export(&run);
        let script = format!(
            "import json, sys\nsys.path.insert(0, {dir:?})\nfrom recur_text import TextReader\n\
             r = TextReader.load({side:?})\n\
             print(json.dumps([r.encode(t) for t in json.load(open({texts:?}))]))",
            dir = example(""),
            side = format!("{}.json", s(&model)),
            texts = s(&dir.join("texts.json")),
        );
        std::fs::write(dir.join("texts.json"), serde_json::to_vec(&texts).unwrap()).unwrap();
        let ids: Vec<Vec<usize>> =
            serde_json::from_str(&run_python(&py, &["-c", &script])).unwrap();
        for (t, got) in texts.iter().zip(&ids) {
            assert_eq!(*got, p.encode(t).unwrap_or_default(), "{tok}: {t:?}");
        }
        check_classifier(&py, &run, tok, &texts, &test);
    }
}

/// A language model's ids `[B, T]` row-major as recur's time-major window.
fn time_major(ids: &[usize], b: usize) -> Vec<usize> {
    let t = ids.len() / b;
    (0..t)
        .flat_map(|j| (0..b).map(move |i| ids[i * t + j]))
        .collect()
}

#[test]
fn a_language_model_steps_and_generates_in_onnx_runtime_as_in_recur() {
    let Some(py) = python("ONNX language model") else {
        return;
    };
    let dir = tmp("lm");
    let corpus = dir.join("stories.txt");
    let mut text = String::new();
    for i in 0..400 {
        let c = i % 4;
        text.push_str(&format!(
            "the {} and the {} of {} .\n",
            WORDS[c][i % 5],
            WORDS[c][(i / 5) % 5],
            WORDS[(c + 1) % 4][i % 5]
        ));
    }
    std::fs::write(&corpus, text).unwrap();
    for cell in ["lstm", "gru", "rnn"] {
        let run = dir.join(cell);
        succeeded(&recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            s(&corpus),
            "--cell",
            cell,
            "--layers",
            "2",
            "--embed",
            "12",
            "--hidden",
            "12",
            "--epochs",
            "1",
            "--out",
            s(&run),
        ]));
        let model = export(&run);
        let g = RunDir::new(&run).load_lm(&Cpu).unwrap();
        let (l, h) = (g.config().model.num_layers, g.config().model.hidden_dim);
        let lstm = cell == "lstm";
        let v = g.config().model.vocab_size;
        // a window of 2 rows × 5 steps from zeros, then one step from the state it left
        let ids: Vec<usize> = (0..10).map(|i| (i * 7 + 3) % v).collect();
        let next = [4 % v, 9 % v];
        let tape = recur_autograd::Tape::no_grad(&Cpu);
        let (logits, state) = g
            .model()
            .forward(&tape, g.store(), &time_major(&ids, 2), 2, None, None)
            .unwrap();
        let want1 = tape.value(logits).unwrap().to_f64_vec().unwrap();
        let (logits2, state2) = g
            .model()
            .forward(&tape, g.store(), &next, 2, Some(&state), None)
            .unwrap();
        let want2 = tape.value(logits2).unwrap().to_f64_vec().unwrap();
        let zeros = vec![0.0f32; l * 2 * h];
        let feed = |ids: &[usize], t: usize, h0: &[f64], c0: &[f64]| -> Value {
            let mut f = json!({
                "ids": {"dtype": "int64", "shape": [2, t], "data": ids},
                "h": {"dtype": "float32", "shape": [l, 2, h], "data": h0},
            });
            if lstm {
                f["c"] = json!({"dtype": "float32", "shape": [l, 2, h], "data": c0});
            }
            f
        };
        let z: Vec<f64> = zeros.iter().map(|&x| f64::from(x)).collect();
        let out1 = &ort_run(&py, &model, &[feed(&ids, 5, &z, &z)])[0];
        // recur's logits are time-major rows [T·B, V]; ONNX's [B, T, V]
        let got1 = floats(&out1["logits"]);
        for b in 0..2 {
            for t in 0..5 {
                let g_row = &got1[(b * 5 + t) * v..(b * 5 + t + 1) * v];
                let w_row = &want1[(t * 2 + b) * v..(t * 2 + b + 1) * v];
                assert_close(&format!("{cell}: logits b{b} t{t}"), g_row, w_row, 1e-5);
            }
        }
        let h1 = floats(&out1["h_n"]);
        assert_close(
            &format!("{cell}: h_n"),
            &h1,
            &state.h.to_f64_vec().unwrap(),
            1e-5,
        );
        let c1 = if lstm {
            let c = floats(&out1["c_n"]);
            let want_c = state.c.as_ref().unwrap().to_f64_vec().unwrap();
            assert_close(&format!("{cell}: c_n"), &c, &want_c, 1e-5);
            c
        } else {
            z.clone()
        };
        let out2 = &ort_run(&py, &model, &[feed(&next, 1, &h1, &c1)])[0];
        assert_close(
            &format!("{cell}: step logits"),
            &floats(&out2["logits"]),
            &want2,
            1e-5,
        );
        assert_close(
            &format!("{cell}: step h_n"),
            &floats(&out2["h_n"]),
            &state2.h.to_f64_vec().unwrap(),
            1e-5,
        );
        // greedy text: the Python example against recur's model fed its own arg-max
        let prompt = "the market and";
        let mut ids = g.prompt(prompt).ids;
        let mut greedy = Vec::new();
        let mut st = None;
        for _ in 0..12 {
            let tape = recur_autograd::Tape::no_grad(&Cpu);
            let (lg, s2) = g
                .model()
                .forward(&tape, g.store(), &ids, 1, st.as_ref(), None)
                .unwrap();
            let lg = tape.value(lg).unwrap().to_f64_vec().unwrap();
            let last = &lg[lg.len() - v..];
            let nxt = argmax(last);
            greedy.push(nxt);
            ids = vec![nxt];
            st = Some(s2);
        }
        let got: Vec<usize> = serde_json::from_str(&run_python(
            &py,
            &[
                &example("generate.py"),
                s(&model),
                "--prompt",
                prompt,
                "--words",
                "12",
                "--greedy",
                "--ids",
            ],
        ))
        .unwrap();
        assert_eq!(got, greedy, "{cell}: greedy generation");
    }
}

#[test]
fn what_cannot_be_exported_is_refused_and_nothing_is_left_behind() {
    let dir = tmp("refused");
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    write_tricky(&train, 80);
    write_tricky(&test, 20);
    let base = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--train",
            s(&train),
            "--test",
            s(&test),
            "--epochs",
            "1",
            "--embed",
            "8",
            "--hidden",
            "8",
            "--out",
            s(out),
        ];
        args.extend_from_slice(extra);
        succeeded(&recur(&args));
    };
    // an LSTM projection has no ONNX slot: refused, naming the flag
    let proj = dir.join("proj");
    base(&proj, &["--proj-size", "4"]);
    let onnx = dir.join("out/proj.onnx");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    fails_with(
        &recur(&["export", "--run", s(&proj), "--onnx", s(&onnx)]),
        "--proj-size",
    );
    assert_eq!(std::fs::read_dir(dir.join("out")).unwrap().count(), 0);
    // a run whose training did not finish: refused unless asked for
    let run = dir.join("run");
    base(&run, &[]);
    let state_path = run.join("checkpoint/state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    state["progress"]["finished"] = Value::Null;
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    let onnx = dir.join("out/run.onnx");
    fails_with(
        &recur(&["export", "--run", s(&run), "--onnx", s(&onnx)]),
        "not finished",
    );
    assert_eq!(std::fs::read_dir(dir.join("out")).unwrap().count(), 0);
    succeeded(&recur(&[
        "export",
        "--run",
        s(&run),
        "--onnx",
        s(&onnx),
        "--unfinished",
    ]));
    assert!(onnx.is_file() && dir.join("out/run.onnx.json").is_file());
    // an output that cannot be written: an error naming it, no temporary file left
    let bad = dir.join("out/missing/x.onnx");
    fails_with(
        &recur(&[
            "export",
            "--run",
            s(&run),
            "--onnx",
            s(&bad),
            "--unfinished",
        ]),
        "missing/x.onnx",
    );
    let dir_out = dir.join("out");
    fails_with(
        &recur(&[
            "export",
            "--run",
            s(&run),
            "--onnx",
            s(&dir_out),
            "--unfinished",
        ]),
        "is a folder",
    );
    let names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "run.onnx" || n == "run.onnx.json"),
        "left behind: {names:?}"
    );
    // not a run folder
    fails_with(
        &recur(&["export", "--run", s(&dir), "--onnx", s(&dir.join("x.onnx"))]),
        "not a run folder",
    );
}
