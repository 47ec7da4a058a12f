//! Reading `config.json` of any schema version this recur knows: version 1 strictly into
//! [`RunConfig`], unversioned folders of earlier recurs through the legacy reader
//! (`run/legacy.rs`).

use std::path::Path;

use crate::run::config::RunConfig;
use crate::run::output::RUN_SCHEMA_VERSION;
use crate::{Result, TrainError};

impl RunConfig {
    /// Parses `config.json` text of file `path`: version 1 strictly (an unknown key is an
    /// error naming it), older folders through the legacy reader (`run/legacy.rs`); then checks it.
    pub fn parse(text: &str, path: &Path) -> Result<RunConfig> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| TrainError::run_folder(path, format!("not valid JSON: {e}")))?;
        let config = match value.get("version") {
            None => crate::run::legacy::read(value, path)?,
            Some(v) if v.as_u64() == Some(u64::from(RUN_SCHEMA_VERSION)) => {
                serde_json::from_value(value).map_err(|e| {
                    TrainError::run_folder(
                        path,
                        format!("not a valid run config: {}", with_hint(&e.to_string())),
                    )
                })?
            }
            Some(v) => {
                return Err(TrainError::run_folder(
                    path,
                    format!(
                        "run-folder schema version {v}; this recur reads versions up to \
                         {RUN_SCHEMA_VERSION}"
                    ),
                ))
            }
        };
        config.check(path)?;
        Ok(config)
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" with the nearest expected name
/// suggested when one is close.
fn with_hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let near = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|c| (edit_distance(field, c), c))
        .min();
    match near {
        Some((d, c)) if d <= 2.max(field.len() / 3) => format!("{message} (did you mean `{c}`?)"),
        _ => message.to_string(),
    }
}

/// Levenshtein distance between `a` and `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_near_a_known_one_gets_a_hint() {
        let m = "unknown field `hiden_dim`, expected one of `model`, `hidden_dim`, `embed_dim`";
        assert!(
            with_hint(m).ends_with("(did you mean `hidden_dim`?)"),
            "{}",
            with_hint(m)
        );
        let far = "unknown field `zzzzzz`, expected one of `model`, `hidden_dim`";
        assert_eq!(with_hint(far), far);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
