//! `--cell mingru` and `--cell minlstm` through the whole binary, as the other cells go:
//! a packed, bidirectional, two-layer classifier with dropout trains, evaluates, predicts
//! and serves the same answers; killed with SIGKILL after a checkpoint and resumed, it ends
//! byte-identical to the uninterrupted run; ONNX export is refused by the flag's name; a
//! language model of each cell trains and generates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use recur_testkit::{fails_with, succeeded, TOPIC_WORDS as WORDS};
use serde_json::Value;

const CELLS: [&str; 2] = ["mingru", "minlstm"];

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("scan-cells", tag)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn recur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

fn write_csv(path: &Path, rows: usize, salt: usize) {
    std::fs::write(path, recur_testkit::topic_csv(rows, salt)).unwrap();
}

fn train_args(dir: &Path, cell: &str, out: &Path) -> Vec<String> {
    [
        "train",
        "--train",
        s(&dir.join("train.csv")),
        "--valid-fraction",
        "0.1",
        "--cell",
        cell,
        "--packed",
        "true",
        "--bidirectional",
        "--layers",
        "2",
        "--dropout",
        "0.2",
        "--embed-dropout",
        "0.1",
        "--pooling",
        "mean",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--lr",
        "0.01",
        "--save-every",
        "5",
        "--seed",
        "3",
        "--out",
        s(out),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// Runs `args` and kills it (SIGKILL) as soon as its first checkpoint is complete; false
/// when the run ended first.
fn kill_after_checkpoint(args: &[String], out: &Path) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !out.join("checkpoint/state.json").is_file() && t0.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

#[test]
fn scan_cells_train_resume_predict_and_serve() {
    let dir = tmp("classify");
    write_csv(&dir.join("train.csv"), 800, 0);
    write_csv(&dir.join("test.csv"), 40, 1);
    for cell in CELLS {
        let run = dir.join(cell);
        succeeded(
            &Command::new(env!("CARGO_BIN_EXE_recur"))
                .args(train_args(&dir, cell, &run))
                .output()
                .unwrap(),
        );
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap())
                .unwrap();
        let want_cell = if cell == "mingru" {
            "min_gru"
        } else {
            "min_lstm"
        };
        assert_eq!(
            config["model"]["cell"], want_cell,
            "config.json records the cell"
        );
        let eval = succeeded(&recur(&[
            "eval",
            "--run",
            s(&run),
            "--test",
            s(&dir.join("test.csv")),
        ]));
        assert!(eval.contains("acc"), "{cell}: {eval}");

        // killed after a checkpoint, resumed: the same bytes as the uninterrupted run
        let resumed = dir.join(format!("{cell}-resumed"));
        assert!(
            kill_after_checkpoint(&train_args(&dir, cell, &resumed), &resumed),
            "{cell}: the run ended before it could be killed"
        );
        succeeded(&recur(&["train", "--resume", s(&resumed)]));
        assert!(
            std::fs::read(resumed.join("model.safetensors")).unwrap()
                == std::fs::read(run.join("model.safetensors")).unwrap(),
            "{cell}: the resumed model differs from the uninterrupted one"
        );

        // recur serve answers as recur predict does
        let text = "the stock market and bank shares";
        let out = succeeded(&recur(&["predict", "--run", s(&run), "--json", text]));
        let predicted: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        let server = recur_testkit::serve(env!("CARGO_BIN_EXE_recur"), &["--run", s(&run)]);
        let body = format!("{{\"inputs\": {text:?}, \"parameters\": {{\"top_k\": null}}}}");
        let answer = ureq::post(&format!("{}/predict", server.base)).send_string(&body);
        drop(server);
        let answer: Value = serde_json::from_str(&answer.unwrap().into_string().unwrap()).unwrap();
        for x in answer.as_array().unwrap() {
            let label = x["label"].as_str().unwrap();
            let want = predicted["probabilities"][label].as_f64().unwrap();
            assert!(
                (x["score"].as_f64().unwrap() - want).abs() < 1e-6,
                "{cell}: served {label} {} vs predicted {want}",
                x["score"]
            );
        }

        // ONNX has no operator for these cells: refused by the flag that chose them
        fails_with(
            &recur(&[
                "export",
                "--run",
                s(&run),
                "--onnx",
                s(&dir.join(format!("{cell}.onnx"))),
            ]),
            "--cell",
        );
    }
}

#[test]
fn scan_cell_language_models_train_and_generate() {
    let dir = tmp("lm");
    let corpus = dir.join("stories.txt");
    let mut text = String::new();
    for i in 0..300 {
        let c = i % 4;
        text.push_str(&format!(
            "the {} and the {} of {} .\n",
            WORDS[c][i % 5],
            WORDS[c][(i / 5) % 5],
            WORDS[(c + 1) % 4][i % 5]
        ));
    }
    std::fs::write(&corpus, text).unwrap();
    for cell in CELLS {
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
        let words = succeeded(&recur(&[
            "generate",
            "--run",
            s(&run),
            "--words",
            "20",
            "--seed",
            "1",
        ]));
        assert!(
            words.split_whitespace().count() >= 20,
            "{cell}: generated {words:?}"
        );
        let again = succeeded(&recur(&[
            "generate",
            "--run",
            s(&run),
            "--words",
            "20",
            "--seed",
            "1",
        ]));
        assert_eq!(
            words, again,
            "{cell}: the same seed generates the same text"
        );
    }
}
