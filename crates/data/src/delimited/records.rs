//! CSV/TSV records of a stream ([`Records`]), read by a small parser of its own rather than
//! the `csv` crate, because it must do two things that crate does not: refuse a malformed
//! quote (a lone `"` inside a quoted field, or a quote left open at the end of the file)
//! instead of reading a guess, and refuse a row as soon as it crosses [`MAX_ROW_BYTES`]
//! instead of after reading it whole. A quote inside an unquoted field is a literal
//! (`5" screen`), as in the `csv` crate.

use std::io::BufRead;

use crate::lines::{MAX_ROW_BYTES, MAX_SKIP_BYTES};
use crate::{DataError, Result};

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
pub(super) enum Record {
    /// Its fields are in the reader's `fields[..n]`.
    Fields(usize),
    /// A malformed row and why.
    Bad(String),
}

/// CSV/TSV records of a stream, each with the line it starts on.
pub(super) struct Records<R> {
    input: R,
    delimiter: u8,
    /// Line of the next byte (1-based).
    pub(super) line: u64,
    /// The last record's fields (the first `n` of them, see [`Record::Fields`]).
    pub(super) fields: Vec<Vec<u8>>,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(input: R, delimiter: u8) -> Self {
        Records {
            input,
            delimiter,
            line: 1,
            fields: Vec::new(),
        }
    }

    /// The next record and its first line; `None` at the end of the file.
    pub(super) fn next(&mut self) -> Result<Option<(u64, Record)>> {
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
