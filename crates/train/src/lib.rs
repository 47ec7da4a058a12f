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
//!
//! ```
//! use recur_cpu::Cpu;
//! use recur_data::Encoded;
//! use recur_layers::{rng, Adam, Classifier, ClassifierConfig, ParamStore};
//! use recur_tensor::DType;
//! use recur_train::{evaluate, Datasets, Silent, TrainConfig, Trainer};
//!
//! // class = whether token 1 or token 2 is in the sequence
//! let mut data = Encoded::default();
//! for i in 0..200 {
//!     data.ids.push(vec![3 + i % 5, 1 + i % 2, 3 + i % 7]);
//!     data.labels.push(i % 2);
//! }
//! let mut store = ParamStore::new(&Cpu, DType::F32);
//! let model = Classifier::new(&mut store, ClassifierConfig::new(10, 2), &mut rng(0))?;
//! let mut trainer = Trainer::new(TrainConfig::new(5, 16), &model, store,
//! Box::new(Adam::with_lr(0.02)), rng(1));
//! trainer.fit(&Datasets::new(data.clone()), &mut Silent)?;
//! let accuracy = evaluate(&model, trainer.store(), &data, 64)?.scores.accuracy();
//! assert!(accuracy > 0.9, "{accuracy}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod commit;
mod error;
mod generate;
mod lm;
mod lm_config;
mod metrics;
mod model;
mod params_io;
mod progress;
mod run_dir;
mod run_output;
mod schedule;
mod skipgram;
mod train_config;
mod trainer;

pub use commit::{Entry, FaultPoint, RunWriter};
pub use error::{Result, TrainError};
pub use generate::{generate, Sampling};
pub use lm::{lm_loss, read_lm_state, LmTrainer};
pub use lm_config::{LmFit, LmObserver, LmProgress, LmTrainConfig, Quiet};
pub use metrics::{argmax_rows, evaluate, predict_logits, Evaluation, Metric, Scores};
pub use model::Model;
pub use params_io::{
    load_params, load_params_bytes, load_params_bytes_with, params_to_bytes, save_params,
    state_from_bytes, state_to_bytes, LoadReport, ParamsFile,
};
pub use progress::{Best, EpochStats, Progress, RngState};
pub use run_dir::{LoadedRun, RunConfig, RunDir};
pub use run_output::{checkpoint_extra, RunOutput};
pub use schedule::{Schedule, ScheduleConfig, ScheduleKind};
pub use skipgram::{train_skipgram, SkipGramConfig};
pub use train_config::{Datasets, TrainConfig};
pub use trainer::{EpochSummary, FitSummary, Observer, Silent, Trainer};
