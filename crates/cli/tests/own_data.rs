//! Your own data through the `recur` binary, on small files the tests write: TSV with a
//! header and string labels, JSONL with a validation file, fastText, integer labels named by
//! `--class-names`, each tokenizer; `eval` reads test files as the run remembers and prints
//! class names, as `predict` does; unseen labels fail with file, line and label.

use recur_testkit::fails_with;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("own", tag)
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

/// Three classes with their own words; `(label, title, body)` per row.
fn rows(n: usize, salt: usize) -> Vec<(&'static str, String, String)> {
    const WORDS: [(&str, [&str; 4]); 3] = [
        ("spam", ["win", "prize", "free", "offer"]),
        ("ham", ["lunch", "meeting", "tomorrow", "thanks"]),
        ("phish", ["password", "account", "verify", "login"]),
    ];
    (0..n)
        .map(|r| {
            let (label, w) = WORDS[(r + salt) % 3];
            (
                label,
                format!("{} {}", w[r % 4], w[(r + 1) % 4]),
                format!("the {} and {}", w[(r + 2) % 4], w[(r + 3) % 4]),
            )
        })
        .collect()
}

fn write_tsv(path: &Path, n: usize, salt: usize) {
    let mut s = String::from("id\tsubject\tbody\tkind\n");
    for (i, (l, t, b)) in rows(n, salt).into_iter().enumerate() {
        s.push_str(&format!("{i}\t\"{t}\"\t{b}\t{l}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn write_jsonl(path: &Path, n: usize, salt: usize) {
    let mut s = String::new();
    for (l, t, b) in rows(n, salt) {
        s.push_str(&serde_json::json!({"category": l, "text": format!("{t} {b}")}).to_string());
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

fn write_fasttext(path: &Path, n: usize, salt: usize) {
    let mut s = String::new();
    for (l, t, b) in rows(n, salt) {
        s.push_str(&format!("__label__{l} {t} {b}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn train(extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--lr",
        "0.02",
        "--seed",
        "1",
        "--report-every",
        "100000",
    ];
    args.extend_from_slice(extra);
    ok(&recur(&args))
}

fn config(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap()
}

fn eval_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["eval", "--json"];
    a.extend_from_slice(args);
    serde_json::from_str(ok(&recur(&a)).trim()).unwrap()
}

#[test]
fn tsv_with_header_and_string_labels() {
    let dir = tmp("tsv");
    let (tr, te) = (dir.join("train.tsv"), dir.join("test.tsv"));
    write_tsv(&tr, 300, 0);
    write_tsv(&te, 60, 1);
    let run = dir.join("run");
    let out = train(&[
        "--train",
        s(&tr),
        "--test",
        s(&te),
        "--label-col",
        "kind",
        "--text-cols",
        "subject,body",
        "--valid-fraction",
        "0.2",
        "--out",
        s(&run),
    ]);
    assert!(
        out.contains("epoch 3:") && out.contains("valid loss"),
        "{out}"
    );
    let c = config(&run);
    assert_eq!(
        c["classes"]["names"],
        serde_json::json!(["ham", "phish", "spam"])
    );
    assert_eq!(c["classes"]["labels"]["kind"], "names");
    assert_eq!(c["data"]["format"], "tsv");
    assert_eq!(c["data"]["label_col"], "kind");
    assert_eq!(c["text"]["vocab_order"], "pad-unk");
    assert_eq!(c["model"]["padding_idx"], 0);
    assert_eq!(c["text"]["tokenizer"], "basic_english");
    let vocab = std::fs::read_to_string(run.join("vocab.txt")).unwrap();
    assert!(vocab.starts_with("<pad>\n<unk>\n"), "{vocab}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert!(last["valid_accuracy"].as_f64().unwrap() > 0.9, "{metrics}");
    assert!(last["valid_macro_f1"].as_f64().is_some() && last["valid_loss"].as_f64().is_some());
    // eval needs no flags: the run remembers format, columns and header
    let v = eval_json(&["--run", s(&run), "--test", s(&te)]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");
    assert_eq!(v["per_class"][1]["class"], "phish");
    assert!(v["macro_f1"].as_f64().is_some() && v["loss"].as_f64().is_some());
    let table = ok(&recur(&["eval", "--run", s(&run), "--test", s(&te)]));
    assert!(
        table.contains("phish") && table.contains("macro-F1"),
        "{table}"
    );
    let pred = ok(&recur(&[
        "predict",
        "--run",
        s(&run),
        "verify your password",
        "lunch tomorrow",
    ]));
    let lines: Vec<&str> = pred.lines().collect();
    assert!(
        lines[0].starts_with("phish\t") && lines[1].starts_with("ham\t"),
        "{pred}"
    );
    assert!(lines[0].contains("spam="), "{pred}");
    // learning curves
    let plots = dir.join("plots");
    ok(&recur(&["plot", s(&run), "--out", s(&plots)]));
    let png = std::fs::read(plots.join("curves.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n"), "not a PNG");
    let svg = std::fs::read_to_string(plots.join("curves.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("validation"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    fails_with(&recur(&["plot", s(&dir)]), "not a run folder");
}

#[test]
fn jsonl_with_a_validation_file_and_unseen_labels() {
    let dir = tmp("jsonl");
    let (tr, va, te) = (
        dir.join("train.jsonl"),
        dir.join("valid.jsonl"),
        dir.join("test.jsonl"),
    );
    write_jsonl(&tr, 300, 0);
    write_jsonl(&va, 45, 1);
    write_jsonl(&te, 45, 2);
    let run = dir.join("run");
    let out = train(&[
        "--train",
        s(&tr),
        "--valid",
        s(&va),
        "--test",
        s(&te),
        "--label-col",
        "category",
        "--out",
        s(&run),
    ]);
    assert!(
        out.contains("valid loss") && out.contains("test acc"),
        "{out}"
    );
    let v = eval_json(&["--run", s(&run), "--test", s(&te)]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");
    // a label the training set never had names file, line and label; or is skipped
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"category\": \"spam\", \"text\": \"win a prize\"}\n{\"category\": \"eggs\", \"text\": \
            \"free offer\"}\n",
    )
    .unwrap();
    fails_with(
        &recur(&["eval", "--run", s(&run), "--test", s(&bad)]),
        "bad.jsonl:2: label \"eggs\" is not one of the classes (ham, phish, spam)",
    );
    let v = eval_json(&["--run", s(&run), "--test", s(&bad), "--skip-bad-rows"]);
    assert_eq!(v["examples"], 1);
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--valid",
            s(&bad),
            "--label-col",
            "category",
            "--out",
            s(&dir.join("r2")),
        ]),
        "bad.jsonl:2",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--valid",
            s(&va),
            "--valid-fraction",
            "0.1",
            "--out",
            s(&dir.join("r3")),
        ]),
        "cannot be used with",
    );
}

#[test]
fn fasttext_and_char_tokenizer() {
    let dir = tmp("ft");
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    write_fasttext(&tr, 240, 0);
    write_fasttext(&te, 30, 1);
    let run = dir.join("run");
    train(&["--train", s(&tr), "--tokenizer", "char", "--out", s(&run)]);
    let c = config(&run);
    assert_eq!(c["data"]["format"], "fasttext");
    assert_eq!(c["text"]["tokenizer"], "char");
    let vocab = std::fs::read_to_string(run.join("vocab.txt")).unwrap();
    assert!(
        vocab
            .lines()
            .all(|l| l.chars().count() == 1 || l.starts_with('<')),
        "{vocab}"
    );
    let v = eval_json(&["--run", s(&run), "--test", s(&te)]);
    assert!(v["examples"] == 30, "{v}");
    fails_with(
        &recur(&[
            "eval",
            "--run",
            s(&run),
            "--test",
            s(&te),
            "--tokenizer",
            "whitespace",
        ]),
        "trained with the char tokenizer",
    );
    ok(&recur(&["predict", "--run", s(&run), "win a free prize"]));
    // whitespace tokenizer keeps case
    let run2 = dir.join("run2");
    train(&[
        "--train",
        s(&tr),
        "--tokenizer",
        "whitespace",
        "--out",
        s(&run2),
    ]);
    assert_eq!(config(&run2)["text"]["tokenizer"], "whitespace");
}

#[test]
fn integer_labels_named_by_class_names() {
    let dir = tmp("ints");
    let tr = dir.join("train.csv");
    let te = dir.join("test.csv");
    let write = |p: &Path, n: usize, salt: usize| {
        let mut out = String::from("label,text\n");
        for (l, t, b) in rows(n, salt) {
            let c = match l {
                "spam" => 0,
                "ham" => 1,
                _ => 2,
            };
            out.push_str(&format!("{c},\"{t}, {b}\"\n"));
        }
        std::fs::write(p, out).unwrap();
    };
    write(&tr, 300, 0);
    write(&te, 30, 1);
    let run = dir.join("run");
    train(&[
        "--train",
        s(&tr),
        "--header",
        "--class-names",
        "spam,ham,phish",
        "--out",
        s(&run),
    ]);
    let c = config(&run);
    assert_eq!(
        c["classes"]["names"],
        serde_json::json!(["spam", "ham", "phish"])
    );
    assert_eq!(
        c["classes"]["labels"],
        serde_json::json!({"kind": "integer", "base": 0})
    );
    let pred = ok(&recur(&[
        "predict",
        "--run",
        s(&run),
        "--json",
        "win a free prize",
    ]));
    let p: serde_json::Value = serde_json::from_str(pred.trim()).unwrap();
    assert_eq!(p["class"], "spam", "{pred}");
    let v = eval_json(&["--run", s(&run), "--test", s(&te)]);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");
    // without names, integer classes are named by their numbers
    let run2 = dir.join("run2");
    train(&["--train", s(&tr), "--header", "--out", s(&run2)]);
    assert_eq!(
        config(&run2)["classes"]["names"],
        serde_json::json!(["0", "1", "2"])
    );
    // a test label outside the classes names file and line
    std::fs::write(dir.join("bad.csv"), "label,text\n1,ok\n7,nope\n").unwrap();
    fails_with(
        &recur(&["eval", "--run", s(&run), "--test", s(&dir.join("bad.csv"))]),
        "bad.csv:3: class 7 is outside 0..=2",
    );
}

#[test]
fn preset_strong_fills_the_flags_not_given() {
    let dir = tmp("preset");
    let tr = dir.join("train.tsv");
    write_tsv(&tr, 120, 0);
    let run = dir.join("run");
    let out = recur(&[
        "train",
        "--preset",
        "strong",
        "--train",
        s(&tr),
        "--label-col",
        "kind",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--out",
        s(&run),
    ]);
    ok(&out);
    let c = config(&run);
    let t = &c["training"];
    // given on the command line: kept
    let m = &c["model"];
    assert_eq!(
        (t["train"]["epochs"].as_u64(), m["hidden_dim"].as_u64()),
        (Some(1), Some(8))
    );
    // not given: the preset's
    assert_eq!(m["cell"], "gru");
    assert_eq!(m["pooling"], "mean");
    assert_eq!(m["bidirectional"], true);
    assert_eq!(t["train"]["schedule"]["kind"], "cosine");
    assert_eq!(t["files"]["valid_fraction"], 0.1);
    assert_eq!(t["train"]["clip_grad_norm"], 1.0);
    assert_eq!(m["ngram_buckets"], 262144);
    // the TF-IDF bag's IDF fitted on the training texts, its share chosen on validation
    let st = std::fs::read(run.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&st).unwrap();
    let f32s = |name: &str| -> Vec<f32> {
        st.tensor(name)
            .unwrap()
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let idf = f32s("bag.idf");
    assert!(
        idf.iter().any(|&x| x > 1.5),
        "an IDF above 1 for a rare word"
    );
    assert_eq!(idf.last(), Some(&0.0), "the padding row");
    // with the words' character n-grams: their IDF fitted too (the last 2¹⁸ rows before
    // the padding row)
    assert_eq!(m["char_buckets"], 262144);
    let vocab = m["vocab_size"].as_u64().unwrap() as usize;
    assert_eq!(idf.len(), vocab + 2 * 262144 + 1);
    assert!(
        idf[vocab + 262144..idf.len() - 1].iter().any(|&x| x > 1.5),
        "a rare n-gram's IDF"
    );
    let mix = f32s("bag.mix");
    assert!(
        (0..=10).any(|i| (mix[0] - i as f32 / 10.0).abs() < 1e-6),
        "a share from the grid: {mix:?}"
    );
    // sized for 108 training rows (the recipe's values are for about 10,000): small
    // batches at a lower rate, every word kept, more skip-gram passes; recorded as used
    assert_eq!(t["batching"]["batch_size"], 16);
    assert_eq!(t["vocab"]["min_freq"], 1);
    // 108 rows validate on 12: accuracy keeps the epoch (the loss from 800 training rows)
    assert_eq!(t["batching"]["metric"], "accuracy");
    assert_eq!(
        t["embeddings"],
        serde_json::json!({"from": "skip_gram", "epochs": 40})
    );
    assert!(t.get("size_rule").is_none(), "{t}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skip-gram vectors of the training texts"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the recipe for 108 training rows (")
            && stderr.contains("tokens): batches of 16"),
        "{stderr}"
    );
    // the same seed gives the same model, skip-gram included
    let again = dir.join("again");
    let mut args: Vec<&str> = vec!["train", "--preset", "strong", "--train", s(&tr)];
    args.extend(["--label-col", "kind", "--epochs", "1", "--hidden", "8"]);
    args.extend(["--out", s(&again)]);
    ok(&recur(&args));
    assert_eq!(
        std::fs::read(run.join("model.safetensors")).unwrap(),
        std::fs::read(again.join("model.safetensors")).unwrap()
    );
}

#[test]
fn bad_flags_fail_clearly() {
    let dir = tmp("flags");
    let tr = dir.join("train.tsv");
    write_tsv(&tr, 30, 0);
    let out = dir.join("run");
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--label-col",
            "nope",
            "--out",
            s(&out),
        ]),
        "\"nope\" is not in the header (its columns: id, subject, body, kind)",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--format",
            "xml",
            "--out",
            s(&out),
        ]),
        "unknown format",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--tokenizer",
            "bpe",
            "--out",
            s(&out),
        ]),
        "unknown tokenizer",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--label-col",
            "0",
            "--out",
            s(&out),
        ]),
        "numbered from 1",
    );
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&tr),
            "--label-col",
            "kind",
            "--valid-fraction",
            "1.5",
            "--out",
            s(&out),
        ]),
        "between 0 and 1",
    );
    // model and embedding flags are refused before any data is read
    let vec_file = dir.join("v.vec");
    std::fs::write(&vec_file, "1 64\nthe 0.1\n").unwrap();
    for (flags, needle) in [
        (
            vec!["--dropout", "1.5"],
            "--dropout must be a probability in [0, 1)",
        ),
        (
            vec!["--fc-dropout=-0.1"],
            "--fc-dropout must be a probability",
        ),
        (vec!["--hidden", "0"], "must be at least 1"),
        (vec!["--freeze-embeddings"], "--freeze-embeddings needs"),
        (
            vec!["--pretrain-embeddings", "--embeddings", s(&vec_file)],
            "cannot be used with",
        ),
        (
            vec!["--pretrain-embeddings", "--pretrain-epochs", "0"],
            "--pretrain-epochs must be at least 1",
        ),
        (
            vec!["--pretrain-epochs", "5"],
            "give --pretrain-embeddings (or --preset strong) with it",
        ),
        (
            vec!["--adversarial=-1"],
            "--adversarial must be a norm of 0 or more",
        ),
        (
            vec!["--preset", "strong", "--members", "0"],
            "--members must be 1 to 16 recurrent members, found 0",
        ),
        (vec!["--members", "17"], "--members must be 1 to 16"),
        (
            vec!["--members", "2", "--member-folds"],
            "--member-folds draws each member's validation fold from the training file",
        ),
    ] {
        let mut args = vec![
            "train",
            "--train",
            "/nonexistent/file.tsv",
            "--out",
            s(&out),
        ];
        args.extend(flags);
        let o = recur(&args);
        fails_with(&o, needle);
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("nonexistent"),
            "read the data before checking the flags"
        );
    }
}
