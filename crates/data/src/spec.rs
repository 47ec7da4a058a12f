//! How a labelled file is read: its [`Format`] (CSV, TSV, JSONL, fastText) and which
//! columns or fields hold the label and the text ([`ReadSpec`], saved in a run's
//! `config.json` so that `eval` reads test files of the same shape without flags).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The prefix of a fastText label word (`__label__sports`).
pub const LABEL_PREFIX: &str = "__label__";

/// A labelled-text file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values (RFC 4180 quoting).
    Csv,
    /// Tab-separated values, quoted as CSV.
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// fastText's `__label__X text…` lines.
    #[serde(rename = "fasttext")]
    FastText,
}

impl Format {
    /// Every format, in the order the command line lists them.
    pub const ALL: [Format; 4] = [Format::Csv, Format::Tsv, Format::Jsonl, Format::FastText];

    /// Name on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::FastText => "fasttext",
        }
    }

    /// The format `--format auto` picks: by extension (`.csv`; `.tsv`, `.tab`; `.jsonl`,
    /// `.ndjson`), else fastText when the first non-blank line of `head` (the file's first
    /// bytes) starts with `__label__`, else CSV.
    pub fn detect(path: &Path, head: &[u8]) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("tsv" | "tab") => Format::Tsv,
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => {
                let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
                let first = head
                    .split(|&b| b == b'\n')
                    .map(|l| l.trim_ascii_start())
                    .find(|l| !l.is_empty());
                if first.is_some_and(|l| l.starts_with(LABEL_PREFIX.as_bytes())) {
                    Format::FastText
                } else {
                    Format::Csv
                }
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format {s:?}: expected csv, tsv, jsonl or fasttext"))
    }
}

/// A column of a CSV/TSV file (by header name or 1-based number) or a JSONL field (by name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    /// 1-based column number.
    Number(usize),
    /// Header name (CSV/TSV) or key (JSONL).
    Name(String),
}

impl Column {
    /// Parses a list such as `title,description` or `2,3`.
    pub fn parse_list(s: &str) -> Result<Vec<Column>, String> {
        let cols = s
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<Column>, _>>()?;
        Ok(cols)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Number(n) => write!(f, "column {n}"),
            Column::Name(s) => write!(f, "column {s:?}"),
        }
    }
}

impl FromStr for Column {
    type Err = String;
    /// Digits are a 1-based number (`0` is refused); anything else is a name.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty column name".into());
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!(
                    "column number {s} is not valid: columns are numbered from 1"
                )),
                Ok(n) => Ok(Column::Number(n)),
            };
        }
        Ok(Column::Name(s.to_string()))
    }
}

/// How to find labels and texts in a file. The default is the AG News shape: CSV with the
/// label in column 1 and every other column joined with one space, no header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    /// The format; `None` detects it per file ([`Format::detect`]).
    #[serde(default)]
    pub format: Option<Format>,
    /// The label column (CSV/TSV default: column 1; JSONL default: `"label"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_col: Option<Column>,
    /// The text columns, joined with one space in this order (CSV/TSV default: every column
    /// but the label's; JSONL default: `"text"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_cols: Vec<Column>,
    /// The first CSV/TSV row is a header (implied when a column is given by name).
    #[serde(default)]
    pub header: bool,
}

impl ReadSpec {
    /// The format for `path` (`head`: its first bytes, for detection).
    pub fn format_for(&self, path: &Path, head: &[u8]) -> Format {
        self.format.unwrap_or_else(|| Format::detect(path, head))
    }

    /// True when a column is named, so that the first row must be a header.
    pub fn has_header(&self) -> bool {
        self.header
            || self
                .label_col
                .iter()
                .chain(&self.text_cols)
                .any(|c| matches!(c, Column::Name(_)))
    }
}
