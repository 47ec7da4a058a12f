//! `recur predict`: class probabilities for texts given as arguments, a file (`--input`, in
//! training's formats or plain lines) or stdin, through the run's
//! [`recur_train::Predictor`] exactly as `eval` and `serve` read text. Files and stdin are
//! streamed: a reader thread parses rows while windows of them are encoded, sorted by
//! length, run as batches on every core and written in input order, so memory holds a few
//! windows whatever the input's size.

mod output;

use std::io::{BufRead, IsTerminal, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use recur_cpu::Cpu;
use recur_data::{
    read_texts_from, DataError, ReadSpec, TextLayout, TextOptions, TextRow, TextsRead,
};
use recur_train::{Predictor, RunDir};

use crate::args::{LayoutArg, OutputFormat, PredictArgs};
use crate::stop::Stop;
use output::{Output, Record};

/// Batches per window: a window is sorted by length before it is cut into batches.
const WINDOW_BATCHES: usize = 16;

/// How long a window waits for more rows before it runs with what it has (an interactive
/// stdin answers line by line).
const WINDOW_WAIT: Duration = Duration::from_millis(20);

/// Runs `recur predict`; the exit status (130 when stopped by Ctrl-C or SIGTERM).
pub fn predict(a: &PredictArgs, stop: &Stop) -> Result<i32> {
    let run = RunDir::new(&a.run).load_classifier(&Cpu)?;
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let format = if a.json {
        Some(OutputFormat::Jsonl)
    } else {
        a.output_format
    };
    let mut out = Output::open(
        a.output.as_deref(),
        format,
        run.class_names(),
        a.top_k,
        a.id_col.is_some(),
    )?;
    if !a.texts.is_empty() {
        let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
        for (text, p) in texts.iter().zip(run.predict(&texts)?) {
            out.write(&Record {
                line: None,
                id: None,
                text: Some(text),
                probabilities: p.as_ref().map(|p| p.probabilities.as_slice()),
            })?;
        }
        out.finish()?;
        return Ok(0);
    }
    let spec = ReadSpec {
        format: None,
        label_col: a.label_col.clone().or(run.config().data.label_col.clone()),
        text_cols: a
            .text_cols
            .clone()
            .map_or(run.config().data.text_cols.clone(), |c| c.0),
        header: a.header || run.config().data.header,
    };
    let layout_arg = a.format.and_then(|LayoutArg(l)| l);
    let (input, layout, name, size): (Box<dyn BufRead + Send>, _, _, _) = match &a.input {
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            let size = file.metadata().map(|m| m.len()).ok();
            let mut input = std::io::BufReader::with_capacity(1 << 16, file);
            let head = input
                .fill_buf()
                .with_context(|| format!("reading {}", path.display()))?;
            let base = ReadSpec {
                format: run.config().data.format,
                ..spec.clone()
            };
            let layout = layout_arg.unwrap_or_else(|| TextLayout::detect(path, head, &base));
            (Box::new(input), layout, path.clone(), size)
        }
        None => (
            Box::new(std::io::BufReader::new(std::io::stdin())),
            layout_arg.unwrap_or(TextLayout::Lines),
            "<stdin>".into(),
            None,
        ),
    };
    let from_file = a.input.is_some();
    let read = Arc::new(AtomicU64::new(0));
    let input = Counted {
        inner: input,
        read: read.clone(),
    };
    let window = a.batch_size * WINDOW_BATCHES;
    let (send, rows) = sync_channel::<TextRow>(window);
    let options = Reading {
        layout,
        spec,
        id_col: a.id_col.clone(),
        skip_bad_rows: a.skip_bad_rows,
    };
    let tokenizer = run.encoder().tokenizer;
    let reader_stop = stop.clone();
    let reader = std::thread::spawn(move || -> recur_data::Result<TextsRead> {
        let options = TextOptions {
            layout: Some(options.layout),
            spec: &options.spec,
            id_col: options.id_col.as_ref(),
            tokenizer,
            skip_bad_rows: options.skip_bad_rows,
        };
        let mut emit = |row: TextRow| -> recur_data::Result<()> {
            if reader_stop.requested() {
                return Err(DataError::Invalid("stopped".into()));
            }
            // the receiver gone: predictions stopped (an error, or a stop), so reading does
            let _ = send.send(row);
            Ok(())
        };
        read_texts_from(std::io::BufReader::new(input), &name, &options, &mut emit)
    });
    let bar = progress(size, from_file);
    let predicted = run_windows(
        &run, &rows, window, a, &mut out, &bar, &read, from_file, stop,
    );
    drop(rows);
    bar.finish_and_clear();
    let reading = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread failed"))?;
    let count = predicted?;
    if stop.requested() {
        eprintln!(
            "stopped after {count} texts{}",
            a.output.as_ref().map_or(String::new(), |p| format!(
                ": nothing written to {}",
                p.display()
            ))
        );
        return Ok(130);
    }
    let reading = reading?;
    out.finish()?;
    if reading.skipped > 0 {
        eprintln!(
            "skipped {} bad rows (first: {})",
            reading.skipped,
            reading
                .first_skipped
                .first()
                .map_or(String::new(), ToString::to_string)
        );
    }
    if from_file && std::io::stderr().is_terminal() {
        eprintln!("classified {count} texts");
    }
    Ok(0)
}

