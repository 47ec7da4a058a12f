//! A file's rows as read, before labels become classes: [`RawExample`], [`RawDataset`],
//! [`TextRow`] (a row read for its text alone), and what every format's reader hands its
//! rows to ([`Rows`]: checks label and text, fails on or records a bad row, and either
//! collects the rows or streams them on).

use std::path::{Path, PathBuf};

use crate::{DataError, Format, Result, Tokenizer};

/// The longest text a row may hold (8 MiB); a longer one is a malformed row. Tokens past
/// `--max-tokens` are cut later; this bounds what is read at all.
pub const MAX_TEXT_BYTES: usize = 8 << 20;

/// A row as read, before its label is mapped to a class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExample {
    /// The label as written (trimmed; fastText: without `__label__`).
    pub label: String,
    /// The text columns joined with one space.
    pub text: String,
    /// 1-based line where the row starts.
    pub line: u64,
}

/// The rows of one file, labels still as written.
#[derive(Debug)]
pub struct RawDataset {
    /// Where they came from.
    pub path: PathBuf,
    /// The format they were read as.
    pub format: Format,
    /// The good rows, in file order.
    pub examples: Vec<RawExample>,
    /// The bad rows that were skipped (only with `skip_bad_rows`), in file order.
    pub skipped: Vec<DataError>,
}

/// A row read for its text alone (to be classified): a label in it, if the file has one, is
/// not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextRow {
    /// 1-based line where the row starts.
    pub line: u64,
    /// The text columns joined with one space.
    pub text: String,
    /// The row's id column, when one was asked for.
    pub id: Option<String>,
}

/// What a reader found in one row.
pub(crate) struct Fields {
    /// The label as written (`None`: the row has none, allowed when reading texts).
    pub label: Option<String>,
    /// The text columns joined with one space.
    pub text: String,
    /// The id column, when one was asked for.
    pub id: Option<String>,
}

impl Fields {
    /// A labelled row.
    pub(crate) fn labelled(label: String, text: String) -> Fields {
        Fields {
            label: Some(label),
            text,
            id: None,
        }
    }
}

/// Skipped rows kept whole when streaming (the rest are counted).
const KEPT_SKIPPED: usize = 20;

/// Where good rows go.
enum Sink<'a> {
    /// Kept, with their labels.
    Collect(Vec<RawExample>),
    /// Handed on as they are read; labels dropped.
    Stream(&'a mut dyn FnMut(TextRow) -> Result<()>),
}

/// Takes a reader's rows: checks that label (when required) and text are not empty, and
/// either fails on the first bad row or records it as skipped.
pub(crate) struct Rows<'a> {
    path: &'a Path,
    tokenizer: Tokenizer,
    skip_bad_rows: bool,
    sink: Sink<'a>,
    skipped: Vec<DataError>,
    skipped_count: u64,
    /// Good rows to collect at most (the rest of the file is not read).
    max_rows: Option<usize>,
    /// The column (or field) asked for as each row's id.
    pub(crate) id_col: Option<&'a crate::Column>,
}

impl<'a> Rows<'a> {
    /// Collects labelled rows.
    pub(crate) fn new(path: &'a Path, tokenizer: Tokenizer, skip_bad_rows: bool) -> Self {
        Rows {
            path,
            tokenizer,
            skip_bad_rows,
            sink: Sink::Collect(Vec::new()),
            skipped: Vec::new(),
            skipped_count: 0,
            max_rows: None,
            id_col: None,
        }
    }

    /// Collects at most `max_rows` good rows (`None`: all).
    pub(crate) fn with_max_rows(mut self, max_rows: Option<usize>) -> Self {
        self.max_rows = max_rows;
        self
    }

    /// True when the good rows asked for are collected: the reader stops.
    pub(crate) fn full(&self) -> bool {
        match (&self.sink, self.max_rows) {
            (Sink::Collect(examples), Some(max)) => examples.len() >= max,
            _ => false,
        }
    }

    /// Streams rows' texts (and ids from `id_col`) to `emit`; labels are not required.
    pub(crate) fn streaming(
        path: &'a Path,
        tokenizer: Tokenizer,
        skip_bad_rows: bool,
        id_col: Option<&'a crate::Column>,
        emit: &'a mut dyn FnMut(TextRow) -> Result<()>,
    ) -> Self {
        Rows {
            path,
            tokenizer,
            skip_bad_rows,
            sink: Sink::Stream(emit),
            skipped: Vec::new(),
            skipped_count: 0,
            max_rows: None,
            id_col,
        }
    }

    /// True when every row must have a label.
    pub(crate) fn labelled(&self) -> bool {
        matches!(self.sink, Sink::Collect(_))
    }

    /// An error at `line` of this file.
    pub(crate) fn error(&self, line: u64, detail: impl Into<String>) -> DataError {
        DataError::Row {
            path: self.path.into(),
            line,
            detail: detail.into(),
        }
    }

    /// Adds the row at `line` (or the reason it is malformed).
    pub(crate) fn push(
        &mut self,
        line: u64,
        row: std::result::Result<Fields, String>,
    ) -> Result<()> {
        let labelled = self.labelled();
        let checked = row.and_then(|f| {
            let text = &f.text;
            if labelled && f.label.as_deref().is_none_or(str::is_empty) {
                Err("empty label".to_string())
            } else if text.len() > MAX_TEXT_BYTES {
                Err(format!(
                    "the text is {} bytes, over the limit of {MAX_TEXT_BYTES} bytes for one row",
                    text.len()
                ))
            } else if self.tokenizer.is_empty_text(text) {
                Err(format!(
                    "empty text: no token after tokenization ({})",
                    self.tokenizer
                ))
            } else {
                Ok(f)
            }
        });
        if self.full() {
            return Ok(());
        }
        match (checked, &mut self.sink) {
            (Ok(f), Sink::Collect(examples)) => examples.push(RawExample {
                label: f.label.unwrap_or_default(),
                text: f.text,
                line,
            }),
            (Ok(f), Sink::Stream(emit)) => emit(TextRow {
                line,
                text: f.text,
                id: f.id,
            })?,
            (Err(detail), _) => self.bad(self.error(line, detail))?,
        }
        Ok(())
    }

    /// Records a malformed row: an error, or a skip with `skip_bad_rows` (when streaming,
    /// the first few are kept and the rest counted).
    pub(crate) fn bad(&mut self, err: DataError) -> Result<()> {
        if !self.skip_bad_rows {
            return Err(err);
        }
        self.skipped_count += 1;
        if self.labelled() || self.skipped.len() < KEPT_SKIPPED {
            self.skipped.push(err);
        }
        Ok(())
    }

    /// The collected rows.
    pub(crate) fn finish(self, format: Format) -> RawDataset {
        let examples = match self.sink {
            Sink::Collect(examples) => examples,
            Sink::Stream(_) => Vec::new(),
        };
        RawDataset {
            path: self.path.into(),
            format,
            examples,
            skipped: self.skipped,
        }
    }

    /// What a stream skipped: how many rows, and the first few.
    pub(crate) fn skipped(self) -> (u64, Vec<DataError>) {
        (self.skipped_count, self.skipped)
    }
}
