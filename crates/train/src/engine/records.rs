//! `metrics.jsonl`, typed: one [`Record`] a line, its generic fields written by the loop
//! and a task's own fields ([`Records`]) flattened beside them. The schema is documented in
//! `docs/run-folder.md`; runs written before it (`mean_loss`, `window`, …) read through
//! the same types by their aliases.

use std::fmt::Debug;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::engine::progress::EpochStats;
use crate::{Result, TrainError};

/// The record types of one task: what it counts during an epoch, what its progress
/// reports and epoch records add to the loop's fields, and what its evaluation returns.
pub trait Records: 'static {
    /// Running counts of an epoch besides the loss (kept in checkpoints).
    type Tally: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned + Send;
    /// A progress report's task fields.
    type Report: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send;
    /// An epoch record's task fields.
    type Epoch: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send;
    /// What an evaluation after an epoch found.
    type Eval: Clone + Debug + Send;

    /// Adds one batch's tally to the epoch's.
    fn add(total: &mut Self::Tally, batch: &Self::Tally);
    /// The task fields of a report on the epoch so far.
    fn report(stats: &EpochStats<Self::Tally>) -> Self::Report;
    /// The task fields of an epoch record.
    fn epoch(stats: &EpochStats<Self::Tally>, eval: &Self::Eval) -> Self::Epoch;

    /// A progress report as one line (what [`crate::Printing`] and `recur train` print).
    fn report_line(r: &Report<Self::Report>) -> String {
        format!(
            "epoch {} batch {}/{}: loss {:.4} (since the last report {:.4}), lr {}",
            r.epoch, r.batch, r.batches, r.train_loss, r.interval_loss, r.lr
        )
    }

    /// An epoch record as one line (what [`crate::Printing`] and `recur train` print).
    fn epoch_line(e: &EpochRecord<Self::Epoch>) -> String {
        format!(
            "epoch {}: train loss {:.4}{}{}, {:.0} samples/s ({} samples in {:.1}s)",
            e.epoch,
            e.train_loss,
            e.valid_loss
                .map_or(String::new(), |l| format!(", valid loss {l:.4}")),
            if e.best { " (best)" } else { "" },
            e.samples_per_s,
            e.samples,
            e.seconds
        )
    }
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    bound(serialize = "", deserialize = "")
)]
pub enum Record<K: Records> {
    /// Progress within an epoch.
    Report(Report<K::Report>),
    /// The end of an epoch, with its evaluation.
    Epoch(EpochRecord<K::Epoch>),
    /// The run was stopped here (Ctrl-C, SIGTERM); it can be resumed.
    Interrupted(Interrupted),
    /// Early stopping ended the run here.
    EarlyStop(EarlyStop),
}

/// A progress report within an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report<R> {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done in the epoch (a language model's windows).
    #[serde(default, alias = "window")]
    pub batch: usize,
    /// Batches in a whole epoch.
    #[serde(default, alias = "windows")]
    pub batches: usize,
    /// Samples trained on in the epoch so far.
    #[serde(default)]
    pub samples: usize,
    /// Optimizer steps of the run so far.
    #[serde(default)]
    pub step: usize,
    /// The learning rate of the last step.
    #[serde(default)]
    pub lr: f64,
    /// Mean batch loss of the epoch so far.
    #[serde(alias = "mean_loss", alias = "loss")]
    pub train_loss: f64,
    /// Mean batch loss since the previous report.
    #[serde(default)]
    pub interval_loss: f64,
    /// Milliseconds of training per batch since the previous report.
    #[serde(default, alias = "ms_per_window")]
    pub ms_per_batch: f64,
    /// The task's fields.
    #[serde(flatten)]
    pub task: R,
}

/// The end of an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord<E> {
    /// 1-based epoch.
    pub epoch: usize,
    /// Samples trained on in it.
    #[serde(default)]
    pub samples: usize,
    /// Optimizer steps of the run so far.
    #[serde(default)]
    pub step: usize,
    /// The learning rate of its last step.
    #[serde(default)]
    pub lr: f64,
    /// Mean batch loss of the epoch.
    #[serde(alias = "mean_loss")]
    pub train_loss: f64,
    /// Mean loss on the validation data.
    #[serde(default)]
    pub valid_loss: Option<f64>,
    /// This epoch's parameters are the best so far.
    #[serde(default)]
    pub best: bool,
    /// Training seconds of the epoch.
    #[serde(default)]
    pub seconds: f64,
    /// Training samples per second.
    #[serde(default)]
    pub samples_per_s: f64,
    /// The task's fields.
    #[serde(flatten)]
    pub task: E,
}

/// Where a run was stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interrupted {
    /// 1-based epoch.
    pub epoch: usize,
    /// Samples trained on in it.
    pub samples: usize,
    /// Optimizer steps of the run.
    pub step: usize,
}

/// Where early stopping ended a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStop {
    /// 1-based epoch.
    pub epoch: usize,
    /// The best epoch, whose parameters are the run's model.
    pub best_epoch: usize,
}

/// `metrics.jsonl` as text, one record a line.
pub fn records_to_jsonl<K: Records>(records: &[Record<K>]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        let line = serde_json::to_string(r)
            .map_err(|e| TrainError::Invalid(format!("writing a metrics record: {e}")))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// Reads `metrics.jsonl` text (of file `path`, for messages): every non-empty line one
/// record; a bad line is an error naming its number.
pub fn records_from_jsonl<K: Records>(text: &str, path: &Path) -> Result<Vec<Record<K>>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                TrainError::run_folder(path, format!("line {}: not a metrics record: {e}", i + 1))
            })
        })
        .collect()
}
