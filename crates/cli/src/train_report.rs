//! What `recur train` tells about a classifier run: the lesson's progress lines and epoch
//! lines (with a progress bar on a terminal), and the `--summary` JSON file.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use recur_train::{EpochSummary, Observer};
use serde_json::json;

use crate::train::{TrainArgs, TrainSummary};

/// Prints progress as the lesson did, with a progress bar on a terminal; Ctrl-C asks to stop.
pub(crate) struct Printer {
    /// The current epoch's bar (hidden when stderr is not a terminal).
    pub(crate) bar: ProgressBar,
}

impl Observer for Printer {
    fn epoch_started(&mut self, epoch: usize, samples: usize) {
        self.bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(samples as u64)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(format!("{}", epoch + 1));
    }

    fn batch_done(&mut self, samples: usize) {
        self.bar.inc(samples as u64);
    }

    fn report(&mut self, r: &serde_json::Value) {
        self.bar
            .suspend(|| println!("{}: acc={}", r["samples"], r["train_accuracy"]));
    }

    fn epoch_done(&mut self, e: &EpochSummary) {
        self.bar.finish_and_clear();
        let valid = e.valid.as_ref().map_or(String::new(), |v| {
            format!(
                "valid loss {:.4} acc {:.4} macro-F1 {:.4}{}, ",
                v.loss,
                v.scores.accuracy(),
                v.scores.macro_f1(),
                if e.best { " (best)" } else { "" }
            )
        });
        println!(
            "epoch {}: mean loss {:.4}, running train acc {:.4}, {valid}test acc {}, {:.0} \
                samples/s ({} samples in {:.1}s)",
            e.epoch,
            e.mean_loss,
            e.train_accuracy,
            e.test_accuracy
                .map_or("-".to_string(), |t| format!("{t:.4}")),
            e.samples as f64 / e.seconds.max(1e-9),
            e.samples,
            e.seconds
        );
    }

    fn stop_requested(&self) -> bool {
        crate::train::stop_flag().load(Ordering::SeqCst)
    }
}

/// Writes `--summary`: the run's figures and progress reports as JSON.
pub(crate) fn write_summary(
    path: &Path,
    a: &TrainArgs,
    s: &TrainSummary,
    vocab_size: usize,
    metrics: &[serde_json::Value],
) -> Result<()> {
    let reports: Vec<_> = metrics
        .iter()
        .filter(|m| m["kind"] == "report")
        .cloned()
        .collect();
    let j = json!({
        "model": a.model.name(), "seed": a.seed, "samples": s.samples,
            "train_seconds": s.train_seconds,
        "samples_per_s": s.samples as f64 / s.train_seconds.max(1e-9),
            "train_accuracy": s.train_accuracy,
        "valid_accuracy": s.valid_accuracy, "test_accuracy": s.test_accuracy,
            "vocab_size": vocab_size,
        "peak_rss_kb": peak_rss_kb(), "reports": reports,
    });
    std::fs::write(path, serde_json::to_string_pretty(&j)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
