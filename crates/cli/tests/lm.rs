//! Language models through the `recur` binary: `train --task lm` writes a run whose
//! validation perplexity falls, `eval` gives the test perplexity, `generate` is
//! deterministic for a seed and follows --temperature and --top-k, a killed run resumes to
//! the same bytes, and a classifier starts from the model (`--init-encoder`, frozen layers
//! stay as the model had them).

use recur_testkit::fails_with;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("lm", tag)
}

/// Sentences with structure a small model picks up: subjects, verbs and objects of two
/// topics, one document per line.
fn write_corpus(path: &Path, docs: usize, salt: usize) {
    let topics = [
        (
            ["the team", "the coach", "the striker"],
            ["won", "lost", "played"],
            ["the match", "the final", "the game"],
        ),
        (
            ["the bank", "the market", "the company"],
            ["raised", "cut", "reported"],
            ["its rates", "its profit", "the shares"],
        ),
    ];
    let mut s = String::new();
    for d in 0..docs {
        let (subj, verb, obj) = &topics[(d + salt) % 2];
        for k in 0..3 {
            let i = (d * 7 + k * 3 + salt) % 3;
            s.push_str(&format!(
                "{} {} {} . ",
                subj[i],
                verb[(i + k) % 3],
                obj[(i + d) % 3]
            ));
        }
        s.push('\n');
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const SMALL: [&str; 14] = [
    "--task",
    "lm",
    "--layers",
    "1",
    "--hidden",
    "16",
    "--embed",
    "16",
    "--bptt",
    "6",
    "--batch-size",
    "4",
    "--report-every",
    "10",
];

fn train_lm(dir: &Path, out: &Path, epochs: &str, extra: &[&str]) -> String {
    let (train, valid) = (dir.join("train.txt"), dir.join("valid.txt"));
    let mut args = vec!["train", "--train", s(&train)];
    args.extend(["--valid", s(&valid), "--epochs", epochs, "--out", s(out)]);
    args.extend(SMALL);
    args.extend(extra);
    ok(&recur(&args))
}

fn epochs_of(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "epoch")
        .collect()
}

#[test]
fn trains_evaluates_and_generates() {
    let dir = tmp("main");
    write_corpus(&dir.join("train.txt"), 300, 0);
    write_corpus(&dir.join("valid.txt"), 40, 1);
    let run = dir.join("run");
    let stdout = train_lm(&dir, &run, "3", &["--tied"]);
    assert!(stdout.contains("valid loss"), "{stdout}");
    for f in [
        "config.json",
        "vocab.txt",
        "model.safetensors",
        "metrics.jsonl",
        "checkpoint/state.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (config["task"].as_str(), config["model"]["tied"].as_bool()),
        (Some("lm"), Some(true))
    );
    let vocab = std::fs::read_to_string(run.join("vocab.txt")).unwrap();
    assert!(vocab.starts_with("<unk>\n<eos>\nthe\n"), "{vocab}");
    let epochs = epochs_of(&run);
    let ppl: Vec<f64> = epochs
        .iter()
        .map(|e| e["valid_ppl"].as_f64().unwrap())
        .collect();
    assert_eq!(ppl.len(), 3);
    let v = vocab.lines().count() as f64;
    let best = ppl.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        best < ppl[0] && best < v / 3.0,
        "validation perplexity {ppl:?} (vocabulary {v})"
    );

    // eval on the validation file gives the best epoch's perplexity
    let out = ok(&recur(&[
        "eval",
        "--run",
        s(&run),
        "--test",
        s(&dir.join("valid.txt")),
        "--json",
    ]));
    let e: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let got = e["perplexity"].as_f64().unwrap();
    assert!(
        (got - best).abs() < 1e-6 * best,
        "eval {got}, best epoch {best}"
    );

    // generate: a seed gives the same words, another seed other words
    let gen = |extra: &[&str]| {
        let mut args = vec!["generate", "--run", s(&run), "--words", "30"];
        args.extend(extra);
        ok(&recur(&args))
    };
    let a = gen(&["--seed", "1"]);
    assert_eq!(a, gen(&["--seed", "1"]));
    assert_ne!(a, gen(&["--seed", "2"]));
    assert!(a.split_whitespace().count() >= 20, "{a}");
    // near-zero temperature and top-k 1 are greedy: the seed no longer matters
    let cold = gen(&["--seed", "1", "--temperature", "0.0001"]);
    assert_eq!(cold, gen(&["--seed", "9", "--temperature", "0.0001"]));
    assert_eq!(cold, gen(&["--seed", "5", "--top-k", "1"]));
    // a prompt is continued
    let p = gen(&["--prompt", "the bank", "--seed", "3"]);
    assert!(p.starts_with("the bank"), "{p}");
    // bad requests are errors
    fails_with(
        &recur(&["generate", "--run", s(&run), "--temperature", "0"]),
        "--temperature must be positive",
    );
    fails_with(
        &recur(&["generate", "--run", s(&run), "--temperature", "-1"]),
        "--temperature must be positive",
    );
    fails_with(
        &recur(&["generate", "--run", s(&run), "--chars", "5"]),
        "word-level",
    );
    fails_with(
        &recur(&["generate", "--run", s(&run), "--top-k", "0"]),
        "--top-k",
    );
    // a classifier run is not a language model, nor the other way round
    fails_with(
        &recur(&["predict", "--run", s(&run), "the bank"]),
        "a language-model run, not a classifier",
    );
}

