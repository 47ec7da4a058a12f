//! Kill and resume: a training run killed with SIGKILL at seeded random moments, then
//! resumed with `recur train --resume` (and killed again, for some seeds), ends with a
//! `model.safetensors` byte-identical to the same run never interrupted; after every kill
//! the run folder's last complete checkpoint loads, and no temporary is left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn tmp(tag: &str) -> PathBuf {
    recur_testkit::fresh_dir("resume", tag)
}

fn write_csv(path: &Path, rows: usize, salt: usize) {
    std::fs::write(path, recur_testkit::topic_csv(rows, salt)).unwrap();
}

fn train_args<'a>(dir: &'a Path, out: &'a Path) -> Vec<String> {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    [
        "train",
        "--train",
        &s(&dir.join("train.csv")),
        "--valid-fraction",
        "0.1",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--lr",
        "0.01",
        "--optimizer",
        "adamw",
        "--lr-schedule",
        "cosine",
        "--warmup-steps",
        "15",
        "--clip-grad-norm",
        "1.0",
        "--embed-dropout",
        "0.1",
        "--fc-dropout",
        "0.2",
        "--bidirectional",
        "--pooling",
        "max",
        "--save-every",
        "9",
        "--report-every",
        "400",
        "--seed",
        "5",
        "--out",
        &s(out),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn recur(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "recur failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `args`, kills it with SIGKILL after `delay`; true when it was still running.
fn run_and_kill(args: &[String], delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    killed
}

/// A number in [0.05, 0.95) from `seed` (a fixed LCG: the kill moments are reproducible).
fn fraction(seed: u64) -> f64 {
    let x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    0.05 + 0.9 * ((x >> 11) as f64 / (1u64 << 53) as f64)
}

fn no_temporaries(out: &Path) {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    let left: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with(&format!(".{name}.tmp-")) || n.starts_with(&format!(".{name}.old-"))
        })
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn killed_and_resumed_runs_end_byte_identical() {
    let dir = tmp("kill");
    write_csv(&dir.join("train.csv"), 1200, 0);
    write_csv(&dir.join("test.csv"), 40, 1);
    let reference = dir.join("reference");
    let t0 = Instant::now();
    ok(&recur(&train_args(&dir, &reference)));
    let whole = t0.elapsed();
    let want = std::fs::read(reference.join("model.safetensors")).unwrap();
    let mut resumed = 0;
    for seed in 0..4u64 {
        let out = dir.join(format!("run{seed}"));
        let args = train_args(&dir, &out);
        let resume: Vec<String> = ["train", "--resume", out.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut kills = vec![whole.mul_f64(fraction(seed))];
        if seed % 2 == 1 {
            kills.push(whole.mul_f64(fraction(seed + 100) * 0.5));
        }
        let mut started = false;
        for delay in kills {
            let cmd = if started { &resume } else { &args };
            run_and_kill(cmd, delay);
            if out.join("checkpoint/state.json").is_file() {
                started = true;
                // the last complete checkpoint loads
                ok(&recur(&[
                    "eval".into(),
                    "--run".into(),
                    out.to_str().unwrap().into(),
                    "--test".into(),
                    dir.join("test.csv").to_str().unwrap().into(),
                ]));
            }
        }
        if started {
            resumed += 1;
            ok(&recur(&resume));
        } else {
            ok(&recur(&args));
        }
        let got = std::fs::read(out.join("model.safetensors")).unwrap();
        assert!(
            got == want,
            "seed {seed}: the resumed model differs from the uninterrupted one"
        );
        no_temporaries(&out);
    }
    assert!(
        resumed >= 2,
        "only {resumed} of 4 runs were killed after their first checkpoint"
    );
}

#[test]
fn resume_refuses_a_folder_without_checkpoint() {
    let dir = tmp("nockpt");
    let out = Command::new(env!("CARGO_BIN_EXE_recur"))
        .args(["train", "--resume", dir.join("nothing").to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no checkpoint to resume from"), "{stderr}");
}
