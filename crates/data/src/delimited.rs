//! CSV and TSV files through the `csv` crate: quoted fields with embedded delimiters, quotes
//! and newlines, CRLF; columns chosen by header name or 1-based number.

use crate::rows::Rows;
use crate::{Column, ReadSpec, Result};

/// Where the label and text are in each row, fixed by the header or the first row.
struct Layout {
    /// Fields every row must have.
    fields: usize,
    /// 0-based label field.
    label: usize,
    /// 0-based text fields, joined in this order.
    text: Vec<usize>,
    /// "header" or "first row", for messages.
    first: &'static str,
}

impl Layout {
    /// Resolves `spec`'s columns against the first record (the header when `header`).
    fn resolve(
        record: &csv::ByteRecord,
        header: bool,
        spec: &ReadSpec,
    ) -> std::result::Result<Layout, String> {
        let n = record.len();
        let first = if header { "header" } else { "first row" };
        if n < 2 {
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
        let label = spec.label_col.as_ref().map_or(Ok(0), index)?;
        let text: Vec<usize> = if spec.text_cols.is_empty() {
            (0..n).filter(|&i| i != label).collect()
        } else {
            spec.text_cols
                .iter()
                .map(index)
                .collect::<std::result::Result<_, _>>()?
        };
        if text.contains(&label) {
            return Err(format!(
                "column {} is both the label and a text column",
                label + 1
            ));
        }
        Ok(Layout {
            fields: n,
            label,
            text,
            first,
        })
    }

    /// The `(label, text)` of one record, or what is wrong with it.
    fn row(&self, record: &csv::ByteRecord) -> std::result::Result<(String, String), String> {
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
        let label = field(self.label)?.trim().to_string();
        let mut text = String::with_capacity(self.text.iter().map(|&i| record[i].len() + 1).sum());
        for (j, &i) in self.text.iter().enumerate() {
            if j > 0 {
                text.push(' ');
            }
            text.push_str(field(i)?);
        }
        Ok((label, text))
    }
}

/// True when `bytes` (one record to the end of the file) ends inside a quoted field, as the
/// `csv` crate's parser would see it: a quote opens a field only at its start, `""` inside
/// is a literal quote.
fn ends_inside_quotes(bytes: &[u8], delimiter: u8) -> bool {
    let (mut quoted, mut at_field_start) = (false, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == b'"' && at_field_start {
            quoted = true;
            at_field_start = false;
        } else {
            at_field_start = b == delimiter || b == b'\n' || b == b'\r';
        }
        i += 1;
    }
    quoted
}

/// 1-based line numbers of byte offsets, counted incrementally as the reader moves forward
/// (the `csv` crate's own count is one short after a `\r\n` ending).
#[derive(Default)]
struct LineCounter {
    byte: usize,
    newlines: u64,
}

impl LineCounter {
    /// The line of the first byte at or after `start` that is not a line ending.
    fn at(&mut self, body: &[u8], start: usize) -> u64 {
        let first = body[start..]
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .map_or(body.len(), |i| start + i);
        if first >= self.byte {
            self.newlines += body[self.byte..first]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.byte = first;
        }
        self.newlines + 1
    }
}

/// Reads CSV (`delimiter` `,`) or TSV (`\t`) rows from `body` (BOM already removed).
pub(crate) fn read(body: &[u8], delimiter: u8, spec: &ReadSpec, rows: &mut Rows) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body);
    let header = spec.has_header();
    let mut record = csv::ByteRecord::new();
    let mut layout: Option<Layout> = None;
    let mut lines = LineCounter::default();
    loop {
        let start = reader.position().byte() as usize;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                rows.bad(rows.error(lines.at(body, start), format!("unreadable row: {e}")))?;
                continue;
            }
        }
        let line = lines.at(body, start);
        let end = reader.position().byte() as usize;
        if end >= body.len() && ends_inside_quotes(&body[start..], delimiter) {
            rows.bad(rows.error(
                line,
                "the file ends in the middle of a row, inside a quoted field opened here: a quote \
                    is not closed, or the file is truncated",
            ))?;
            break;
        }
        if layout.is_none() {
            layout = Some(Layout::resolve(&record, header, spec).map_err(|d| rows.error(line, d))?);
            if header {
                continue;
            }
        }
        if let Some(l) = &layout {
            let row = l.row(&record);
            rows.push(line, row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ends_inside_quotes;

    #[test]
    fn quote_state_at_the_end() {
        assert!(!ends_inside_quotes(b"1,\"a\",\"b\"\"c\"\n", b','));
        assert!(ends_inside_quotes(b"1,\"a\",\"b cut", b','));
        assert!(ends_inside_quotes(b"1,\"a\n2,b,c\n", b','));
        // a quote inside an unquoted field is a literal (5" screen)
        assert!(!ends_inside_quotes(b"1,a 5\" screen,b\n", b','));
        assert!(!ends_inside_quotes(b"1\t\"a\tb\"\tc\n", b'\t'));
    }
}
