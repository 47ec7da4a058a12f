//! What a language-model run is told and tells: [`LmTrainConfig`], the [`LmProgress`] its
//! checkpoint keeps, the [`LmObserver`] callbacks and the [`LmFit`] it ends with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::progress::{Best, RngState};
use crate::{Result, TrainError};

/// How to train a language model (the example's defaults: 20 streams, windows of 35,
/// clipping at 0.25, the rate divided by 4 after an epoch that did not improve).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmTrainConfig {
    /// Passes over the training streams.
    pub epochs: usize,
    /// Parallel training streams `B`.
    pub batch_size: usize,
    /// Parallel evaluation streams.
    pub eval_batch_size: usize,
    /// Steps per window (backpropagation through time).
    pub bptt: usize,
    /// Clip the gradients' global L2 norm to this.
    pub clip_grad_norm: Option<f64>,
    /// Divide the rate by this after an epoch whose validation loss did not improve
    /// (1: never).
    pub lr_decay: f64,
    /// A progress record every this many windows.
    pub log_interval: usize,
}

impl Default for LmTrainConfig {
    fn default() -> Self {
        LmTrainConfig {
            epochs: 3,
            batch_size: 20,
            eval_batch_size: 10,
            bptt: 35,
            clip_grad_norm: Some(0.25),
            lr_decay: 4.0,
            log_interval: 200,
        }
    }
}

impl LmTrainConfig {
    /// Refuses settings that cannot work, before anything runs.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if self.epochs == 0 || self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("epochs and batch sizes must be at least 1".into());
        }
        if self.bptt == 0 || self.log_interval == 0 {
            return bad("--bptt and --report-every must be at least 1".into());
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return bad(format!(
                    "the clipping norm must be positive and finite, found {c}"
                ));
            }
        }
        if !(self.lr_decay >= 1.0 && self.lr_decay.is_finite()) {
            return bad(format!(
                "the rate's decay factor must be at least 1, found {}",
                self.lr_decay
            ));
        }
        Ok(())
    }
}

/// Where a language-model run is (`checkpoint/state.json`): epochs done, the rate, the best
/// validation loss, the dropout generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmProgress {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps done.
    pub step: usize,
    /// The rate of the next epoch.
    pub lr: f64,
    /// The best validation loss (the last epoch's train loss without validation).
    pub best: Option<Best>,
    /// The dropout generator.
    pub dropout_rng: RngState,
    /// Training seconds of the run.
    pub train_seconds: f64,
}

/// What the trainer tells its caller as it goes; every method has a silent default.
pub trait LmObserver {
    /// A progress record (`"kind": "report"`) every `log_interval` windows.
    fn report(&mut self, _record: &Value) {}
    /// The record of a finished epoch (`"kind": "epoch"`).
    fn epoch_done(&mut self, _record: &Value) {}
    /// True when the run should stop after the current window (Ctrl-C).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that says nothing.
pub struct Quiet;

impl LmObserver for Quiet {}

/// What a language-model run ended with.
#[derive(Clone, Debug, PartialEq)]
pub struct LmFit {
    /// Epochs completed.
    pub epochs: usize,
    /// Mean training loss of the last epoch.
    pub train_loss: f64,
    /// Validation loss after the last epoch.
    pub valid_loss: Option<f64>,
    /// The best validation (or training) loss and its epoch.
    pub best: Option<Best>,
    /// Training tokens per second of this fit (windows, backward and steps; evaluations
    /// excluded, as the reference counts).
    pub tokens_per_s: f64,
    /// Stopped by the observer before the last epoch (the last epoch-end commit stands).
    pub interrupted: bool,
}
