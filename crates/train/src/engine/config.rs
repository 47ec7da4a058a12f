//! How the loop trains, whatever the task ([`TrainConfig`]): epochs, a sample limit, the
//! report cadence, clipping, the learning-rate schedule, early stopping, extra checkpoints
//! and parameters kept fixed for the first epochs.

use serde::{Deserialize, Serialize};

use crate::{Result, ScheduleConfig, ScheduleKind, TrainError};

/// How to train (the task adds its own batching and evaluation settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Stop after this many training samples, counted across epochs (a sample is what the
    /// task counts: a text for a classifier, a predicted token for a language model).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A progress report every this many units of the task's report cadence (samples for a
    /// classifier, windows for a language model).
    pub report_every: usize,
    /// Clip the gradients' global L2 norm to this (`clip_grad_norm_`).
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// Stop when the validation result has not improved for this many epochs.
    #[serde(default)]
    pub patience: Option<usize>,
    /// Also checkpoint every this many optimizer steps (always at each epoch end).
    #[serde(default)]
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
    /// One epoch, a report every 3,200 units (the lesson's), no clipping, a constant rate,
    /// no early stopping.
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            limit: None,
            report_every: 3200,
            clip_grad_norm: None,
            schedule: ScheduleConfig::default(),
            patience: None,
            save_every: None,
            frozen: Vec::new(),
            freeze_epochs: 0,
        }
    }
}

impl TrainConfig {
    /// `epochs` epochs, the defaults otherwise.
    pub fn epochs(epochs: usize) -> Self {
        TrainConfig {
            epochs,
            ..TrainConfig::default()
        }
    }

    /// The same with the gradients' global L2 norm clipped to `max_norm`.
    pub fn with_clip_grad_norm(self, max_norm: f64) -> Self {
        TrainConfig {
            clip_grad_norm: Some(max_norm),
            ..self
        }
    }

    /// The same stopping when the validation result has not improved for `epochs` epochs.
    pub fn with_patience(self, epochs: usize) -> Self {
        TrainConfig {
            patience: Some(epochs),
            ..self
        }
    }

    /// The same with the learning-rate `schedule`.
    pub fn with_schedule(self, schedule: ScheduleConfig) -> Self {
        TrainConfig { schedule, ..self }
    }

    /// Refuses settings that cannot work, before anything runs (`has_valid`: the task has
    /// validation data).
    pub fn validate(&self, has_valid: bool) -> Result<()> {
        let at_least_one = |name, v: Option<usize>| match v {
            Some(0) => Err(TrainError::setting(name, "must be at least 1")),
            _ => Ok(()),
        };
        at_least_one("epochs", Some(self.epochs))?;
        at_least_one("report_every", Some(self.report_every))?;
        at_least_one("limit", self.limit)?;
        at_least_one("save_every", self.save_every)?;
        at_least_one("patience", self.patience)?;
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(TrainError::setting(
                    "clip_grad_norm",
                    format!("must be positive and finite, found {c}"),
                ));
            }
        }
        let s = &self.schedule;
        if s.kind == ScheduleKind::Plateau {
            if !has_valid {
                return Err(TrainError::NeedsValidation {
                    what: "the plateau schedule",
                });
            }
            if !(s.factor > 0.0 && s.factor < 1.0) {
                return Err(TrainError::setting(
                    "schedule.factor",
                    format!("must be in (0, 1), found {}", s.factor),
                ));
            }
            if !(s.threshold >= 0.0 && s.threshold.is_finite()) {
                return Err(TrainError::setting(
                    "schedule.threshold",
                    format!("must be finite and not negative, found {}", s.threshold),
                ));
            }
        }
        if self.patience.is_some() && !has_valid {
            return Err(TrainError::NeedsValidation {
                what: "early stopping",
            });
        }
        if self.freeze_epochs > 0 && self.frozen.is_empty() {
            return Err(TrainError::setting(
                "freeze_epochs",
                "needs parameters to keep fixed (frozen is empty)",
            ));
        }
        Ok(())
    }
}
