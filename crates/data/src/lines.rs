//! Line iteration shared by the line-based formats (JSONL, fastText): 1-based numbers, `\n`
//! or `\r\n` endings, blank lines skipped.

/// The non-blank lines of `body` as `(line number, bytes without the ending, ends with a
/// newline)`.
pub(crate) fn non_blank(body: &[u8]) -> impl Iterator<Item = (u64, &[u8], bool)> {
    let mut rest = body;
    let mut number = 0u64;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let (line, terminated) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let l = &rest[..i];
                rest = &rest[i + 1..];
                (l, true)
            }
            None => {
                let l = rest;
                rest = &[];
                (l, false)
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.trim_ascii().is_empty() {
            return Some((number, line, terminated));
        }
    })
}

/// `bytes` as UTF-8, or a message saying where it is not.
pub(crate) fn utf8(bytes: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(bytes)
        .map_err(|e| format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1))
}
