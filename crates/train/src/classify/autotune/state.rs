//! A search's record: its settings, the recipe it varies and every finished trial
//! (`autotune/search.json` while it runs, written whole and atomically after each trial;
//! `autotune.json` in the finished run folder).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::AutotuneConfig;
use super::space::Choices;
use crate::classify::recipe::ClassifyRecipe;
use crate::classify::records::ClassifyRecords;
use crate::classify::scores::Metric;
use crate::engine::observer::FitSummary;
use crate::engine::records::Record;
use crate::run::files::read_bounded;
use crate::{Result, TrainError};

/// Version of the search record's format.
const SEARCH_VERSION: u32 = 1;

/// A search record is small; a larger file is not one.
const MAX_STATE_BYTES: u64 = 16 << 20;

/// One finished trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRecord {
    /// Its number (0: the sized strong recipe).
    pub index: usize,
    /// Its recipe, as changes to the sized strong recipe.
    pub choices: Choices,
    /// The validation score, in the search's metric, of the epoch it kept, if an epoch
    /// finished (the trial keeps its epoch by its own metric, which its size may set).
    pub score: Option<f64>,
    /// The epoch it kept (1-based; 0: none).
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Test accuracy of that epoch, where a test file was given (reported, never used to
    /// choose).
    pub test_accuracy: Option<f64>,
    /// Seconds it took (reading, pretraining, training, evaluating).
    pub seconds: f64,
    /// It ran to its end (false: the budget stopped it).
    pub complete: bool,
}

impl TrialRecord {
    /// The record of trial `index` from its run, which took `seconds` in all, scored in
    /// `metric` (the search's).
    pub(super) fn of(
        index: usize,
        choices: Choices,
        (fit, records): (&FitSummary<ClassifyRecords>, &[Record<ClassifyRecords>]),
        metric: Metric,
        seconds: f64,
    ) -> TrialRecord {
        let best_epoch = fit.best.map_or(0, |b| b.epoch);
        TrialRecord {
            index,
            choices,
            score: valid_score_at(records, best_epoch, metric),
            best_epoch,
            epochs: fit.epochs,
            test_accuracy: test_accuracy_at(records, best_epoch),
            seconds,
            complete: !fit.interrupted(),
        }
    }
}

/// Where a search stands, or how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutotuneReport {
    /// Every finished trial, in order.
    pub trials: Vec<TrialRecord>,
    /// The chosen trial's number: the first whose validation score is within one standard
    /// error of the best score.
    pub best: Option<usize>,
    /// Seconds of searching, all sessions together.
    pub seconds: f64,
    /// Stopped by the caller before its end (resumable); the run folder is not written.
    pub stopped: bool,
}

/// The search's state on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchState {
    pub version: u32,
    pub config: AutotuneConfig,
    /// The recipe the trials vary (before sizing).
    pub base: ClassifyRecipe,
    pub trials: Vec<TrialRecord>,
    /// Seconds spent on the trial in progress in earlier sessions.
    #[serde(default)]
    pub pending_seconds: f64,
    /// Validation rows that score the trials (their standard error decides close calls).
    #[serde(default)]
    pub valid_rows: usize,
}

/// The search record in the search folder `dir`.
pub(super) fn state_path(dir: &Path) -> PathBuf {
    dir.join("search.json")
}

impl SearchState {
    pub fn new(config: AutotuneConfig, base: ClassifyRecipe) -> SearchState {
        SearchState {
            version: SEARCH_VERSION,
            config,
            base,
            trials: Vec::new(),
            pending_seconds: 0.0,
            valid_rows: 0,
        }
    }

