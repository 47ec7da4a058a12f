//! A file's rows as read, before labels become classes: [`RawExample`], [`RawDataset`],
//! and the collector every format's reader fills ([`Rows`]: checks label and text, fails on
//! or records a bad row).

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

/// Collects a reader's rows: checks that label and text are not empty, and either fails on
/// the first bad row or records it as skipped.
pub(crate) struct Rows<'a> {
    path: &'a Path,
    tokenizer: Tokenizer,
    skip_bad_rows: bool,
    examples: Vec<RawExample>,
    skipped: Vec<DataError>,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(path: &'a Path, tokenizer: Tokenizer, skip_bad_rows: bool) -> Self {
        Rows {
            path,
            tokenizer,
            skip_bad_rows,
            examples: Vec::new(),
            skipped: Vec::new(),
        }
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
        row: std::result::Result<(String, String), String>,
    ) -> Result<()> {
        let checked = row.and_then(|(label, text)| {
            if label.is_empty() {
                Err("empty label".to_string())
            } else if text.len() > MAX_TEXT_BYTES {
                Err(format!(
                    "the text is {} bytes, over the limit of {MAX_TEXT_BYTES} bytes for one row",
                    text.len()
                ))
            } else if self.tokenizer.is_empty_text(&text) {
                Err(format!(
                    "empty text: no token after tokenization ({})",
                    self.tokenizer
                ))
            } else {
                Ok((label, text))
            }
        });
        match checked {
            Ok((label, text)) => self.examples.push(RawExample { label, text, line }),
            Err(detail) => self.bad(self.error(line, detail))?,
        }
        Ok(())
    }

    /// Records a malformed row: an error, or a skip with `skip_bad_rows`.
    pub(crate) fn bad(&mut self, err: DataError) -> Result<()> {
        if self.skip_bad_rows {
            self.skipped.push(err);
            Ok(())
        } else {
            Err(err)
        }
    }

    pub(crate) fn finish(self, format: Format) -> RawDataset {
        RawDataset {
            path: self.path.into(),
            format,
            examples: self.examples,
            skipped: self.skipped,
        }
    }
}
