//! End to end through the `recur` binary on a small CSV the test writes: train → run folder
//! → eval → predict; a reloaded model gives identical logits; a PyTorch-style state_dict
//! export loads; every bad input fails with its message, never a panic; Ctrl-C stops with
//! exit status 130 and a usable, resumable run.

use recur_testkit::fails_with;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_data::Vocab;
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore};
use recur_tensor::DType;
use recur_testkit::TOPIC_WORDS as WORDS;
use recur_train::{ClassifierRunConfig, RunConfig, RunDir};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("e2e", tag)
}

/// A learnable 4-class CSV: each class has its own words.
fn write_csv(path: &Path, rows: usize, salt: usize) {
    let mut s = String::new();
    for r in 0..rows {
        let c = (r + salt) % 4;
        let w = WORDS[c];
        s.push_str(&format!(
            "\"{}\",\"{} {}\",\"The {} and the {}, said {}.\"\n",
            c + 1,
            w[r % 5],
            w[(r + 1) % 5],
            w[(r + 2) % 5],
            w[(r + 3) % 5],
            w[(r * 7) % 5]
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn recur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    recur_testkit::succeeded(out)
}

fn train_run(dir: &Path, model: &str) -> PathBuf {
    write_csv(&dir.join("train.csv"), 320, 0);
    write_csv(&dir.join("test.csv"), 80, 1);
    let run = dir.join(format!("run-{model}"));
    let out = recur(&[
        "train",
        "--model",
        model,
        "--data",
        dir.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--lr",
        "0.01",
        "--report-every",
        "320",
        "--seed",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    let stdout = ok(&out);
    assert!(stdout.contains("320: acc="), "no progress line: {stdout}");
    assert!(stdout.contains("epoch 3:"), "{stdout}");
    run
}

#[test]
fn train_eval_predict_round_trip() {
    let dir = tmp("train");
    for model in ["lstm-packed", "rnn", "gru", "lstm"] {
        let run = train_run(&dir, model);
        for f in [
            "model.safetensors",
            "config.json",
            "vocab.txt",
            "metrics.jsonl",
        ] {
            assert!(run.join(f).is_file(), "{model}: missing {f}");
        }
        let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
        assert_eq!(
            metrics
                .lines()
                .filter(|l| l.contains("\"epoch\"") && l.contains("\"kind\":\"epoch\""))
                .count(),
            3,
            "{metrics}"
        );
        let eval = ok(&recur(&[
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--test",
            dir.join("test.csv").to_str().unwrap(),
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
        let acc = v["accuracy"].as_f64().unwrap();
        if model == "lstm-packed" || model == "rnn" {
            assert!(
                acc > 0.9,
                "{model}: a separable task should be learned, accuracy {acc}"
            );
        }
        let pred = ok(&recur(&[
            "predict",
            "--run",
            run.to_str().unwrap(),
            "stocks and shares at the bank",
            "the coach and the league",
        ]));
        let lines: Vec<&str> = pred.lines().collect();
        assert_eq!(lines.len(), 2, "{pred}");
        if model == "lstm-packed" {
            assert!(lines[0].starts_with("Business"), "{pred}");
            assert!(lines[1].starts_with("Sports"), "{pred}");
        }
    }
}

#[test]
fn reloaded_model_gives_identical_logits() {
    let dir = tmp("reload");
    let mut cfg = ClassifierConfig::lesson(ModelKind::LstmPacked, 12);
    cfg.embed_dim = 5;
    cfg.hidden_dim = 4;
    cfg.num_layers = 2;
    cfg.bidirectional = true;
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = Classifier::new(&mut store, cfg.clone(), &mut rng(9)).unwrap();
    let vocab = Vocab::from_counts(
        (0..12).map(|i| (format!("w{i}"), 1)).collect(),
        recur_data::VocabOrder::FirstSeen,
        1,
    );
    let run = RunDir::new(&dir.join("run"));
    let names = ["a", "b", "c", "d"].map(String::from).to_vec();
    let config = ClassifierRunConfig::new(cfg, names, recur_data::Tokenizer::Whitespace, &vocab);
    run.save(&RunConfig::Classify(config), &vocab, &store)
        .unwrap();
    let loaded = run.load_classifier(&Cpu).unwrap();
    let tokens = [3, 4, 5, 0, 1, 11, 7, 0];
    let lengths = [3, 4];
    let logits = |m: &Classifier, s: &ParamStore<Cpu>| {
        let tape = Tape::no_grad(&Cpu);
        let l = m.forward(&tape, s, &tokens, &lengths, None).unwrap();
        tape.value(l).unwrap().to_f32_vec().unwrap()
    };
    assert_eq!(
        logits(&model, &store),
        logits(loaded.model(), loaded.store())
    );
}

#[test]
fn pytorch_state_dict_export_loads() {
    // What `safetensors.torch.save_file(net.state_dict(), ...)` writes for the lesson's
    // LSTMPackClassifier (F64 here, as a float64 model would be), with a minimal config.
    let dir = tmp("export");
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let (v, e, h, k) = (6usize, 3usize, 2usize, 4usize);
    let shapes: Vec<(&str, Vec<usize>)> = vec![
        ("embedding.weight", vec![v, e]),
        ("rnn.weight_ih_l0", vec![4 * h, e]),
        ("rnn.weight_hh_l0", vec![4 * h, h]),
        ("rnn.bias_ih_l0", vec![4 * h]),
        ("rnn.bias_hh_l0", vec![4 * h]),
        ("fc.weight", vec![k, h]),
        ("fc.bias", vec![k]),
    ];
    let bufs: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .iter()
        .map(|(n, s)| {
            (
                n.to_string(),
                s.clone(),
                (0..s.iter().product::<usize>())
                    .flat_map(|i| ((i as f64) * 0.01).to_le_bytes())
                    .collect(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bufs
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(
        run.join("model.safetensors"),
        safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
    std::fs::write(run.join("vocab.txt"), "the\nstocks\nfell\ngoal\n.\nbank\n").unwrap();
    let config = serde_json::json!({"model": "lstm-packed", "vocab_size": v, "embed_dim": e,
        "hidden_dim": h, "num_class": k});
    std::fs::write(run.join("config.json"), config.to_string()).unwrap();
    write_csv(&dir.join("test.csv"), 12, 0);
    let out = ok(&recur(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--test",
        dir.join("test.csv").to_str().unwrap(),
    ]));
    assert!(out.contains("12 examples"), "{out}");
    ok(&recur(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "stocks fell",
    ]));
}

#[test]
fn bad_inputs_fail_with_clear_errors() {
    let dir = tmp("bad");
    let run = train_run(&dir, "lstm-packed");
    let r = |p: &Path| p.to_str().unwrap().to_string();
    let copy = |tag: &str| {
        let d = dir.join(tag);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["model.safetensors", "config.json", "vocab.txt"] {
            std::fs::copy(run.join(f), d.join(f)).unwrap();
        }
        d
    };
    // missing checkpoint
    let d = copy("missing");
    std::fs::remove_file(d.join("model.safetensors")).unwrap();
    fails_with(
        &recur(&["predict", "--run", &r(&d), "x"]),
        "model.safetensors",
    );
    // truncated checkpoint
    let d = copy("truncated");
    let bytes = std::fs::read(d.join("model.safetensors")).unwrap();
    std::fs::write(d.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        &recur(&["predict", "--run", &r(&d), "x"]),
        "truncated or corrupt",
    );
    // shapes that do not match the config
    let d = copy("shapes");
    let cfg = std::fs::read_to_string(d.join("config.json"))
        .unwrap()
        .replace("\"hidden_dim\": 32", "\"hidden_dim\": 16");
    std::fs::write(d.join("config.json"), cfg).unwrap();
    fails_with(
        &recur(&["predict", "--run", &r(&d), "x"]),
        "rnn.weight_ih_l0 is [128, 64], but config.json's model makes it [64, 64]",
    );
    // vocabulary size ≠ embedding rows
    let d = copy("vocab");
    let mut vocab = std::fs::read_to_string(d.join("vocab.txt")).unwrap();
    vocab.push_str("an-extra-token\n");
    std::fs::write(d.join("vocab.txt"), vocab).unwrap();
    fails_with(
        &recur(&["eval", "--run", &r(&d), "--test", &r(&dir.join("test.csv"))]),
        "tokens but config.json says vocab_size",
    );
    // unknown key
    let d = copy("unknown");
    let bytes = std::fs::read(d.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut views: Vec<(String, safetensors::tensor::TensorView)> = st.tensors();
    let extra = [0u8; 4];
    views.push((
        "rnn.weight_ih_l9".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &extra).unwrap(),
    ));
    std::fs::write(
        d.join("model.safetensors"),
        safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
    fails_with(
        &recur(&["predict", "--run", &r(&d), "x"]),
        "holds rnn.weight_ih_l9, which config.json's model does not have",
    );
    // a malformed training row names file and line
    let bad = dir.join("badtrain");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("train.csv"), "1,a,b\n7,c,d\n").unwrap();
    std::fs::copy(dir.join("test.csv"), bad.join("test.csv")).unwrap();
    fails_with(
        &recur(&["train", "--data", &r(&bad), "--out", &r(&bad.join("run"))]),
        "train.csv:2: class 7 is outside 1..=4",
    );
    // no data at all
    fails_with(
        &recur(&[
            "train",
            "--data",
            &r(&dir.join("nowhere")),
            "--out",
            &r(&dir.join("r")),
        ]),
        "cargo xtask download",
    );
}

#[test]
fn ctrl_c_stops_after_the_batch_and_saves_the_run() {
    use std::io::{BufRead, BufReader};
    let dir = tmp("sigint");
    write_csv(&dir.join("train.csv"), 4000, 0);
    write_csv(&dir.join("test.csv"), 40, 1);
    let run = dir.join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args([
            "train",
            "--model",
            "lstm-packed",
            "--epochs",
            "50",
            "--report-every",
            "320",
            "--data",
            dir.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains(": acc="), "{first}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted after") && stderr.contains("--resume"),
        "{stderr}"
    );
    for f in [
        "model.safetensors",
        "config.json",
        "vocab.txt",
        "metrics.jsonl",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"interrupted\""), "{metrics}");
    ok(&recur(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "stocks and shares",
    ]));
}

#[test]
fn an_interrupted_first_epoch_leaves_the_previous_run_as_it_was() {
    use std::io::{BufRead, BufReader};
    let dir = tmp("keep");
    let run = train_run(&dir, "lstm-packed");
    let before = std::fs::read(run.join("model.safetensors")).unwrap();
    write_csv(&dir.join("big.csv"), 6000, 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args([
            "train",
            "--train",
            dir.join("big.csv").to_str().unwrap(),
            "--report-every",
            "320",
        ])
        .args(["--out", run.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains(": acc="), "{first}");
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("left as it was"), "{stderr}");
    assert_eq!(
        std::fs::read(run.join("model.safetensors")).unwrap(),
        before
    );
    ok(&recur(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "stocks and shares",
    ]));
}

#[test]
fn a_closed_pipe_ends_predict_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::process::ExitStatusExt;
    let dir = tmp("pipe");
    let run = train_run(&dir, "lstm-packed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["predict", "--run", run.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for _ in 0..200_000 {
            if writeln!(stdin, "stocks and shares at the bank").is_err() {
                break;
            }
        }
    });
    // `| head -1`: read one line, then close the pipe
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("Business"), "{first}");
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let quiet = out.status.success() || out.status.signal() == Some(13);
    assert!(
        quiet,
        "expected exit 0 or SIGPIPE, got {:?}: {stderr}",
        out.status
    );
}
