//! What `recur train` prints as a run goes: the lesson's progress lines and epoch lines for
//! a classifier, PyTorch's example's lines for a language model (with a progress bar on a
//! terminal), the library's notices, and the `--summary` JSON file.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use recur_train::{
    ClassifyEpoch, ClassifyRecords, ClassifyReport, EpochRecord, LmEpoch, LmRecords, LmReport,
    Notice, Observer, Records, Report,
};

use crate::stop::Stop;

/// Prints a run's progress; `stop` asks it to stop.
pub struct Printer {
    bar: ProgressBar,
    stop: Stop,
}

impl Printer {
    /// A printer that stops when `stop` is set.
    pub fn new(stop: Stop) -> Printer {
        Printer {
            bar: ProgressBar::hidden(),
            stop,
        }
    }

    /// Clears the progress bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn start_bar(&mut self, epoch: usize, samples: usize) {
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

    fn line(&self, text: String) {
        self.bar.suspend(|| println!("{text}"));
    }
}

/// Prints a notice of the library on stderr, with the flag that changes it where there is
/// one.
pub fn print_notice(n: &Notice) {
    match n {
        Notice::Truncated { .. } => eprintln!("{n} (--max-tokens)"),
        _ => eprintln!("{n}"),
    }
}

impl Observer<ClassifyRecords> for Printer {
    fn epoch_started(&mut self, epoch: usize, samples: usize) {
        self.start_bar(epoch, samples);
    }

    fn batch_done(&mut self, samples: usize) {
        self.bar.inc(samples as u64);
    }

    fn report(&mut self, r: &Report<ClassifyReport>) {
        self.line(ClassifyRecords::report_line(r));
    }

    fn epoch_done(&mut self, e: &EpochRecord<ClassifyEpoch>) {
        self.bar.finish_and_clear();
        println!("{}", ClassifyRecords::epoch_line(e));
    }

    fn stop_requested(&self) -> bool {
        self.stop.requested()
    }

    fn notice(&mut self, n: &Notice) {
        self.bar.suspend(|| print_notice(n));
    }
}

impl Observer<LmRecords> for Printer {
    fn epoch_started(&mut self, epoch: usize, samples: usize) {
        self.start_bar(epoch, samples);
    }

    fn batch_done(&mut self, samples: usize) {
        self.bar.inc(samples as u64);
    }

    fn report(&mut self, r: &Report<LmReport>) {
        self.line(LmRecords::report_line(r));
    }

    fn epoch_done(&mut self, e: &EpochRecord<LmEpoch>) {
        self.bar.finish_and_clear();
        println!("{}", LmRecords::epoch_line(e));
    }

    fn stop_requested(&self) -> bool {
        self.stop.requested()
    }

    fn notice(&mut self, n: &Notice) {
        self.bar.suspend(|| print_notice(n));
    }
}

/// Writes `value` as pretty JSON to `path` (`--summary`), with the process's peak memory.
pub fn write_summary(path: &Path, mut value: serde_json::Value) -> Result<()> {
    value["peak_rss_kb"] = serde_json::json!(peak_rss_kb());
    std::fs::write(path, serde_json::to_string_pretty(&value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Peak resident memory of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