#[test]
fn tied_weights_need_equal_sizes_and_bad_flags_fail_first() {
    let dir = tmp("flags");
    write_corpus(&dir.join("train.txt"), 20, 0);
    let t = dir.join("train.txt");
    fails_with(
        &recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            s(&t),
            "--tied",
            "--embed",
            "8",
            "--hidden",
            "16",
            "--out",
            s(&dir.join("r")),
        ]),
        "--tied needs the embedding width to equal the hidden size",
    );
    fails_with(
        &recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            s(&t),
            "--bptt",
            "0",
            "--out",
            s(&dir.join("r")),
        ]),
        "--bptt",
    );
    fails_with(
        &recur(&[
            "train",
            "--task",
            "lm",
            "--train",
            s(&t),
            "--batch-size",
            "100000",
            "--out",
            s(&dir.join("r")),
        ]),
        "streams",
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    let dir = tmp("resume");
    write_corpus(&dir.join("train.txt"), 600, 0);
    write_corpus(&dir.join("valid.txt"), 40, 1);
    let straight = dir.join("straight");
    train_lm(&dir, &straight, "3", &[]);
    // the same run, killed (-9) once its first epoch is committed, then resumed
    let killed = dir.join("killed");
    let (train, valid) = (dir.join("train.txt"), dir.join("valid.txt"));
    let mut args = vec!["train", "--train", s(&train)];
    args.extend(["--valid", s(&valid), "--epochs", "3", "--out", s(&killed)]);
    args.extend(SMALL);
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // the reader stays open until the kill: a closed pipe would end the run (SIGPIPE) while
    // its first commit is still being written on the checkpoint thread
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("epoch 1:") {
            break;
        }
    }
    // the commit follows the epoch line: wait for it, then kill
    let state = killed.join("checkpoint/state.json");
    for _ in 0..200 {
        if state.is_file() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lines);
    ok(&recur(&["train", "--resume", s(&killed)]));
    for f in [
        "model.safetensors",
        "checkpoint/params.safetensors",
        "checkpoint/optimizer.safetensors",
    ] {
        assert_eq!(
            std::fs::read(straight.join(f)).unwrap(),
            std::fs::read(killed.join(f)).unwrap(),
            "{f} differs after resuming"
        );
    }
}

#[test]
fn a_classifier_starts_from_the_language_model() {
    let dir = tmp("transfer");
    write_corpus(&dir.join("train.txt"), 200, 0);
    write_corpus(&dir.join("valid.txt"), 20, 1);
    let lm = dir.join("lm");
    train_lm(&dir, &lm, "1", &[]);
    // a labelled file over the same texts: the topic is the label
    let mut tsv = String::from("label\ttext\n");
    for (i, line) in std::fs::read_to_string(dir.join("train.txt"))
        .unwrap()
        .lines()
        .enumerate()
    {
        tsv.push_str(&format!("{}\t{line}\n", ["sport", "money"][i % 2]));
    }
    std::fs::write(dir.join("labelled.tsv"), tsv).unwrap();
    let clf = dir.join("clf");
    let out = recur(&[
        "train",
        "--train",
        s(&dir.join("labelled.tsv")),
        "--label-col",
        "label",
        "--text-cols",
        "text",
        "--init-encoder",
        s(&lm),
        "--freeze-epochs",
        "1",
        "--epochs",
        "1",
        "--lr",
        "0.01",
        "--out",
        s(&clf),
    ]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("from the language model"));
    // frozen for the one epoch: the classifier's embedding and recurrent layer are the model's
    let read = |path: PathBuf| {
        let bytes = std::fs::read(path).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        st.tensors()
            .into_iter()
            .map(|(n, v)| (n, v.data().to_vec()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let (l, c) = (
        read(lm.join("model.safetensors")),
        read(clf.join("model.safetensors")),
    );
    assert_eq!(l["encoder.weight"], c["embedding.weight"]);
    assert_eq!(l["rnn.weight_hh_l0"], c["rnn.weight_hh_l0"]);
    assert!(c.contains_key("fc.weight"));
    // shapes that do not fit are refused with the reason
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&dir.join("labelled.tsv")),
            "--label-col",
            "label",
            "--text-cols",
            "text",
            "--init-encoder",
            s(&lm),
            "--bidirectional",
            "--out",
            s(&dir.join("bad")),
        ]),
        "unidirectional",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&dir.join("labelled.tsv")),
            "--label-col",
            "label",
            "--text-cols",
            "text",
            "--init-encoder",
            s(&dir.join("labelled.tsv")),
            "--out",
            s(&dir.join("bad")),
        ]),
        "not a language-model run",
    );
}
