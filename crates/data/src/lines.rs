//! Reading text a line at a time with a bound ([`Lines`]): a line is refused as soon as it
//! crosses the limit, not after it was read whole, so an endless file (`/dev/zero`, a file
//! without newlines) never fills memory. Shared by the line-based formats (JSONL, fastText,
//! plain text) and `predict`'s standard input; 1-based numbers, `\n` or `\r\n` endings.

use std::io::BufRead;

/// The most bytes one row may hold, its ending aside: the longest text a row may have
/// ([`crate::MAX_TEXT_BYTES`]) and room for its label and quoting.
pub const MAX_ROW_BYTES: usize = crate::MAX_TEXT_BYTES + (1 << 20);

/// How far past the limit a reader skips, looking for the end of an over-long row it was
/// asked to skip, before it gives up on the file.
pub(crate) const MAX_SKIP_BYTES: u64 = 64 << 20;

/// One line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes (without its ending), and whether a newline ended it.
    Text(&'a [u8], bool),
    /// The line crossed the limit; the reader skipped the rest of it.
    TooLong,
}

/// Bounded lines of a reader.
pub struct Lines<R> {
    input: R,
    max: usize,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `input` of at most `max` bytes each.
    pub fn new(input: R, max: usize) -> Self {
        Lines {
            input,
            max,
            number: 0,
            buf: Vec::new(),
        }
    }

    /// The next line and its 1-based number; `Ok(None)` at the end. A line longer than the
    /// limit is skipped to its end (at most 64 MiB further: past that the input
    /// is no text file, an error).
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut too_long = false;
        let mut seen = 0u64;
        let terminated = loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                if seen == 0 {
                    return Ok(None);
                }
                break false;
            }
            let (part, used, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            seen += used as u64;
            if !too_long {
                if self.buf.len() + part.len() > self.max {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            self.input.consume(used);
            if end {
                break true;
            }
            if too_long && seen > self.max as u64 + MAX_SKIP_BYTES {
                return Err(std::io::Error::other(format!(
                    "line {} has no end within {} MiB: not a text file?",
                    self.number + 1,
                    (self.max as u64 + MAX_SKIP_BYTES) >> 20
                )));
            }
        };
        self.number += 1;
        if too_long {
            return Ok(Some((self.number, Line::TooLong)));
        }
        let line = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
        Ok(Some((self.number, Line::Text(line, terminated))))
    }
}

/// `bytes` as UTF-8, or a message saying where it is not.
pub(crate) fn utf8(bytes: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(bytes)
        .map_err(|e| format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1))
}

/// What is wrong with a line over `max` bytes.
pub(crate) fn too_long(max: usize) -> String {
    format!("the line is over the limit of {max} bytes for one row")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut lines = Lines::new(std::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some((n, l)) = lines.next_line().unwrap() {
            out.push((
                n,
                match l {
                    Line::Text(t, end) => {
                        format!(
                            "{}{}",
                            String::from_utf8_lossy(t),
                            if end { "" } else { "$" }
                        )
                    }
                    Line::TooLong => "LONG".into(),
                },
            ));
        }
        out
    }

    #[test]
    fn lines_are_numbered_bounded_and_skipped_past_the_limit() {
        let got = all(b"ab\r\n\nabcdefgh\nxy", 5);
        let want = [(1, "ab"), (2, ""), (3, "LONG"), (4, "xy$")];
        assert_eq!(got, want.map(|(n, s)| (n, s.to_string())));
        assert!(all(b"", 5).is_empty());
        // an endless line is an error once far past the limit, never a read of all of it
        let mut endless = Lines::new(std::io::BufReader::new(std::io::repeat(0)), 8);
        let e = endless.next_line().unwrap_err().to_string();
        assert!(e.contains("no end"), "{e}");
    }
}
