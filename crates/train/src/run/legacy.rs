//! `config.json` as recur wrote it before the schema had a version: a classifier's model
//! fields at the top level beside `classes`, `labels`, `tokenizer`, `max_tokens`,
//! `vocab_order` and `data`; a language model's `{"task": "lm", "model", "tokenizer",
//! "data"}`; both with the command line's flags under `training`. Read into a version-1
//! [`RunConfig`] (without the flags, so such a run is used but not resumed).

use std::path::Path;

use recur_data::{LabelMap, ReadSpec, Tokenizer, VocabOrder};
use recur_layers::{ClassifierConfig, LmConfig};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::run::config::{ClassSpec, ClassifierRunConfig, LmRunConfig, RunConfig, TextSpec};
use crate::run::output::RUN_SCHEMA_VERSION;
use crate::{Result, TrainError};

/// Takes key `key` out of `map` as a `T` (its default when absent).
fn take<T: DeserializeOwned + Default>(
    map: &mut Map<String, Value>,
    key: &str,
    path: &Path,
) -> Result<T> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| TrainError::run_folder(path, format!("key {key:?}: {e}"))),
    }
}

/// Reads an unversioned `config.json` (already parsed) into version 1.
pub(crate) fn read(value: Value, path: &Path) -> Result<RunConfig> {
    let Value::Object(mut map) = value else {
        return Err(TrainError::run_folder(path, "not a JSON object"));
    };
    // the command line's flags: not part of the model, not needed to use it
    map.remove("training");
    let tokenizer: Tokenizer = take(&mut map, "tokenizer", path)?;
    let data: ReadSpec = take(&mut map, "data", path)?;
    if map.get("task").and_then(Value::as_str) == Some("lm") {
        map.remove("task");
        let model: LmConfig = match map.remove("model") {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| TrainError::run_folder(path, format!("key \"model\": {e}")))?,
            None => return Err(TrainError::run_folder(path, "no \"model\" key")),
        };
        if let Some(k) = map.keys().next() {
            return Err(TrainError::run_folder(path, format!("unknown key {k:?}")));
        }
        return Ok(RunConfig::Lm(LmRunConfig {
            version: RUN_SCHEMA_VERSION,
            model,
            text: TextSpec {
                tokenizer,
                vocab_order: VocabOrder::Lm,
                max_tokens: None,
            },
            data,
            training: None,
        }));
    }
    let names: Vec<String> = take(&mut map, "classes", path)?;
    let labels: LabelMap = take(&mut map, "labels", path)?;
    let max_tokens: Option<usize> = take(&mut map, "max_tokens", path)?;
    let vocab_order: VocabOrder = take(&mut map, "vocab_order", path)?;
    // what is left is the classifier's own fields
    let model: ClassifierConfig = serde_json::from_value(Value::Object(map))
        .map_err(|e| TrainError::run_folder(path, format!("not a valid run config: {e}")))?;
    let names = if !names.is_empty() {
        names
    } else if model.num_class == ClassSpec::ag_news().names.len() {
        ClassSpec::ag_news().names
    } else {
        (0..model.num_class)
            .map(|i| format!("class{}", i + 1))
            .collect()
    };
    Ok(RunConfig::Classify(ClassifierRunConfig {
        version: RUN_SCHEMA_VERSION,
        model,
        classes: ClassSpec { names, labels },
        text: TextSpec {
            tokenizer,
            vocab_order,
            max_tokens,
        },
        data,
        training: None,
    }))
}
