//! CSV and TSV files (RFC 4180): quoted fields with embedded delimiters, doubled quotes and
//! newlines, CRLF; columns chosen by header name or 1-based number. The records come from a
//! small parser of its own ([`records`]); here they become rows: the label, text and id
//! columns are resolved against the header or the first row, and each record checked
//! against them.

mod records;

use std::io::BufRead;

use crate::rows::{Fields, Rows};
use crate::{Column, ReadSpec, Result};
use records::{Record, Records};

/// Where the label, text and id are in each row, fixed by the header or the first row.
struct Layout {
    /// Fields every row must have.
    fields: usize,
    /// 0-based label field (`None`: the rows have none; reading texts only).
    label: Option<usize>,
    /// 0-based text fields, joined in this order.
    text: Vec<usize>,
    /// 0-based id field.
    id: Option<usize>,
    /// "header" or "first row", for messages.
    first: &'static str,
}

impl Layout {
    /// Resolves `spec`'s columns (and `id_col`) against the first record (the header when
    /// `header`). Labelled rows need a label column (default: column 1); when reading texts
    /// alone a label column is optional: by default column 1 is one when the rows have more
    /// than one field (as in training) and no text column is named.
    fn resolve(
        record: &[Vec<u8>],
        header: bool,
        spec: &ReadSpec,
        labelled: bool,
        id_col: Option<&Column>,
    ) -> std::result::Result<Layout, String> {
        let n = record.len();
        let first = if header { "header" } else { "first row" };
        if labelled && n < 2 {
            return Err(format!(
                "expected at least 2 fields (a label and a text), the {first} has {n}"
            ));
        }
        let names: Vec<&str> = if header {
            record
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    std::str::from_utf8(f)
                        .map(str::trim)
                        .map_err(|_| format!("header field {} is not valid UTF-8", i + 1))
                })
                .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        let index = |c: &Column| -> std::result::Result<usize, String> {
            match c {
                Column::Number(k) if *k <= n => Ok(k - 1),
                Column::Number(k) => Err(format!(
                    "column {k} does not exist: the {first} has {n} fields"
                )),
                Column::Name(s) => {
                    let at: Vec<usize> = (0..names.len()).filter(|&i| names[i] == s).collect();
                    match at.as_slice() {
                        [i] => Ok(*i),
                        [] => Err(format!(
                            "column {s:?} is not in the header (its columns: {})",
                            names.join(", ")
                        )),
                        many => Err(format!(
                            "column {s:?} appears {} times in the header (columns {})",
                            many.len(),
                            many.iter()
                                .map(|i| (i + 1).to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    }
                }
            }
        };
        let label = match &spec.label_col {
            Some(c) => Some(index(c)?),
            None if labelled || (spec.text_cols.is_empty() && n > 1) => Some(0),
            None => None,
        };
        let id = id_col.map(index).transpose()?;
        let text: Vec<usize> = if spec.text_cols.is_empty() {
            (0..n)
                .filter(|&i| Some(i) != label && Some(i) != id)
                .collect()
        } else {
            spec.text_cols
                .iter()
                .map(index)
                .collect::<std::result::Result<_, _>>()?
        };
        if let Some(l) = label.filter(|l| text.contains(l)) {
            return Err(format!(
                "column {} is both the label and a text column",
                l + 1
            ));
        }
        if let Some(i) = id.filter(|i| text.contains(i)) {
            return Err(format!("column {} is both the id and a text column", i + 1));
        }
        if text.is_empty() {
            return Err(format!("no text column: the {first} has {n} fields"));
        }
        Ok(Layout {
            fields: n,
            label,
            text,
            id,
            first,
        })
    }

    /// The fields of one record, or what is wrong with it.
    fn row(&self, record: &[Vec<u8>]) -> std::result::Result<Fields, String> {
        if record.len() != self.fields {
            return Err(format!(
                "expected {} fields like the {}, found {}",
                self.fields,
                self.first,
                record.len()
            ));
        }
        let field = |i: usize| {
            std::str::from_utf8(&record[i])
                .map_err(|e| format!("field {} is not valid UTF-8: {e}", i + 1))
        };
        let label = self
            .label
            .map(|l| field(l).map(|f| f.trim().to_string()))
            .transpose()?;
        let id = self
            .id
            .map(|i| field(i).map(|f| f.trim().to_string()))
            .transpose()?;
        let mut text = String::with_capacity(self.text.iter().map(|&i| record[i].len() + 1).sum());
        for (j, &i) in self.text.iter().enumerate() {
            if j > 0 {
                text.push(' ');
            }
            text.push_str(field(i)?);
        }
        Ok(Fields { label, text, id })
    }
}

/// Reads CSV (`delimiter` `,`) or TSV (`\t`) rows from `input` (BOM already removed).
pub(crate) fn read(
    input: impl BufRead,
    delimiter: u8,
    spec: &ReadSpec,
    rows: &mut Rows,
) -> Result<()> {
    let header = spec.has_header();
    let mut layout: Option<Layout> = None;
    let mut records = Records::new(input, delimiter);
    while !rows.full() {
        let (line, record) = match records.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(rows.error(records.line, e.to_string())),
        };
        let n = match record {
            Record::Fields(n) => n,
            Record::Bad(detail) => {
                rows.bad(rows.error(line, detail))?;
                continue;
            }
        };
        let fields = &records.fields[..n];
        if layout.is_none() {
            layout = Some(
                Layout::resolve(fields, header, spec, rows.labelled(), rows.id_col)
                    .map_err(|d| rows.error(line, d))?,
            );
            if header {
                continue;
            }
        }
        if let Some(l) = &layout {
            let row = l.row(fields);
            rows.push(line, row)?;
        }
    }
    Ok(())
}
