//! The flags that say how a labelled file is read (`--format`, `--label-col`, `--text-cols`,
//! `--header`, `--tokenizer`, `--skip-bad-rows`), shared by `train`, `eval` and `predict`.

use clap::Args;
use recur_data::{Column, Format, ReadSpec, Tokenizer};

/// `--format`: `auto` (`None`) or one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatArg(pub Option<Format>);

fn parse_format(s: &str) -> Result<FormatArg, String> {
    if s == "auto" {
        Ok(FormatArg(None))
    } else {
        s.parse().map(|f| FormatArg(Some(f)))
    }
}

/// `--text-cols`: a comma-separated list of columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnList(pub Vec<Column>);

pub fn parse_columns(s: &str) -> Result<ColumnList, String> {
    Column::parse_list(s).map(ColumnList)
}

/// How to read labelled files. Unset flags keep the defaults (`train`: the AG News shape)
/// or, for `eval` and `predict`, what the run remembers.
#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// auto | csv | tsv | jsonl | fasttext (auto: by extension, else fastText when lines
    /// start with __label__, else CSV).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<FormatArg>,
    /// The label column: a header name or a 1-based number (CSV/TSV; default 1), or a JSONL
    /// field (default "label").
    #[arg(long)]
    pub label_col: Option<Column>,
    /// The text columns, joined with one space in this order: names or 1-based numbers,
    /// comma-separated (default: every column but the label's; JSONL: "text").
    #[arg(long, value_parser = parse_columns)]
    pub text_cols: Option<ColumnList>,
    /// The first CSV/TSV row is a header (implied when a column is given by name).
    #[arg(long)]
    pub header: bool,
    /// basic_english (torchtext's, the default) | whitespace | char.
    #[arg(long)]
    pub tokenizer: Option<Tokenizer>,
    /// Skip malformed rows and rows with an unknown label (counted and reported) instead of
    /// failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

impl DataArgs {
    /// `base` with the flags that were given applied on top.
    pub fn spec_over(&self, base: &ReadSpec) -> ReadSpec {
        let mut spec = base.clone();
        if let Some(FormatArg(f)) = self.format {
            spec.format = f;
        }
        if let Some(c) = &self.label_col {
            spec.label_col = Some(c.clone());
        }
        if let Some(ColumnList(c)) = &self.text_cols {
            spec.text_cols = c.clone();
        }
        spec.header |= self.header;
        spec
    }
}
