//! fastText's supervised format: `__label__X word word …`, one example per line. The label
//! may stand anywhere in the line, as fastText allows; a line with several labels is refused
//! until multi-label classification exists.

use std::io::BufRead;

use crate::lines::{too_long, utf8, Line, Lines, MAX_ROW_BYTES};
use crate::rows::{Fields, Rows};
use crate::spec::LABEL_PREFIX;
use crate::{DataError, ReadSpec, Result};

/// The label and text of one line; the text is the other words joined with one space.
/// Reading texts alone (`labelled` false), a line may have no label word.
fn row(line: &[u8], labelled: bool) -> std::result::Result<Fields, String> {
    let line = utf8(line)?;
    let (labels, words): (Vec<&str>, Vec<&str>) = line
        .split_whitespace()
        .partition(|w| w.starts_with(LABEL_PREFIX));
    let text = words.join(" ");
    if !labelled {
        return Ok(Fields {
            label: None,
            text,
            id: None,
        });
    }
    match labels.as_slice() {
        [] => Err(format!("no {LABEL_PREFIX} word in the line")),
        [label] => Ok(Fields::labelled(
            label[LABEL_PREFIX.len()..].to_string(),
            text,
        )),
        many => Err(format!(
            "{} labels ({}): multi-label lines are not supported",
            many.len(),
            many.join(", ")
        )),
    }
}

/// Reads fastText lines from `input` (BOM already removed); blank lines are skipped.
pub(crate) fn read(input: impl BufRead, spec: &ReadSpec, rows: &mut Rows) -> Result<()> {
    if spec.label_col.is_some()
        || !spec.text_cols.is_empty()
        || spec.header
        || rows.id_col.is_some()
    {
        return Err(DataError::Invalid(
            "a label column, text columns, an id column and a header do not apply to fastText \
                files (labels are the __label__ words)"
                .into(),
        ));
    }
    let labelled = rows.labelled();
    let mut lines = Lines::new(input, MAX_ROW_BYTES);
    while let Some((number, line)) = lines
        .next_line()
        .map_err(|e| DataError::Invalid(e.to_string()))?
    {
        if rows.full() {
            break;
        }
        match line {
            Line::Text(t, _) if t.trim_ascii().is_empty() => {}
            Line::Text(t, _) => rows.push(number, row(t, labelled))?,
            Line::TooLong => rows.push(number, Err(too_long(MAX_ROW_BYTES)))?,
        }
    }
    Ok(())
}