/// What the reader thread needs, owned.
struct Reading {
    layout: TextLayout,
    spec: ReadSpec,
    id_col: Option<recur_data::Column>,
    skip_bad_rows: bool,
}

/// A window of rows and their probabilities, on its way to the writer.
type Done = (Vec<TextRow>, Vec<Vec<f64>>);

/// Takes windows of rows from `rows`, classifies them, and hands them to a writer thread
/// that writes them in order while the next window runs; the number of texts classified.
#[allow(clippy::too_many_arguments)]
fn run_windows(
    run: &Predictor<Cpu>,
    rows: &Receiver<TextRow>,
    window: usize,
    a: &PredictArgs,
    out: &mut Output,
    bar: &ProgressBar,
    read: &AtomicU64,
    from_file: bool,
    stop: &Stop,
) -> Result<u64> {
    let (send, done) = sync_channel::<Done>(1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<()> {
            for (batch, probs) in done {
                for (r, p) in batch.iter().zip(&probs) {
                    out.write(&Record {
                        line: Some(r.line),
                        id: r.id.as_deref(),
                        text: (!from_file).then_some(r.text.as_str()),
                        probabilities: Some(p),
                    })?;
                }
                if !from_file {
                    out.flush()?;
                }
            }
            Ok(())
        });
        let classified = classify_windows(run, rows, window, a.batch_size, &send, bar, read, stop);
        drop(send);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread failed"))?;
        // a write error (a full disk) is the cause when both failed
        written?;
        classified
    })
}

/// The classifying side of [`run_windows`].
#[allow(clippy::too_many_arguments)]
fn classify_windows(
    run: &Predictor<Cpu>,
    rows: &Receiver<TextRow>,
    window: usize,
    batch_size: usize,
    send: &std::sync::mpsc::SyncSender<Done>,
    bar: &ProgressBar,
    read: &AtomicU64,
    stop: &Stop,
) -> Result<u64> {
    let mut count = 0u64;
    loop {
        let mut batch: Vec<TextRow> = Vec::with_capacity(window);
        match rows.recv() {
            Ok(r) => batch.push(r),
            Err(_) => return Ok(count),
        }
        while batch.len() < window {
            match rows.recv_timeout(WINDOW_WAIT) {
                Ok(r) => batch.push(r),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        // the reader lets through only texts with a token
        let ids: Vec<Vec<usize>> = batch
            .par_iter()
            .map(|r| run.encode(&r.text).unwrap_or_default())
            .collect();
        let probs = run.probabilities_batched(&ids, batch_size)?;
        count += batch.len() as u64;
        if send.send((batch, probs)).is_err() {
            // the writer stopped on an error, which it reports
            return Ok(count);
        }
        bar.set_position(read.load(Ordering::Relaxed));
        bar.set_message(format!("{count} texts"));
        if stop.requested() {
            return Ok(count);
        }
    }
}

/// A progress bar over the input's bytes on a terminal (a spinner for stdin); hidden when
/// stderr is not a terminal.
fn progress(size: Option<u64>, from_file: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() || !from_file {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size.unwrap_or(0));
    if let Ok(style) = ProgressStyle::with_template(
        "[{bar:30}] {bytes}/{total_bytes} {msg} ({bytes_per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A reader that counts the bytes read through it (for the progress bar).
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
