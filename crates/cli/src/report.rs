//! What `recur train` prints as a run goes: the lesson's progress lines and epoch lines for
//! a classifier, PyTorch's example's lines for a language model (with a progress bar on a
//! terminal), the library's notices, and the `--summary` JSON file.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use recur_train::{
    ClassifyEpoch, ClassifyRecords, ClassifyReport, EpochRecord, LmEpoch, LmRecords, LmReport,
    Notice, Observer, Report,
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

/// Prints a notice of the library on stderr.
pub fn print_notice(n: &Notice) {
    match n {
        Notice::Skipped { file, count, first } => {
            eprintln!(
                "skipped {count} bad rows of {} (first: {first})",
                file.display()
            )
        }
        Notice::Truncated {
            part,
            count,
            max_tokens,
        } => {
            eprintln!("{count} {part} texts cut to their first {max_tokens} tokens (--max-tokens)")
        }
        Notice::ClassifyData {
            train_file,
            rows,
            vocab,
            order,
            classes,
            seconds,
        } => {
            eprintln!(
                "{} train rows ({}), {} validation rows, {} test rows, vocab {} tokens ({}{}), \
                 {seconds:.2}s",
                rows[0],
                train_file.display(),
                rows[1],
                rows[2],
                vocab.0,
                order.name(),
                if vocab.0 != vocab.1 {
                    format!(", {} natural", vocab.1)
                } else {
                    String::new()
                },
            );
            let listed: Vec<String> = classes.iter().map(|(n, c)| format!("{n} {c}")).collect();
            eprintln!(
                "{} classes (train rows): {}",
                classes.len(),
                listed.join(", ")
            );
            let empty: Vec<&str> = classes
                .iter()
                .filter(|(_, c)| *c == 0)
                .map(|(n, _)| n.as_str())
                .collect();
            if !empty.is_empty() {
                eprintln!(
                    "warning: no training example of class {} (integer labels are class \
                     numbers; --class-names can name them)",
                    empty.join(", ")
                );
            }
        }
        Notice::LmData {
            documents,
            tokens,
            streams,
            vocab,
            tokenizer,
            valid_tokens,
            seconds,
        } => eprintln!(
            "{documents} documents, {tokens} training tokens in {} streams of {}, vocabulary \
             {vocab} ({}), {}{seconds:.2}s",
            streams.0,
            streams.1,
            tokenizer.name(),
            valid_tokens.map_or(String::new(), |v| format!("{v} validation tokens, ")),
        ),
        Notice::Vectors {
            file,
            found,
            file_words,
            seconds,
        } => eprintln!(
            "found {} of {} vocabulary words ({:.1}%; {} only lower-cased) among {file_words} \
             vectors of {}, {seconds:.2}s",
            found.0,
            found.2,
            100.0 * found.0 as f64 / found.2.max(1) as f64,
            found.1,
            file.display()
        ),
        Notice::SkipGram {
            words,
            epochs,
            seconds,
        } => eprintln!(
            "skip-gram vectors of the training texts: {words} words, {epochs} epochs, \
             {seconds:.1}s"
        ),
        Notice::Encoder {
            run,
            recurrent,
            freeze_epochs,
        } => eprintln!(
            "embedding and {recurrent} recurrent parameters from the language model in {}{}",
            run.display(),
            if *freeze_epochs > 0 {
                format!(", fixed for the first {freeze_epochs} epochs")
            } else {
                String::new()
            }
        ),
        Notice::Resuming { at } => eprintln!(
            "resuming at epoch {}, batch {} (step {})",
            at.0 + 1,
            at.1,
            at.2
        ),
        Notice::AlreadyFinished(f) => eprintln!("the run is complete ({f}); nothing to resume"),
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
        self.line(format!("{}: acc={}", r.samples, r.task.train_accuracy));
    }

    fn epoch_done(&mut self, e: &EpochRecord<ClassifyEpoch>) {
        self.bar.finish_and_clear();
        let t = &e.task;
        let valid = match (e.valid_loss, t.valid_accuracy, t.valid_macro_f1) {
            (Some(l), Some(a), Some(f)) => format!(
                "valid loss {l:.4} acc {a:.4} macro-F1 {f:.4}{}, ",
                if e.best { " (best)" } else { "" }
            ),
            _ => String::new(),
        };
        println!(
            "epoch {}: mean loss {:.4}, running train acc {:.4}, {valid}test acc {}, {:.0} \
                samples/s ({} samples in {:.1}s)",
            e.epoch,
            e.train_loss,
            t.train_accuracy,
            t.test_accuracy
                .map_or("-".to_string(), |t| format!("{t:.4}")),
            e.samples_per_s,
            e.samples,
            e.seconds
        );
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
        self.line(format!(
            "| epoch {} | {:>5}/{} windows | lr {:.4} | ms/window {:.1} | loss {:.3} | ppl {:.2}",
            r.epoch, r.batch, r.batches, r.lr, r.ms_per_batch, r.interval_loss, r.task.ppl
        ));
    }

    fn epoch_done(&mut self, e: &EpochRecord<LmEpoch>) {
        self.bar.finish_and_clear();
        let valid = match (e.valid_loss, e.task.valid_ppl) {
            (Some(l), Some(p)) => format!(", valid loss {l:.3} ppl {p:.2}"),
            _ => String::new(),
        };
        println!(
            "epoch {}: train loss {:.3} ppl {:.2}{valid}{}, lr {}",
            e.epoch,
            e.train_loss,
            e.task.train_ppl,
            if e.best { " (best)" } else { "" },
            e.lr
        );
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
