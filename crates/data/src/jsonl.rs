//! JSONL: one JSON object per line; the label (a string or an integer) and the text fields
//! (strings) are named by the spec, default `label` and `text`. Lines are parsed in parallel.

use serde_json::{Map, Value};

use std::io::BufRead;

use crate::lines::{too_long, utf8, Line, Lines, MAX_ROW_BYTES};
use crate::rows::{Fields, Rows};
use crate::{Column, DataError, ReadSpec, Result};

/// A field name from the spec; JSONL fields have names, not numbers.
fn key(c: &Column, what: &str) -> Result<String> {
    match c {
        Column::Name(s) => Ok(s.clone()),
        Column::Number(n) => Err(DataError::Invalid(format!(
            "{what} {n}: JSONL fields are named, not numbered (name the field, e.g. \"label\")"
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn keys(obj: &Map<String, Value>) -> String {
    obj.keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of one line: its label (when `label_key` is given), text and id.
fn row(
    line: &[u8],
    terminated: bool,
    label_key: Option<&str>,
    text_keys: &[String],
    id_key: Option<&str>,
) -> std::result::Result<Fields, String> {
    let line = utf8(line)?;
    let obj: Map<String, Value> = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(o)) => o,
        Ok(other) => return Err(format!("expected a JSON object, found {}", kind(&other))),
        Err(e) if !terminated => {
            return Err(format!(
                "invalid JSON ({e}): the last line has no newline, so the file may be truncated"
            ))
        }
        Err(e) => return Err(format!("invalid JSON: {e}")),
    };
    // a label or id: a string or an integer
    let name = |key: &str, what: &str| -> std::result::Result<String, String> {
        match obj.get(key) {
            None => Err(format!(
                "missing {what} field {key:?} (the object has: {})",
                keys(&obj)
            )),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            Some(other) => Err(format!(
                "{what} field {key:?} must be a string or an integer, found {}",
                kind(other)
            )),
        }
    };
    let label = label_key.map(|k| name(k, "label")).transpose()?;
    let id = id_key.map(|k| name(k, "id")).transpose()?;
    let mut text = String::new();
    for (j, k) in text_keys.iter().enumerate() {
        let part = match obj.get(k) {
            Some(Value::String(s)) => s,
            None => {
                return Err(format!(
                    "missing text field {k:?} (the object has: {})",
                    keys(&obj)
                ))
            }
            Some(other) => {
                return Err(format!(
                    "text field {k:?} must be a string, found {}",
                    kind(other)
                ))
            }
        };
        if j > 0 {
            text.push(' ');
        }
        text.push_str(part);
    }
    Ok(Fields { label, text, id })
}

/// A line as read: its bytes and whether a newline ended it, or why it is refused.
type ReadLine = std::result::Result<(Vec<u8>, bool), String>;

/// Reads JSONL rows from `input` (BOM already removed); blank lines are skipped.
pub(crate) fn read(input: impl BufRead, spec: &ReadSpec, rows: &mut Rows) -> Result<()> {
    // reading texts alone, a label is neither needed nor read
    let label_key = match (&spec.label_col, rows.labelled()) {
        (Some(c), true) => Some(key(c, "label column")?),
        (None, true) => Some("label".to_string()),
        (_, false) => None,
    };
    let id_key = rows.id_col.map(|c| key(c, "id column")).transpose()?;
    let text_keys: Vec<String> = if spec.text_cols.is_empty() {
        vec!["text".to_string()]
    } else {
        spec.text_cols
            .iter()
            .map(|c| key(c, "text column"))
            .collect::<Result<_>>()?
    };
    for (k, what) in [(&label_key, "label"), (&id_key, "id")] {
        if let Some(k) = k.as_ref().filter(|k| text_keys.contains(k)) {
            return Err(DataError::Invalid(format!(
                "field {k:?} is both the {what} and a text field"
            )));
        }
    }
    // parse in parallel (lines are independent) a block at a time, then in file order, so
    // that the first bad row reported is the first in the file
    use rayon::prelude::*;
    let mut lines = Lines::new(input, MAX_ROW_BYTES);
    let mut block: Vec<(u64, ReadLine)> = Vec::new();
    let mut done = false;
    while !done && !rows.full() {
        block.clear();
        while block.len() < 4096 {
            match lines
                .next_line()
                .map_err(|e| DataError::Invalid(e.to_string()))?
            {
                None => {
                    done = true;
                    break;
                }
                Some((_, Line::Text(t, _))) if t.trim_ascii().is_empty() => {}
                Some((n, Line::Text(t, end))) => block.push((n, Ok((t.to_vec(), end)))),
                Some((n, Line::TooLong)) => block.push((n, Err(too_long(MAX_ROW_BYTES)))),
            }
        }
        let parsed: Vec<_> = block
            .par_iter()
            .with_min_len(256)
            .map(|(_, line)| match line {
                Ok((text, terminated)) => row(
                    text,
                    *terminated,
                    label_key.as_deref(),
                    &text_keys,
                    id_key.as_deref(),
                ),
                Err(e) => Err(e.clone()),
            })
            .collect();
        for ((number, _), r) in block.iter().zip(parsed) {
            rows.push(*number, r)?;
        }
    }
    Ok(())
}
