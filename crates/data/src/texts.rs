//! Reading the texts of a file or stream to classify them ([`read_texts`]): each row's text
//! (and id) is handed on in file order as it is read, so memory holds one row whatever the
//! file's size. The formats are training's (a label column is optional and not kept), plus
//! plain lines.

use std::io::BufRead;
use std::path::Path;

use crate::lines::{too_long, utf8, Line, Lines, MAX_ROW_BYTES};
use crate::reader::open_text;
use crate::rows::{Fields, Rows, TextRow};
use crate::{Column, DataError, Format, ReadSpec, Result, Tokenizer};

/// How the texts are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextLayout {
    /// A labelled-file format read with a [`ReadSpec`] (its label column, if any, ignored).
    Format(Format),
    /// One text per line.
    Lines,
}

impl TextLayout {
    /// Name on the command line (`csv`, `tsv`, `jsonl`, `fasttext`, `lines`).
    pub fn name(self) -> &'static str {
        match self {
            TextLayout::Format(f) => f.name(),
            TextLayout::Lines => "lines",
        }
    }

    /// The layout of `path` when none is given: by its extension (`.csv`; `.tsv`, `.tab`;
    /// `.jsonl`, `.ndjson`; `.txt`: plain lines), else the spec's format, else what
    /// [`Format::detect`] finds in its first bytes.
    pub fn detect(path: &Path, head: &[u8], spec: &ReadSpec) -> TextLayout {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("txt") => TextLayout::Lines,
            Some("csv" | "tsv" | "tab" | "jsonl" | "ndjson") => {
                TextLayout::Format(Format::detect(path, head))
            }
            _ => TextLayout::Format(spec.format.unwrap_or_else(|| Format::detect(path, head))),
        }
    }
}

impl std::str::FromStr for TextLayout {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "lines" {
            return Ok(TextLayout::Lines);
        }
        s.parse::<Format>().map(TextLayout::Format).map_err(|_| {
            format!("unknown format {s:?}: expected csv, tsv, jsonl, fasttext or lines")
        })
    }
}

/// How to read texts.
#[derive(Clone, Debug)]
pub struct TextOptions<'a> {
    /// The layout (`None`: [`TextLayout::detect`]).
    pub layout: Option<TextLayout>,
    /// Columns and header, as training reads files.
    pub spec: &'a ReadSpec,
    /// A column (or JSONL field) passed through as each row's id.
    pub id_col: Option<&'a Column>,
    /// A row whose text has no token under this tokenizer is a bad row.
    pub tokenizer: Tokenizer,
    /// Skip bad rows (counted) instead of failing on the first.
    pub skip_bad_rows: bool,
}

/// What reading texts found besides the rows.
#[derive(Debug)]
pub struct TextsRead {
    /// The layout read.
    pub layout: TextLayout,
    /// Bad rows skipped (with `skip_bad_rows`).
    pub skipped: u64,
    /// The first of them (up to 20), each naming its line and what is wrong.
    pub first_skipped: Vec<DataError>,
}

/// Reads the texts of the file at `path`, calling `emit` with each good row in file order.
/// A bad row (a missing column, invalid UTF-8, an empty text, a row over the size limit)
/// is an error naming file and line, or is skipped and counted with `skip_bad_rows`; an
/// error from `emit` stops the reading and is returned.
pub fn read_texts(
    path: &Path,
    options: &TextOptions<'_>,
    emit: &mut dyn FnMut(TextRow) -> Result<()>,
) -> Result<TextsRead> {
    let (input, layout) = open_text(path, |head| {
        options
            .layout
            .unwrap_or_else(|| TextLayout::detect(path, head, options.spec))
    })?;
    read_layout(input, path, layout, options, emit)
}

/// [`read_texts`] from a stream (standard input); `name` stands for it in messages, and the
/// layout defaults to plain lines.
pub fn read_texts_from(
    input: impl BufRead,
    name: &Path,
    options: &TextOptions<'_>,
    emit: &mut dyn FnMut(TextRow) -> Result<()>,
) -> Result<TextsRead> {
    let layout = options.layout.unwrap_or(TextLayout::Lines);
    read_layout(input, name, layout, options, emit)
}

fn read_layout(
    mut input: impl BufRead,
    path: &Path,
    layout: TextLayout,
    options: &TextOptions<'_>,
    emit: &mut dyn FnMut(TextRow) -> Result<()>,
) -> Result<TextsRead> {
    // a UTF-8 byte-order mark is not text
    let head = input.fill_buf().map_err(|e| DataError::io(path, e))?;
    if head.starts_with(b"\xef\xbb\xbf") {
        input.consume(3);
    }
    let spec = options.spec;
    let mut rows = Rows::streaming(
        path,
        options.tokenizer,
        options.skip_bad_rows,
        options.id_col,
        emit,
    );
    match layout {
        TextLayout::Format(Format::Csv) => crate::delimited::read(input, b',', spec, &mut rows)?,
        TextLayout::Format(Format::Tsv) => crate::delimited::read(input, b'\t', spec, &mut rows)?,
        TextLayout::Format(Format::Jsonl) => crate::jsonl::read(input, spec, &mut rows)?,
        TextLayout::Format(Format::FastText) => crate::fasttext::read(input, spec, &mut rows)?,
        TextLayout::Lines => lines(input, &mut rows)?,
    }
    let (skipped, first_skipped) = rows.skipped();
    Ok(TextsRead {
        layout,
        skipped,
        first_skipped,
    })
}

/// One text per line; an id column does not apply.
fn lines(input: impl BufRead, rows: &mut Rows<'_>) -> Result<()> {
    if rows.id_col.is_some() {
        return Err(DataError::Invalid(
            "an id column does not apply to plain lines (only to CSV, TSV or JSONL)".into(),
        ));
    }
    let mut lines = Lines::new(input, MAX_ROW_BYTES);
    while let Some((number, line)) = lines
        .next_line()
        .map_err(|e| DataError::Invalid(format!("reading: {e}")))?
    {
        let row = match line {
            Line::Text(t, _) => utf8(t).map(|text| Fields {
                label: None,
                text: text.to_string(),
                id: None,
            }),
            Line::TooLong => Err(too_long(MAX_ROW_BYTES)),
        };
        rows.push(number, row)?;
    }
    Ok(())
}
