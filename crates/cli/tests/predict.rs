//! `recur predict` over files: every input format (the run's CSV, a CSV with a header and an
//! id column, TSV, JSONL, fastText lines, plain lines, stdin) gives one output row per input
//! row in order, in every output format, with probabilities equal to `recur eval`'s (its
//! loss is the mean cross-entropy of predict's probabilities) and to predicting each text
//! alone; bad rows stop the run naming their line, or are skipped and counted; an output
//! file is complete or absent.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use recur_testkit::{fails_with, succeeded, TOPIC_WORDS as WORDS};
use serde_json::Value;

const NAMES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("predict", tag)
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

/// `(label 0-based, title, description)` rows of a learnable 4-class set, of many lengths.
fn rows(n: usize, salt: usize) -> Vec<(usize, String, String)> {
    (0..n)
        .map(|r| {
            let c = (r + salt) % 4;
            let w = WORDS[c];
            let body: Vec<&str> = (0..(r * 7 + salt) % 23 + 1)
                .map(|k| w[(r + k) % 5])
                .collect();
            (
                c,
                format!("{} {}", w[r % 5], w[(r + 1) % 5]),
                body.join(" "),
            )
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write_ag(path: &Path, rows: &[(usize, String, String)]) {
    let text: String = rows
        .iter()
        .map(|(c, t, d)| format!("{},{},{}\n", c + 1, csv_field(t), csv_field(d)))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// A packed and a padded run trained on the same data.
fn runs(dir: &Path) -> (PathBuf, PathBuf) {
    write_ag(&dir.join("train.csv"), &rows(400, 0));
    write_ag(&dir.join("test.csv"), &rows(120, 1));
    let train = |model: &str| {
        let run = dir.join(model);
        succeeded(&recur(&[
            "train",
            "--model",
            model,
            "--data",
            s(dir),
            "--epochs",
            "2",
            "--lr",
            "0.01",
            "--seed",
            "2",
            "--out",
            s(&run),
        ]));
        run
    };
    (train("lstm-packed"), train("gru"))
}

/// Every class probability of each JSON line, in class order.
fn probabilities(jsonl: &str) -> Vec<Vec<f64>> {
    jsonl
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            NAMES
                .iter()
                .map(|n| v["probabilities"][n].as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn eval_loss(run: &Path, test: &Path, batch: &str) -> f64 {
    let out = succeeded(&recur(&[
        "eval",
        "--run",
        s(run),
        "--test",
        s(test),
        "--batch-size",
        batch,
        "--json",
    ]));
    serde_json::from_str::<Value>(&out).unwrap()["loss"]
        .as_f64()
        .unwrap()
}

#[test]
fn predictions_over_a_file_equal_eval_and_each_text_alone_in_input_order() {
    let dir = tmp("file");
    let (packed, padded) = runs(&dir);
    let test = dir.join("test.csv");
    let data = rows(120, 1);
    for (run, eval_batch) in [(&packed, "64"), (&padded, "1")] {
        let out = dir.join("out.jsonl");
        succeeded(&recur(&[
            "predict",
            "--run",
            s(run),
            "--input",
            s(&test),
            "--output",
            s(&out),
            "--batch-size",
            "7",
        ]));
        let text = std::fs::read_to_string(&out).unwrap();
        let p = probabilities(&text);
        assert_eq!(p.len(), data.len());
        // input order: line numbers 1, 2, 3, …
        for (i, l) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["line"].as_u64(), Some(i as u64 + 1));
        }
        // eval's loss is the mean cross-entropy of predict's probabilities (a padded model
        // alone: eval in batches of 1)
        let ce = data
            .iter()
            .zip(&p)
            .map(|((c, _, _), p)| -p[*c].ln())
            .sum::<f64>()
            / data.len() as f64;
        let loss = eval_loss(run, &test, eval_batch);
        assert!(
            (ce - loss).abs() < 1e-5 * loss.max(1.0),
            "{run:?}: {ce} vs {loss}"
        );
        // each text alone (as arguments) gives the same numbers
        let texts: Vec<String> = data[..9]
            .iter()
            .map(|(_, t, d)| format!("{t} {d}"))
            .collect();
        let mut args = vec!["predict", "--run", s(run), "--json"];
        args.extend(texts.iter().map(String::as_str));
        let alone = probabilities(&succeeded(&recur(&args)));
        for (a, b) in alone.iter().zip(&p) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6, "{x} vs {y}");
            }
        }
    }
}

#[test]
fn every_input_and_output_format_reads_and_writes_the_same_predictions() {
    let dir = tmp("formats");
    let (run, _) = runs(&dir);
    let data = rows(50, 3);
    let texts: Vec<String> = data.iter().map(|(_, t, d)| format!("{t} {d}")).collect();
    let reference = {
        let ag = dir.join("ag.csv");
        write_ag(&ag, &data);
        let out = succeeded(&recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&ag),
            "--json",
        ]));
        probabilities(&out)
    };
    let check = |what: &str, out: &str| {
        let p = probabilities(out);
        assert_eq!(p.len(), reference.len(), "{what}");
        for (a, b) in p.iter().zip(&reference) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6, "{what}: {x} vs {y}");
            }
        }
    };
    // a CSV with a header, an id column and named text columns
    let with_header = dir.join("named.csv");
    let mut text = String::from("id,title,body\n");
    for (i, (_, t, d)) in data.iter().enumerate() {
        text.push_str(&format!("doc-{i},{},{}\n", csv_field(t), csv_field(d)));
    }
    std::fs::write(&with_header, text).unwrap();
    let out = succeeded(&recur(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&with_header),
        "--text-cols",
        "title,body",
        "--id-col",
        "id",
        "--json",
    ]));
    check("csv with a header", &out);
    for (i, l) in out.lines().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["id"], format!("doc-{i}"));
    }
    // TSV without a label column
    let tsv = dir.join("texts.tsv");
    let tsv_text: String = data.iter().map(|(_, t, d)| format!("{t}\t{d}\n")).collect();
    std::fs::write(&tsv, tsv_text).unwrap();
    check(
        "tsv",
        &succeeded(&recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&tsv),
            "--text-cols",
            "1,2",
            "--json",
        ])),
    );
    // JSONL with an id field, fastText lines (labels ignored), plain lines, stdin
    let jsonl = dir.join("texts.jsonl");
    let j: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}\n", serde_json::json!({"text": t, "key": i})))
        .collect();
    std::fs::write(&jsonl, j).unwrap();
    let out = succeeded(&recur(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&jsonl),
        "--id-col",
        "key",
        "--json",
    ]));
    check("jsonl", &out);
    let ft = dir.join("texts.ft");
    let f: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!("__label__{} {t}\n", i % 3))
        .collect();
    std::fs::write(&ft, f).unwrap();
    check(
        "fasttext",
        &succeeded(&recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&ft),
            "--format",
            "fasttext",
            "--json",
        ])),
    );
    let lines = dir.join("texts.txt");
    std::fs::write(&lines, texts.join("\n") + "\n").unwrap();
    check(
        "lines",
        &succeeded(&recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&lines),
            "--json",
        ])),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["predict", "--run", s(&run), "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all((texts.join("\n") + "\n").as_bytes())
        .unwrap();
    check("stdin", &succeeded(&child.wait_with_output().unwrap()));
    // CSV and TSV output: a header, then one row per text; top-k
    let out_csv = dir.join("p.csv");
    succeeded(&recur(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&with_header),
        "--text-cols",
        "title,body",
        "--id-col",
        "id",
        "--output",
        s(&out_csv),
    ]));
    let csv = std::fs::read_to_string(&out_csv).unwrap();
    let mut lines_out = csv.lines();
    assert_eq!(
        lines_out.next(),
        Some("line,id,class,World,Sports,Business,Sci/Tech")
    );
    for ((l, p), i) in lines_out.zip(&reference).zip(0..) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f[1], format!("doc-{i}"));
        let got: Vec<f64> = f[3..].iter().map(|x| x.parse().unwrap()).collect();
        for (x, y) in got.iter().zip(p) {
            assert!((x - y).abs() < 1e-6);
        }
    }
    let top = succeeded(&recur(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&lines),
        "--output-format",
        "tsv",
        "--top-k",
        "2",
    ]));
    let mut top_lines = top.lines();
    assert_eq!(
        top_lines.next(),
        Some("line\tclass\tclass_1\tprobability_1\tclass_2\tprobability_2")
    );
    for (l, p) in top_lines.zip(&reference) {
        let f: Vec<&str> = l.split('\t').collect();
        let best = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(f[1], NAMES[best]);
        assert_eq!(f[2], NAMES[best]);
    }
}