    /// Reads and checks the record in `dir`.
    pub fn read(dir: &Path) -> Result<SearchState> {
        let path = state_path(dir);
        let bytes = read_bounded(&path, MAX_STATE_BYTES)?;
        let s: SearchState = serde_json::from_slice(&bytes)
            .map_err(|e| TrainError::run_folder(&path, format!("not a search record: {e}")))?;
        if s.version != SEARCH_VERSION {
            return Err(TrainError::run_folder(
                &path,
                format!("version {} (this recur reads {SEARCH_VERSION})", s.version),
            ));
        }
        s.config
            .validate()
            .map_err(|e| TrainError::run_folder(&path, e.to_string()))?;
        for (i, t) in s.trials.iter().enumerate() {
            if t.index != i || !(t.seconds.is_finite() && t.seconds >= 0.0) {
                return Err(TrainError::run_folder(
                    &path,
                    format!(
                        "trial {i} is recorded as trial {} ({} s)",
                        t.index, t.seconds
                    ),
                ));
            }
        }
        Ok(s)
    }

    /// Writes the record into `dir`, whole or not at all.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = state_path(dir);
        let tmp = dir.join(".search.json.tmp");
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| TrainError::Invalid(format!("the search record: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| TrainError::io(&path, e))
    }

    /// Seconds spent so far.
    pub fn seconds(&self) -> f64 {
        self.trials.iter().map(|t| t.seconds).sum::<f64>() + self.pending_seconds
    }

    /// The chosen trial so far, by the one-standard-error rule: the first trial (the
    /// recipe searched comes first) whose validation score is within one standard error of
    /// the best score. The error of a proportion measured on `n` rows, `√(p(1 − p)/n)`,
    /// for accuracy and macro-F1; none for the loss (the lowest wins). On a validation
    /// split of 1,000 rows, a trial must beat the recipe by about 1 point to replace it:
    /// smaller differences are the split's noise, not the recipe's.
    pub fn best(&self) -> Option<&TrialRecord> {
        let metric = self.base.training.batching.metric;
        let higher = metric.higher_is_better();
        let scored = || self.trials.iter().filter_map(|t| t.score.map(|s| (t, s)));
        let top = scored()
            .map(|(_, s)| s)
            .reduce(|a, b| if metric.better(b, a) { b } else { a })?;
        let margin = match (higher, self.valid_rows) {
            (true, n) if n > 0 => {
                let p = top.clamp(0.0, 1.0);
                (p * (1.0 - p) / n as f64).sqrt()
            }
            _ => 0.0,
        };
        scored()
            .find(|&(_, s)| if higher { s >= top - margin } else { s <= top })
            .map(|(t, _)| t)
    }

    /// The report of the search after `seconds`.
    pub fn report(&self, seconds: f64, stopped: bool) -> AutotuneReport {
        AutotuneReport {
            trials: self.trials.clone(),
            best: self.best().map(|t| t.index),
            seconds,
            stopped,
        }
    }

    /// `autotune.json`: the settings, the recipe varied and the report.
    pub fn to_json(&self, report: &AutotuneReport) -> Result<Vec<u8>> {
        let v = serde_json::json!({
            "version": SEARCH_VERSION,
            "config": self.config,
            "base": self.base,
            "best": report.best,
            "seconds": report.seconds,
            "trials": report.trials,
        });
        serde_json::to_vec_pretty(&v)
            .map_err(|e| TrainError::Invalid(format!("the search record: {e}")))
    }
}

/// The test accuracy of `records`' epoch `epoch` (1-based), if it was measured.
/// Epoch `epoch`'s validation score in `metric`, from its record.
fn valid_score_at(
    records: &[Record<ClassifyRecords>],
    epoch: usize,
    metric: Metric,
) -> Option<f64> {
    records.iter().find_map(|r| match r {
        Record::Epoch(e) if e.epoch == epoch => match metric {
            Metric::Accuracy => e.task.valid_accuracy,
            Metric::MacroF1 => e.task.valid_macro_f1,
            Metric::Loss => e.valid_loss,
        },
        _ => None,
    })
}

fn test_accuracy_at(records: &[Record<ClassifyRecords>], epoch: usize) -> Option<f64> {
    records.iter().find_map(|r| match r {
        Record::Epoch(e) if e.epoch == epoch => e.task.test_accuracy,
        _ => None,
    })
}
