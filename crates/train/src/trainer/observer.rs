//! What a caller of [`Trainer::fit`](super::Trainer::fit) hears and gets back: the
//! [`Observer`] callbacks, each epoch's [`EpochSummary`] and the run's [`FitSummary`].

use std::path::Path;

use serde_json::Value;

use crate::metrics::Evaluation;
use crate::progress::Best;

/// One epoch's results, as recorded in `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// 1-based epoch.
    pub epoch: usize,
    /// Samples trained on in it.
    pub samples: usize,
    /// Mean of the batch losses.
    pub mean_loss: f64,
    /// Running training accuracy.
    pub train_accuracy: f64,
    /// Validation results.
    pub valid: Option<Evaluation>,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// The learning rate at its end.
    pub lr: f64,
    /// Training seconds.
    pub seconds: f64,
    /// Whether this epoch's parameters are the best so far.
    pub best: bool,
}

/// What a caller hears while a run goes on. Every method has a default that does nothing.
pub trait Observer {
    /// An epoch starts (0-based) with `samples` samples to train on.
    fn epoch_started(&mut self, _epoch: usize, _samples: usize) {}
    /// A batch of `samples` samples was trained on.
    fn batch_done(&mut self, _samples: usize) {}
    /// A progress report (`{"kind": "report", "epoch", "samples", "train_accuracy",
    /// "mean_loss"}`).
    fn report(&mut self, _record: &Value) {}
    /// An epoch ended.
    fn epoch_done(&mut self, _summary: &EpochSummary) {}
    /// A checkpoint was committed to the run folder.
    fn saved(&mut self, _dir: &Path) {}
    /// Polled after every batch: true stops the run after it (saved, resumable).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that hears nothing.
pub struct Silent;

impl Observer for Silent {}

/// How a call to [`Trainer::fit`](super::Trainer::fit) ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitSummary {
    /// Samples trained on in the whole run.
    pub samples: usize,
    /// Training seconds of the whole run.
    pub train_seconds: f64,
    /// The last epoch's running training accuracy.
    pub train_accuracy: f64,
    /// The last epoch's validation accuracy.
    pub valid_accuracy: Option<f64>,
    /// The last epoch's test accuracy.
    pub test_accuracy: Option<f64>,
    /// The best validation epoch and value.
    pub best: Option<Best>,
    /// Stopped by the observer (resumable when `saved`).
    pub interrupted: bool,
    /// The run folder holds a commit of this run (false: nothing was written, e.g. an
    /// interrupt before the first checkpoint left a previous run in the folder as it was).
    pub saved: bool,
    /// Why the run finished (`None` when interrupted).
    pub finished: Option<String>,
}
