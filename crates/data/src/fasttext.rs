//! fastText's supervised format: `__label__X word word …`, one example per line. The label
//! may stand anywhere in the line, as fastText allows; a line with several labels is refused
//! until multi-label classification exists.

use std::io::BufRead;

use crate::lines::{too_long, utf8, Line, Lines, MAX_ROW_BYTES};
use crate::rows::Rows;
use crate::spec::LABEL_PREFIX;
use crate::{DataError, ReadSpec, Result};

/// The `(label, text)` of one line; the text is the other words joined with one space.
fn row(line: &[u8]) -> std::result::Result<(String, String), String> {
    let line = utf8(line)?;
    let (labels, words): (Vec<&str>, Vec<&str>) = line
        .split_whitespace()
        .partition(|w| w.starts_with(LABEL_PREFIX));
    match labels.as_slice() {
        [] => Err(format!("no {LABEL_PREFIX} word in the line")),
        [label] => Ok((label[LABEL_PREFIX.len()..].to_string(), words.join(" "))),
        many => Err(format!(
            "{} labels ({}): multi-label lines are not supported",
            many.len(),
            many.join(", ")
        )),
    }
}

/// Reads fastText lines from `input` (BOM already removed); blank lines are skipped.
pub(crate) fn read(input: impl BufRead, spec: &ReadSpec, rows: &mut Rows) -> Result<()> {
    if spec.label_col.is_some() || !spec.text_cols.is_empty() || spec.header {
        return Err(DataError::Invalid(
            "a label column, text columns and a header do not apply to fastText files (labels \
                are the __label__ words)"
                .into(),
        ));
    }
    let mut lines = Lines::new(input, MAX_ROW_BYTES);
    while let Some((number, line)) = lines
        .next_line()
        .map_err(|e| DataError::Invalid(e.to_string()))?
    {
        match line {
            Line::Text(t, _) if t.trim_ascii().is_empty() => {}
            Line::Text(t, _) => rows.push(number, row(t))?,
            Line::TooLong => rows.push(number, Err(too_long(MAX_ROW_BYTES)))?,
        }
    }
    Ok(())
}
