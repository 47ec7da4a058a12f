//! The training loop of recur as a library.
//!
//! A [`Trainer`] trains any [`Model`] (a padded batch → logits `[B, K]`) with an optimizer
//! from `recur-layers`, a learning-rate [`Schedule`] (constant, linear or cosine with
//! warmup, reduce-on-plateau), optional gradient clipping, validation after every epoch
//! ([`evaluate`], [`Scores`]: accuracy, macro-F1, per-class P/R/F1, confusion), the best
//! model by a validation [`Metric`], early stopping, and checkpoints: the run folder
//! (caller files, `model.safetensors`, `metrics.jsonl`, `checkpoint/`) is committed as one
//! unit ([`RunWriter`]) at every epoch end and every `save_every` steps, and
//! [`Trainer::resume`] continues a run bit-identically. It owns the rayon pool the steps run
//! on and brings the optimizer up to date before anything reads the parameters.

mod commit;
mod error;
mod metrics;
mod model;
mod params_io;
mod progress;
mod run_dir;
mod schedule;
mod skipgram;
mod trainer;

pub use commit::{Entry, RunWriter};
pub use error::{Result, TrainError};
pub use metrics::{argmax_rows, evaluate, predict_logits, Evaluation, Metric, Scores};
pub use model::Model;
pub use params_io::{
    load_params, load_params_bytes, load_params_bytes_with, params_to_bytes, save_params,
    state_from_bytes, state_to_bytes, LoadReport, ParamsFile,
};
pub use progress::{Best, EpochStats, Progress, RngState};
pub use run_dir::{LoadedRun, RunConfig, RunDir};
pub use schedule::{Schedule, ScheduleConfig, ScheduleKind};
pub use skipgram::{train_skipgram, SkipGramConfig};
pub use trainer::{
    checkpoint_extra, Datasets, EpochSummary, FitSummary, Observer, RunOutput, Silent, TrainConfig,
    Trainer,
};
