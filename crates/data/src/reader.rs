//! The CSV reader: `class,title,description` rows (AG News) or `class,text` rows, with
//! errors that name the file and line, and an opt-in mode that skips and counts bad rows.

use std::path::{Path, PathBuf};

use crate::tokenizer::is_py_space;
use crate::{basic_english, DataError, Result};

/// One labelled text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// 0-based class (`class − 1`).
    pub label: usize,
    /// `title + " " + description` (or the text column), raw.
    pub text: String,
    /// 1-based line of the row in its file.
    pub line: u64,
}

/// How to read a file.
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

/// The examples of one file.
#[derive(Debug)]
pub struct Dataset {
    /// Where they came from.
    pub path: PathBuf,
    /// The good rows, in file order.
    pub examples: Vec<Example>,
    /// The bad rows that were skipped (only with `skip_bad_rows`).
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

    /// Examples per class.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for e in &self.examples {
            counts[e.label] += 1;
        }
        counts
    }
}

/// True when `basic_english(text)` yields no token (checked cheaply when possible).
fn has_no_token(text: &str) -> bool {
    let removable = |c: char| {
        is_py_space(c) || matches!(c, '"' | ';' | ':' | '<' | 'b' | 'r' | '/' | '>' | 'B' | 'R')
    };
    text.chars().all(removable) && basic_english(text).is_empty()
}

/// Reads a CSV file of `class,title,description` or `class,text` rows (no header). Every
/// row must have the column count of the first. A malformed row (field count, class not an
/// integer in `1..=num_classes`, invalid UTF-8, empty text, a file cut off mid-row) is an
/// error naming file and line, or is skipped and recorded with `skip_bad_rows`.
pub fn read_csv(path: &Path, options: ReadOptions) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut examples = Vec::new();
    let mut skipped = Vec::new();
    let mut columns = None;
    let mut record = csv::ByteRecord::new();
    let mut last_start = 0u64;
    loop {
        let line = reader.position().line();
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let err = DataError::Row {
                    path: path.into(),
                    line,
                    detail: format!("unreadable CSV: {e}"),
                };
                if options.skip_bad_rows {
                    skipped.push(err);
                    continue;
                }
                return Err(err);
            }
        }
        last_start = start;
        let line = record.position().map_or(line, |p| p.line());
        match parse_row(&record, &mut columns, options) {
            Ok((label, text)) => examples.push(Example { label, text, line }),
            Err(detail) => {
                let err = DataError::Row {
                    path: path.into(),
                    line,
                    detail,
                };
                if options.skip_bad_rows {
                    skipped.push(err);
                } else {
                    return Err(err);
                }
            }
        }
    }
    let tail = &bytes[last_start as usize..];
    if !bytes.is_empty()
        && !bytes.ends_with(b"\n")
        && !bytes.ends_with(b"\r")
        && tail.iter().filter(|&&b| b == b'"').count() % 2 == 1
    {
        let line = examples.last().map_or(1, |e| e.line);
        let err = DataError::Row { path: path.into(), line, detail: "the file ends in the middle of a row (unterminated quoted field); it may be truncated".into() };
        if !options.skip_bad_rows {
            return Err(err);
        }
        if examples.last().is_some_and(|e| e.line == line) {
            examples.pop();
        }
        skipped.push(err);
    }
    Ok(Dataset {
        path: path.into(),
        examples,
        skipped,
    })
}

fn parse_row(
    record: &csv::ByteRecord,
    columns: &mut Option<usize>,
    options: ReadOptions,
) -> std::result::Result<(usize, String), String> {
    let n = record.len();
    if n != 2 && n != 3 {
        return Err(format!(
            "expected 3 fields (class,title,description) or 2 (class,text), found {n}"
        ));
    }
    match *columns {
        None => *columns = Some(n),
        Some(c) if c != n => {
            return Err(format!("expected {c} fields like the first row, found {n}"))
        }
        Some(_) => {}
    }
    let field = |i: usize| {
        std::str::from_utf8(&record[i])
            .map_err(|e| format!("field {} is not valid UTF-8: {e}", i + 1))
    };
    let class_text = field(0)?;
    let class: usize = class_text
        .trim()
        .parse()
        .map_err(|_| format!("class {class_text:?} is not an integer"))?;
    if class == 0 || class > options.num_classes {
        return Err(format!(
            "class {class} is outside 1..={}",
            options.num_classes
        ));
    }
    let text = if n == 3 {
        format!("{} {}", field(1)?, field(2)?)
    } else {
        field(1)?.to_string()
    };
    if has_no_token(&text) {
        return Err("empty text: no token after tokenization".into());
    }
    Ok((class - 1, text))
}
