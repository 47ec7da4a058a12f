//! Faults through the `recur` binary: NaN and infinity at every stage (an option, a
//! diverging run, a checkpoint) are errors that name where, and never replace a good run;
//! Ctrl-C while the data loads saves nothing (exit 130); a 5 MB text row is truncated to
//! `--max-tokens` and memory stays bounded; options are checked before anything is read.

use recur_testkit::fails_with;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("faults", tag)
}

/// A learnable 2-class TSV of `rows` rows.
fn write_tsv(path: &Path, rows: usize) {
    let words = [["goal", "match", "coach"], ["stocks", "bank", "profit"]];
    let mut s = String::from("label\ttext\n");
    for r in 0..rows {
        let w = words[r % 2];
        s.push_str(&format!(
            "{}\t{} {} {}\n",
            r % 2,
            w[r % 3],
            w[(r + 1) % 3],
            w[(r + 2) % 3]
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Trains a small good run into `out`.
fn good_run(train: &Path, out: &Path) {
    let o = recur(&[
        "train",
        "--train",
        s(train),
        "--epochs",
        "2",
        "--out",
        s(out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn non_finite_values_are_errors_at_every_stage() {
    let dir = tmp("nan");
    let train = dir.join("train.tsv");
    write_tsv(&train, 200);
    let run = dir.join("run");
    good_run(&train, &run);
    let model = std::fs::read(run.join("model.safetensors")).unwrap();

    // options: refused before anything is read
    for lr in ["nan", "inf", "-1", "0"] {
        let flag = format!("--lr={lr}");
        fails_with(
            &recur(&[
                "train",
                "--train",
                "/nonexistent.tsv",
                &flag,
                "--out",
                s(&run),
            ]),
            "--lr must be positive and finite",
        );
    }
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&train),
            "--clip-grad-norm",
            "nan",
            "--out",
            s(&run),
        ]),
        "--clip-grad-norm must be positive and finite",
    );

    // a diverging run stops at the step where the loss stops being finite ...
    let o = recur(&[
        "train",
        "--train",
        s(&train),
        "--lr",
        "1e30",
        "--optimizer",
        "sgd",
    ]);
    let o2 = recur(&[
        "train",
        "--train",
        s(&train),
        "--lr",
        "1e30",
        "--optimizer",
        "sgd",
        "--out",
        s(&run),
    ]);
    for out in [&o, &o2] {
        fails_with(out, "epoch 1, step");
    }
    // ... and leaves the good run in --out as it was
    assert_eq!(std::fs::read(run.join("model.safetensors")).unwrap(), model);
    assert!(recur(&["predict", "--run", s(&run), "goal"])
        .status
        .success());

    // a checkpoint holding NaN is refused, naming the tensor
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for f in ["config.json", "vocab.txt"] {
        std::fs::copy(run.join(f), bad.join(f)).unwrap();
    }
    let st = safetensors::SafeTensors::deserialize(&model).unwrap();
    let mut views: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let fc = views.iter_mut().find(|(n, _, _)| n == "fc.bias").unwrap();
    fc.2[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let tensors: Vec<(String, safetensors::tensor::TensorView)> = views
        .iter()
        .map(|(n, shape, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b);
            (n.clone(), v.unwrap())
        })
        .collect();
    std::fs::write(
        bad.join("model.safetensors"),
        safetensors::serialize(tensors, &None).unwrap(),
    )
    .unwrap();
    for args in [
        vec!["predict", "--run", s(&bad), "goal"],
        vec!["eval", "--run", s(&bad), "--test", s(&train)],
    ] {
        fails_with(&recur(&args), "fc.bias holds a non-finite value");
    }
}

#[test]
fn ctrl_c_while_the_data_loads_saves_nothing() {
    let dir = tmp("sigint-load");
    let train = dir.join("big.tsv");
    // large enough that reading it takes far longer than the signal's delay
    write_tsv(&train, 1_500_000);
    let out = dir.join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["train", "--train", s(&train), "--out", s(&out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted while loading"), "{stderr}");
    assert!(!out.exists(), "an interrupted load wrote {}", out.display());
}

/// Peak resident memory of the waited-for children of this process, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss as u64 * 1024
    }
}

#[test]
fn a_five_megabyte_row_is_truncated_and_memory_stays_bounded() {
    let dir = tmp("long-row");
    let train = dir.join("train.tsv");
    write_tsv(&train, 200);
    let mut text = std::fs::read_to_string(&train).unwrap();
    let huge: String = (0..1_000_000).map(|i| ["goal ", "match "][i % 2]).collect();
    assert!(huge.len() > 5_000_000);
    text.push_str(&format!("0\t{huge}\n"));
    std::fs::write(&train, text).unwrap();
    let o = recur(&["train", "--train", s(&train), "--out", s(&dir.join("run"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 8.6 GB before --max-tokens; the run itself needs well under 1 GB
    let peak = children_peak_rss();
    assert!(peak < 1 << 30, "peak memory {} MB", peak >> 20);
    // a row over the hard size limit is an error naming its line
    let mut over = String::from("label\ttext\n0\tok fine\n1\t");
    over.push_str(&"x".repeat(9 << 20));
    over.push('\n');
    let big = dir.join("over.tsv");
    std::fs::write(&big, over).unwrap();
    fails_with(
        &recur(&["train", "--train", s(&big), "--out", s(&dir.join("run2"))]),
        "over.tsv:3",
    );
}

#[test]
fn limits_and_messages_say_what_happened() {
    let dir = tmp("messages");
    let train = dir.join("train.tsv");
    write_tsv(&train, 40);
    let out = dir.join("run");
    // --limit counts samples across epochs, and says when it ended the run
    fails_with(
        &recur(&[
            "train",
            "--train",
            s(&train),
            "--header",
            "--limit",
            "0",
            "--out",
            s(&out),
        ]),
        "--limit must be at least 1",
    );
    let o = recur(&[
        "train",
        "--train",
        s(&train),
        "--header",
        "--limit",
        "50",
        "--epochs",
        "3",
        "--batch-size",
        "5",
        "--out",
        s(&out),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("reached --limit after 50 samples"),
        "{stderr}"
    );
    // an OS error is printed once
    let e = recur(&["train", "--train", s(&dir), "--out", s(&dir.join("r2"))]);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    // an integer class outside AG News's range names the file, line and range
    let ag = dir.join("ag");
    std::fs::create_dir_all(&ag).unwrap();
    for f in ["train.csv", "test.csv"] {
        std::fs::write(ag.join(f), "\"-1\",\"a b\",\"c\"\n\"2\",\"x\",\"y\"\n").unwrap();
    }
    fails_with(
        &recur(&["train", "--data", s(&ag), "--out", s(&dir.join("r3"))]),
        "train.csv:1: class -1 is outside 1..=4",
    );
    // predict's invalid UTF-8 on stdin names the line
    let o = recur_testkit::run_with_stdin(
        env!("CARGO_BIN_EXE_recur"),
        &["predict", "--run", s(&out)],
        b"goal match\n\xff\xfe bad\n",
    );
    fails_with(&o, "<stdin>:2: not valid UTF-8");
}
