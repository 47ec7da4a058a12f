//! `config.json` as recur wrote it before the schema had a version: a classifier's model
//! fields at the top level beside `classes`, `labels`, `tokenizer`, `max_tokens`,
//! `vocab_order` and `data`; a language model's `{"task": "lm", "model", "tokenizer",
//! "data"}`; both with the command line's flags under `training`. Read into a version-1
//! [`RunConfig`] (without the flags, so such a run is used but not resumed).

use std::path::Path;

use recur_data::{LabelMap, ReadSpec, Tokenizer, VocabOrder};
use recur_layers::{AdamConfig, SgdConfig};
use recur_layers::{ClassifierConfig, LmConfig};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::engine::config::TrainConfig;
use crate::optimizer::OptimizerConfig;
use crate::run::config::{ClassSpec, ClassifierRunConfig, LmRunConfig, RunConfig, TextSpec};
use crate::run::output::RUN_SCHEMA_VERSION;
use crate::schedule::{ScheduleConfig, ScheduleKind};
use crate::training::{Device, LmFiles, LmTraining, VocabPlan};
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
    // the command line's flags: only a language model's evaluation needs one of them
    // (its windows), so they become its training block; a classifier's are dropped
    let flags = map.remove("training");
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
            training: flags.as_ref().and_then(lm_training),
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

/// A language model's training block from the flags an earlier recur kept (`None` when a
/// flag it needs is missing).
fn lm_training(flags: &Value) -> Option<LmTraining> {
    let n = |k: &str| flags.get(k)?.as_u64().map(|v| v as usize);
    let f = |k: &str| flags.get(k)?.as_f64();
    let opt_n = |k: &str| flags.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let path = |k: &str| flags.get(k)?.as_str().map(std::path::PathBuf::from);
    let valid = path("valid");
    let optimizer = flags.get("optimizer")?.as_str()?;
    let lr = f("lr")?;
    let weight_decay = f("weight_decay").unwrap_or(if optimizer == "adamw" { 0.01 } else { 0.0 });
    let optimizer = match optimizer {
        "sgd" => OptimizerConfig::Sgd(SgdConfig {
            lr,
            momentum: f("momentum").unwrap_or(0.0),
            weight_decay,
            ..SgdConfig::default()
        }),
        name => OptimizerConfig::Adam(AdamConfig {
            lr,
            weight_decay,
            decoupled: name == "adamw",
            sparse_rows: flags.get("sparse_embedding")?.as_bool()?,
            lazy_rows: true,
            ..AdamConfig::default()
        }),
    };
    let schedule = ScheduleConfig {
        kind: if valid.is_some() {
            ScheduleKind::Plateau
        } else {
            ScheduleKind::Constant
        },
        warmup_steps: 0,
        factor: 0.25,
        patience: 0,
        threshold: 0.0,
    };
    Some(LmTraining {
        files: LmFiles {
            train: path("train")?,
            valid,
            skip_bad_rows: flags["data_args"]["skip_bad_rows"]
                .as_bool()
                .unwrap_or(false),
        },
        vocab: VocabPlan {
            min_freq: n("min_freq")?,
            max_size: opt_n("max_vocab"),
            pad_to: None,
        },
        optimizer,
        streams: n("batch_size")?,
        eval_streams: opt_n("eval_batch_size").unwrap_or(10),
        bptt: n("bptt")?,
        train: TrainConfig {
            epochs: n("epochs")?,
            limit: opt_n("limit"),
            report_every: n("report_every")?,
            clip_grad_norm: f("clip_grad_norm"),
            schedule,
            patience: None,
            save_every: opt_n("save_every"),
            frozen: Vec::new(),
            freeze_epochs: 0,
        },
        seed: flags.get("seed")?.as_u64()?,
        device: if flags.get("device")?.as_str()? == "cuda" {
            Device::Cuda
        } else {
            Device::Cpu
        },
    })
}
