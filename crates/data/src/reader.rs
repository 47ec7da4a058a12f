//! Reading labelled files: [`read_labelled`] dispatches on the [`Format`] to the CSV/TSV,
//! JSONL and fastText readers, which all report a malformed row as an error naming file and
//! line (or skip and count it with `skip_bad_rows`); the lesson's AG News reader is on
//! top of it (`ag_news.rs`).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::rows::{RawDataset, Rows};
use crate::{DataError, Format, ReadSpec, Result, Tokenizer};

/// One labelled text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// 0-based class.
    pub label: usize,
    /// The text columns joined with one space (AG News: `title + " " + description`), raw.
    pub text: String,
    /// 1-based line of the row in its file; 0 for an example made in memory.
    pub line: u64,
}

impl Example {
    /// An example made in memory: 0-based class `label` and its raw `text`.
    pub fn new(label: usize, text: impl Into<String>) -> Example {
        Example {
            label,
            text: text.into(),
            line: 0,
        }
    }
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
    read_labelled_first(path, spec, tokenizer, skip_bad_rows, None)
}

/// [`read_labelled`] that stops after the first `max_rows` good rows (`None`: all); the
/// rest of the file is not read.
pub fn read_labelled_first(
    path: &Path,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    skip_bad_rows: bool,
    max_rows: Option<usize>,
) -> Result<RawDataset> {
    let (input, format) = open_text(path, |head| spec.format_for(path, head))?;
    let mut rows = Rows::new(path, tokenizer, skip_bad_rows).with_max_rows(max_rows);
    match format {
        Format::Csv => crate::delimited::read(input, b',', spec, &mut rows)?,
        Format::Tsv => crate::delimited::read(input, b'\t', spec, &mut rows)?,
        Format::Jsonl => crate::jsonl::read(input, spec, &mut rows)?,
        Format::FastText => crate::fasttext::read(input, spec, &mut rows)?,
    }
    Ok(rows.finish(format))
}

/// Opens `path` to be read as a stream, its UTF-8 byte-order mark skipped, and what `what`
/// makes of its first bytes (up to 4 KiB: the format).
pub(crate) fn open_text<T>(
    path: &Path,
    what: impl FnOnce(&[u8]) -> T,
) -> Result<(impl BufRead, T)> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut input = std::io::BufReader::with_capacity(1 << 16, file);
    let head = input.fill_buf().map_err(|e| DataError::io(path, e))?;
    let head = &head[..head.len().min(4096)];
    let bom = head.starts_with(b"\xef\xbb\xbf");
    let t = what(head);
    if bom {
        input.consume(3);
    }
    Ok((input, t))
}
