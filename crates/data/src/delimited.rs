//! CSV and TSV files (RFC 4180): quoted fields with embedded delimiters, doubled quotes and
//! newlines, CRLF; columns chosen by header name or 1-based number. Read as a stream by a
//! small parser of its own rather than the `csv` crate, because it must do two things that
//! crate does not: refuse a malformed quote (a lone `"` inside a quoted field, or a quote
//! left open at the end of the file) instead of reading a guess, and refuse a row as soon
//! as it crosses [`MAX_ROW_BYTES`] instead of after reading it whole. A quote inside an
//! unquoted field is a literal (`5" screen`), as in the `csv` crate.

use std::io::BufRead;

use crate::lines::{MAX_ROW_BYTES, MAX_SKIP_BYTES};
use crate::rows::Rows;
use crate::{Column, DataError, ReadSpec, Result};

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
        record: &[Vec<u8>],
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
    fn row(&self, record: &[Vec<u8>]) -> std::result::Result<(String, String), String> {
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

/// Where the parser is inside a record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a field's first byte.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: a second quote, a delimiter or a line
    /// ending must follow.
    QuoteInQuoted,
    /// A malformed row: skipping to the end of its line.
    SkipLine,
}

/// One record, or what is wrong with it.
enum Record {
    /// Its fields are in the reader's `fields[..n]`.
    Fields(usize),
    /// A malformed row and why.
    Bad(String),
}

/// CSV/TSV records of a stream, each with the line it starts on.
struct Records<R> {
    input: R,
    delimiter: u8,
    /// Line of the next byte (1-based).
    line: u64,
    fields: Vec<Vec<u8>>,
}

impl<R: BufRead> Records<R> {
    fn new(input: R, delimiter: u8) -> Self {
        Records {
            input,
            delimiter,
            line: 1,
            fields: Vec::new(),
        }
    }

    /// The next record and its first line; `None` at the end of the file.
    fn next(&mut self) -> Result<Option<(u64, Record)>> {
        let d = self.delimiter;
        // blank lines between records are skipped
        let start = loop {
            let chunk = self.input.fill_buf().map_err(io)?;
            let Some(&b) = chunk.first() else {
                return Ok(None);
            };
            match b {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break self.line,
            }
            self.input.consume(1);
        };
        let (mut n, mut bytes, mut state) = (0usize, 0usize, State::FieldStart);
        let mut bad: Option<String> = None;
        let mut skipped = 0u64;
        field(&mut self.fields, n);
        loop {
            let chunk = self.input.fill_buf().map_err(io)?;
            if chunk.is_empty() {
                // the end of the file ends the record, unless a quote is open
                if state == State::Quoted && bad.is_none() {
                    bad = Some(format!(
                        "the file ends in the middle of a row, inside a quoted field opened on \
                         line {start}: a quote is not closed, or the file is truncated"
                    ));
                }
                return Ok(Some((start, self.finish(n + 1, bad))));
            }
            let mut used = 0;
            let mut ended = false;
            for &b in chunk {
                used += 1;
                if b == b'\n' {
                    self.line += 1;
                }
                match (state, b) {
                    (State::SkipLine, b'\n') => {
                        ended = true;
                        break;
                    }
                    (State::SkipLine, _) => {}
                    (State::Quoted, b'"') => state = State::QuoteInQuoted,
                    (State::Quoted, _) => self.fields[n].push(b),
                    (State::QuoteInQuoted, b'"') => {
                        self.fields[n].push(b'"');
                        state = State::Quoted;
                    }
                    (State::FieldStart, b'"') => state = State::Quoted,
                    (_, b) if b == d => {
                        n += 1;
                        field(&mut self.fields, n);
                        state = State::FieldStart;
                    }
                    (_, b'\n') => {
                        ended = true;
                        break;
                    }
                    (_, b'\r') => {}
                    (State::QuoteInQuoted, _) => {
                        bad = Some(
                            "a quote inside a quoted field must be doubled (\"\"): the field \
                             closes its quote and goes on"
                                .into(),
                        );
                        state = State::SkipLine;
                    }
                    (State::FieldStart | State::Unquoted, _) => {
                        self.fields[n].push(b);
                        state = State::Unquoted;
                    }
                }
            }
            self.input.consume(used);
            bytes += used;
            if ended {
                return Ok(Some((start, self.finish(n + 1, bad))));
            }
            if bytes > MAX_ROW_BYTES && bad.is_none() {
                bad = Some(format!(
                    "the row is over the limit of {MAX_ROW_BYTES} bytes for one row"
                ));
                for f in &mut self.fields {
                    *f = Vec::new();
                }
                // skip to where the row would end: its quote closes, then a line ends
                state = if state == State::Quoted {
                    State::Quoted
                } else {
                    State::SkipLine
                };
                n = 0;
            }
            if bad.is_some() {
                skipped += used as u64;
                if skipped > MAX_SKIP_BYTES {
                    return Err(DataError::Invalid(format!(
                        "the row has no end within {} MiB: not a CSV or TSV file?",
                        MAX_SKIP_BYTES >> 20
                    )));
                }
                // the row is discarded: nothing of it is kept while its end is looked for
                for f in &mut self.fields {
                    f.clear();
                }
            }
        }
    }

