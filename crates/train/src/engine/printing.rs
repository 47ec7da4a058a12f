//! Runs told as text: every [`Notice`] as the lines a person reads, and [`Printing`], the
//! observer that prints a run's notices, reports and epochs (for any task, through its
//! [`Records`] lines) — what `recur train` prints too.

use std::fmt;
use std::io::Write;

use crate::engine::observer::{Notice, Observer};
use crate::engine::records::{EpochRecord, Records, Report};

impl fmt::Display for Notice {
    /// One or more lines (no final newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Skipped { file, count, first } => write!(
                f,
                "skipped {count} bad rows of {} (first: {first})",
                file.display()
            ),
            Notice::Truncated {
                part,
                count,
                max_tokens,
            } => write!(
                f,
                "{count} {part} texts cut to their first {max_tokens} tokens"
            ),
            Notice::ClassifyData {
                train_file,
                rows,
                folds,
                vocab,
                order,
                classes,
                seconds,
            } => {
                let natural = if vocab.0 != vocab.1 {
                    format!(", {} natural", vocab.1)
                } else {
                    String::new()
                };
                let each = match folds {
                    0 => String::new(),
                    n => format!(" for each of {n} members, each its own validation fold"),
                };
                writeln!(
                    f,
                    "{} train rows ({}), {} validation rows{each}, {} test rows, vocab {} tokens \
                     ({}{natural}), {seconds:.2}s",
                    rows[0],
                    train_file.display(),
                    rows[1],
                    rows[2],
                    vocab.0,
                    order.name(),
                )?;
                let listed: Vec<String> = classes.iter().map(|(n, c)| format!("{n} {c}")).collect();
                write!(
                    f,
                    "{} classes (train rows): {}",
                    classes.len(),
                    listed.join(", ")
                )?;
                let empty: Vec<&str> = classes
                    .iter()
                    .filter(|(_, c)| *c == 0)
                    .map(|(n, _)| n.as_str())
                    .collect();
                if !empty.is_empty() {
                    write!(
                        f,
                        "\nwarning: no training example of class {} (integer labels are class \
                         numbers; class names can be given)",
                        empty.join(", ")
                    )?;
                }
                Ok(())
            }
            Notice::LmData {
                documents,
                tokens,
                streams,
                vocab,
                tokenizer,
                valid_tokens,
                seconds,
            } => write!(
                f,
                "{documents} documents, {tokens} training tokens in {} streams of {}, \
                 vocabulary {vocab} ({}), {}{seconds:.2}s",
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
            } => write!(
                f,
                "found {} of {} vocabulary words ({:.1}%; {} only lower-cased) among \
                 {file_words} vectors of {}, {seconds:.2}s",
                found.0,
                found.2,
                100.0 * found.0 as f64 / found.2.max(1) as f64,
                found.1,
                file.display()
            ),
            Notice::Sized {
                rows,
                tokens,
                batch_size,
                lr,
                epochs,
                min_freq,
                metric,
                skipgram_epochs,
                members,
            } => write!(
                f,
                "the recipe for {rows} training rows ({tokens} tokens): batches of {batch_size}, \
                 rate {lr:.4}, {epochs} epochs (the best by validation {}), minimum word count \
                 {min_freq}{}, {members} recurrent member{}",
                metric.name(),
                match skipgram_epochs {
                    0 => String::new(),
                    n => format!(", {n} skip-gram passes"),
                },
                if *members == 1 { "" } else { "s" }
            ),
            Notice::SkipGram {
                words,
                epochs,
                seconds,
            } => write!(
                f,
                "skip-gram vectors of the training texts: {words} words, {epochs} epochs, \
                 {seconds:.1}s"
            ),
            Notice::Encoder {
                run,
                recurrent,
                freeze_epochs,
            } => write!(
                f,
                "embedding and {recurrent} recurrent parameters from the language model in {}{}",
                run.display(),
                if *freeze_epochs > 0 {
                    format!(", fixed for the first {freeze_epochs} epochs")
                } else {
                    String::new()
                }
            ),
            Notice::Resuming { at } => write!(
                f,
                "resuming at epoch {}, batch {} (step {})",
                at.0 + 1,
                at.1,
                at.2
            ),
            Notice::AlreadyFinished(done) => {
                write!(f, "the run is complete ({done}); nothing to resume")
            }
        }
    }
}

/// An observer that prints a run as it goes: notices, progress reports and one line per
/// epoch (each task's [`Records::epoch_line`]), to standard error by default or to any
/// writer. Write errors are ignored: printing never stops a run.
pub struct Printing<W: Write = std::io::Stderr> {
    out: W,
    reports: bool,
}

impl Printing {
    /// Prints to standard error, progress reports included.
    pub fn new() -> Printing {
        Printing::to(std::io::stderr())
    }
}

impl Default for Printing {
    /// [`Printing::new`].
    fn default() -> Self {
        Printing::new()
    }
}

impl<W: Write> Printing<W> {
    /// Prints to `out`, progress reports included.
    pub fn to(out: W) -> Printing<W> {
        Printing { out, reports: true }
    }

    /// The same without the progress reports (notices and epoch lines only).
    pub fn epochs_only(self) -> Printing<W> {
        Printing {
            reports: false,
            ..self
        }
    }

    /// The writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<K: Records, W: Write> Observer<K> for Printing<W> {
    fn report(&mut self, report: &Report<K::Report>) {
        if self.reports {
            let _ = writeln!(self.out, "{}", K::report_line(report));
        }
    }

    fn epoch_done(&mut self, epoch: &EpochRecord<K::Epoch>) {
        let _ = writeln!(self.out, "{}", K::epoch_line(epoch));
    }

    fn notice(&mut self, notice: &Notice) {
        let _ = writeln!(self.out, "{notice}");
    }
}