#[test]
fn bad_rows_stop_the_run_naming_their_line_or_are_skipped_and_counted() {
    let dir = tmp("bad");
    let (run, _) = runs(&dir);
    let input = dir.join("in.jsonl");
    std::fs::write(
        &input,
        "{\"text\": \"stocks and shares\"}\n{\"body\": \"no text field\"}\n{\"text\": \"goal\"}\n\
         not json\n{\"text\": \"\"}\n{\"text\": \"match season\"}\n",
    )
    .unwrap();
    let out = dir.join("out.csv");
    fails_with(
        &recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&input),
            "--output",
            s(&out),
        ]),
        "in.jsonl:2: missing text field",
    );
    assert!(!out.exists(), "a failed run left its output");
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(
        !names(&dir).iter().any(|n| n.contains(".tmp-")),
        "{:?}",
        names(&dir)
    );
    let done = recur(&[
        "predict",
        "--run",
        s(&run),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--skip-bad-rows",
    ]);
    succeeded(&done);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(stderr.contains("skipped 3 bad rows"), "{stderr}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(lines, ["1", "3", "6"]);
    // invalid UTF-8 and a missing column in a CSV
    let bad_csv = dir.join("bad.csv");
    std::fs::write(
        &bad_csv,
        b"1,\"fine\",\"text\"\n2,\"\xff\xfe\",\"x\"\n3,\"only two\"\n",
    )
    .unwrap();
    fails_with(
        &recur(&["predict", "--run", s(&run), "--input", s(&bad_csv)]),
        "bad.csv:2: field 2 is not valid UTF-8",
    );
    // an output that is a folder, a missing input, an id column for plain lines
    fails_with(
        &recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&input),
            "--output",
            s(&dir),
        ]),
        "is a folder",
    );
    fails_with(
        &recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&dir.join("none.csv")),
        ]),
        "none.csv",
    );
    let lines_in = dir.join("x.txt");
    std::fs::write(&lines_in, "a text\n").unwrap();
    fails_with(
        &recur(&[
            "predict",
            "--run",
            s(&run),
            "--input",
            s(&lines_in),
            "--id-col",
            "id",
        ]),
        "id column",
    );
}
