//! What a classifier run is told: [`TrainConfig`] (epochs, batches, optimizer, schedule,
//! clipping, early stopping, checkpoints) and the [`Datasets`] it trains and evaluates on.

use std::sync::Arc;

use recur_data::Encoded;
use serde::{Deserialize, Serialize};

use crate::metrics::Metric;
use crate::{Result, ScheduleConfig, ScheduleKind, TrainError};

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Examples per batch when evaluating.
    pub eval_batch_size: usize,
    /// Seed of the batch order (each epoch its own stream).
    pub seed: u64,
    /// Stop after this many training samples, counted across epochs.
    pub limit: Option<usize>,
    /// A progress report every this many samples of an epoch.
    pub report_every: usize,
    /// Clip the gradients' global L2 norm to this (`clip_grad_norm_`).
    pub clip_grad_norm: Option<f64>,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// Stop when the validation metric has not improved for this many epochs.
    pub patience: Option<usize>,
    /// The validation metric for the best model, early stopping and the plateau schedule.
    pub metric: Metric,
    /// Also checkpoint every this many optimizer steps.
    pub save_every: Option<usize>,
    /// Parameters (by index) kept fixed for the first `freeze_epochs` epochs (their
    /// gradients are dropped before clipping and the step, so the optimizer skips them).
    #[serde(default)]
    pub frozen: Vec<usize>,
    /// Epochs during which `frozen` stays fixed.
    #[serde(default)]
    pub freeze_epochs: usize,
}

impl Default for TrainConfig {
    /// The lesson's: one epoch of batches of 16, reports every 3,200 samples.
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            batch_size: 16,
            eval_batch_size: 16,
            seed: 0,
            limit: None,
            report_every: 3200,
            clip_grad_norm: None,
            schedule: ScheduleConfig::default(),
            patience: None,
            metric: Metric::Accuracy,
            save_every: None,
            frozen: Vec::new(),
            freeze_epochs: 0,
        }
    }
}

impl TrainConfig {
    /// `epochs` epochs of shuffled batches of `batch_size` (evaluated in batches of the
    /// same size), the defaults otherwise.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            eval_batch_size: batch_size,
            ..TrainConfig::default()
        }
    }

    /// Refuses settings that cannot work, before anything runs.
    pub fn validate(&self, has_valid: bool) -> Result<()> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if self.epochs == 0 || self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("epochs and batch sizes must be at least 1".into());
        }
        if self.report_every == 0 || self.limit == Some(0) || self.save_every == Some(0) {
            return bad("--report-every, --limit and --save-every must be at least 1".into());
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return bad(format!(
                    "the clipping norm must be positive and finite, found {c}"
                ));
            }
        }
        let s = &self.schedule;
        if s.kind == ScheduleKind::Plateau {
            if !has_valid {
                return bad(
                    "the plateau schedule needs a validation set (--valid or --valid-fraction)"
                        .into(),
                );
            }
            if !(s.factor > 0.0 && s.factor < 1.0) {
                return bad(format!(
                    "the plateau factor must be in (0, 1), found {}",
                    s.factor
                ));
            }
        }
        if self.patience.is_some() && !has_valid {
            return bad(
                "early stopping (--patience) needs a validation set (--valid or --valid-fraction)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The datasets of a run.
pub struct Datasets<'a> {
    /// Training examples (shared with the batching thread).
    pub train: Arc<Encoded>,
    /// Validation examples: evaluated after every epoch; they choose the best model.
    pub valid: Option<&'a Encoded>,
    /// Test examples: evaluated after every epoch for reporting only.
    pub test: Option<&'a Encoded>,
}

impl<'a> Datasets<'a> {
    /// Training examples alone.
    pub fn new(train: Encoded) -> Self {
        Datasets {
            train: Arc::new(train),
            valid: None,
            test: None,
        }
    }

    /// The same with validation examples (they choose the best model).
    pub fn with_valid(self, valid: &'a Encoded) -> Self {
        Datasets {
            valid: Some(valid),
            ..self
        }
    }

    /// The same with test examples (evaluated for reporting only).
    pub fn with_test(self, test: &'a Encoded) -> Self {
        Datasets {
            test: Some(test),
            ..self
        }
    }
}