    fn finish(&self, n: usize, bad: Option<String>) -> Record {
        match bad {
            Some(detail) => Record::Bad(detail),
            None => Record::Fields(n),
        }
    }
}

/// Makes `fields[n]` an empty field.
fn field(fields: &mut Vec<Vec<u8>>, n: usize) {
    if fields.len() <= n {
        fields.push(Vec::new());
    }
    fields[n].clear();
}

fn io(e: std::io::Error) -> DataError {
    DataError::Invalid(format!("reading: {e}"))
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
    loop {
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
            layout = Some(Layout::resolve(fields, header, spec).map_err(|d| rows.error(line, d))?);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of `text` as strings, or `!why` for a bad one.
    fn records(text: &[u8]) -> Vec<(u64, String)> {
        let mut r = Records::new(std::io::BufReader::with_capacity(3, text), b',');
        let mut out = Vec::new();
        while let Some((line, rec)) = r.next().unwrap() {
            out.push((
                line,
                match rec {
                    Record::Fields(n) => r.fields[..n]
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect::<Vec<_>>()
                        .join("|"),
                    Record::Bad(why) => format!("!{}", &why[..12.min(why.len())]),
                },
            ));
        }
        out
    }

    #[test]
    fn rfc_4180_with_lines_quotes_and_crlf() {
        let got =
            records(b"1,\"a, b\",\"say \"\"hi\"\"\"\r\n\n2,5\" screen,\"two\nlines\"\n3,,\n4,x");
        let want = [
            (1, "1|a, b|say \"hi\""),
            (3, "2|5\" screen|two\nlines"),
            (5, "3||"),
            (6, "4|x"),
        ];
        assert_eq!(got, want.map(|(l, s)| (l, s.to_string())));
    }

    #[test]
    fn malformed_quotes_are_rows_in_error_and_reading_goes_on() {
        let got = records(b"1,\"he said \"hi\" ok\",x\n2,fine\n3,\"open\n4,more");
        assert_eq!(got[0], (1, "!a quote insi".to_string()));
        assert_eq!(got[1], (2, "2|fine".to_string()));
        assert_eq!(got[2], (3, "!the file end".to_string()));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn an_endless_row_is_refused_not_read() {
        let mut r = Records::new(std::io::BufReader::new(std::io::repeat(b'x')), b',');
        match r.next() {
            Err(e) => assert!(e.to_string().contains("no end"), "{e}"),
            Ok(_) => panic!("an endless row was read"),
        }
    }
}
