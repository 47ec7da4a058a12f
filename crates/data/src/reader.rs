//! Reading labelled files: [`read_labelled`] dispatches on the [`Format`] to the CSV/TSV,
//! JSONL and fastText readers, which all report a malformed row as an error naming file and
//! line (or skip and count it with `skip_bad_rows`). [`read_csv`] is the lesson's AG News
//! reader on top of it.

use std::path::{Path, PathBuf};

use crate::{Classes, DataError, Format, ReadSpec, Result, Tokenizer};

/// The longest text a row may hold (8 MiB); a longer one is a malformed row. Tokens past
/// `--max-tokens` are cut later; this bounds what is read at all.
pub const MAX_TEXT_BYTES: usize = 8 << 20;

/// One labelled text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// 0-based class.
    pub label: usize,
    /// The text columns joined with one space (AG News: `title + " " + description`), raw.
    pub text: String,
    /// 1-based line of the row in its file.
    pub line: u64,
}

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

/// The examples of one file, labels mapped to classes.
#[derive(Debug)]
pub struct Dataset {
    /// Where they came from.
    pub path: PathBuf,
    /// The good rows, in file order.
    pub examples: Vec<Example>,
    /// The bad rows that were skipped (only with `skip_bad_rows`), in file order.
    pub skipped: Vec<DataError>,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// True when there is no example.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Examples per class (`num_classes` entries; labels must be below it).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for e in &self.examples {
            counts[e.label] += 1;
        }
        counts
    }
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

/// Reads a labelled file as `spec` says (format detected when `spec.format` is `None`).
/// Every malformed row (field count, missing field, bad JSON, empty label, empty text after
/// `tokenizer`, invalid UTF-8, a file cut off mid-record) is an error naming file and line,
/// or is skipped and recorded with `skip_bad_rows`. Problems with the file as a whole (it
/// cannot be read, a named column is not in its header) are always errors.
pub fn read_labelled(
    path: &Path,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    skip_bad_rows: bool,
) -> Result<RawDataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let format = spec.format_for(path, &bytes[..bytes.len().min(4096)]);
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut rows = Rows::new(path, tokenizer, skip_bad_rows);
    match format {
        Format::Csv => crate::delimited::read(body, b',', spec, &mut rows)?,
        Format::Tsv => crate::delimited::read(body, b'\t', spec, &mut rows)?,
        Format::Jsonl => crate::jsonl::read(body, spec, &mut rows)?,
        Format::FastText => crate::fasttext::read(body, spec, &mut rows)?,
    }
    Ok(rows.finish(format))
}

/// How [`read_csv`] reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Classes are `1..=num_classes` in the file.
    pub num_classes: usize,
    /// Skip malformed rows (reported in [`Dataset::skipped`]) instead of failing.
    pub skip_bad_rows: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            num_classes: 4,
            skip_bad_rows: false,
        }
    }
}

/// Reads an AG News-shaped CSV (no header, integer class `1..=num_classes` in column 1,
/// every other column joined, e.g. `class,title,description`), tokenized with
/// `basic_english`: [`read_labelled`] with the default [`ReadSpec`], classes mapped by
/// [`Classes::integer`].
pub fn read_csv(path: &Path, options: ReadOptions) -> Result<Dataset> {
    let spec = ReadSpec {
        format: Some(Format::Csv),
        ..ReadSpec::default()
    };
    let raw = read_labelled(path, &spec, Tokenizer::BasicEnglish, options.skip_bad_rows)?;
    let names = (1..=options.num_classes).map(|c| c.to_string()).collect();
    Classes::integer(names, 1).assign(raw, options.skip_bad_rows)
}
