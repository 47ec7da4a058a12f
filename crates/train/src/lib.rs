//! The training engine of recur as a library: one loop for every task, one run-folder
//! schema, one inference path.
//!
//! [`Trainer`] trains any [`Task`] — [`Classify`] (a [`Model`] over padded batches of
//! encoded texts → class logits) and [`LanguageModeling`] (PyTorch's word_language_model)
//! ship — with an optimizer from `recur-layers`, a learning-rate [`Schedule`], optional
//! clipping, evaluation after every epoch, the best model by the task's validation result,
//! early stopping, and checkpoints: the run folder (`config.json`, `vocab.txt`,
//! `model.safetensors`, `metrics.jsonl` of typed [`Record`]s, `checkpoint/`) is committed as
//! one unit ([`RunWriter`]) at every epoch end, every `save_every` steps and when the
//! [`Observer`] asks to stop, and [`Trainer::resume`] continues a run bit-identically. A
//! whole run from files — data, model, initialisation, training — is a recipe
//! ([`ClassifyRecipe`], [`LmRecipe`]) whose typed settings `config.json` keeps
//! ([`RunConfig`]). A run folder loads as a [`Predictor`] (classifiers) or a [`Generator`]
//! (language models), which encode text exactly as training did.
//!
//! ```
//! use recur_cpu::Cpu;
//! use recur_data::Encoded;
//! use recur_layers::{rng, Adam, Classifier, ClassifierConfig, ParamStore};
//! use recur_tensor::DType;
//! use recur_train::{evaluate, Classify, ClassifyConfig, Datasets, Silent, TrainConfig, Trainer};
//!
//! // class = whether token 1 or token 2 is in the sequence
//! let mut data = Encoded::default();
//! for i in 0..200 {
//!     data.ids.push(vec![3 + i % 5, 1 + i % 2, 3 + i % 7]);
//!     data.labels.push(i % 2);
//! }
//! let mut store = ParamStore::new(&Cpu, DType::F32);
//! let model = Classifier::new(&mut store, ClassifierConfig::new(10, 2), &mut rng(0))?;
//! let task = Classify::new(&model, Datasets::new(data.clone()), ClassifyConfig::new(16));
//! let adam = Box::new(Adam::with_lr(0.02));
//! let mut trainer = Trainer::new(TrainConfig::epochs(5), task, store, adam, rng(1));
//! trainer.fit(&mut Silent)?;
//! let accuracy = evaluate(&model, trainer.store(), &data, 64)?.scores.accuracy();
//! assert!(accuracy > 0.9, "{accuracy}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod classify;
mod engine;
mod error;
mod infer;
mod lm;
mod optimizer;
mod params_io;
mod run;
mod schedule;
mod skipgram;
mod training;

pub use classify::autotune::{
    search_in_progress, search_of_run, AutotuneConfig, AutotuneReport, Choices, SearchObserver,
    TrialRecord,
};
pub use classify::bag_share::{choose_bag_share, choose_bag_share_folds, BAG_SHARES};
pub use classify::data::{load as load_classify_data, read_examples, ClassifyData};
pub use classify::eval::{argmax_rows, evaluate, evaluate_folds, predict_logits};
pub use classify::init::copy_encoder;
pub use classify::members::{member_seed, ClassifyBatch, MemberFolds};
pub use classify::model::Model;
pub use classify::preset::{STRONG_ADVERSARIAL, STRONG_BAG_BUCKETS, STRONG_CHAR_BUCKETS};
pub use classify::recipe::{ClassifyRecipe, ClassifyRun};
pub use classify::records::{
    ClassifyEpoch, ClassifyEval, ClassifyRecords, ClassifyReport, ClassifyTally,
};
pub use classify::scores::{Evaluation, Metric, Scores};
pub use classify::sizing::{
    Sized, LOSS_JUDGES_FROM, MEMBER_ROWS, MIN_FREQ_2_FROM, MIN_FREQ_3_FROM, STRONG_MEMBERS,
};
pub use classify::task::{Classify, ClassifyConfig, Datasets};
pub use engine::config::TrainConfig;
pub use engine::observer::{Ending, FitSummary, Notice, Observer, Silent};
pub use engine::printing::Printing;
pub use engine::progress::{Best, EpochStats, Finished, Progress, RngState};
pub use engine::records::{
    records_from_jsonl, records_to_jsonl, EarlyStop, EpochRecord, Interrupted, Record, Records,
    Report,
};
pub use engine::task::{Batches, Evaluated, Judged, ReportUnit, Stepped, Task};
pub use engine::Trainer;
pub use error::{Result, TrainError};
pub use infer::generator::{Generator, Perplexity, Prompt};
pub use infer::predictor::{Prediction, Predictor};
pub use lm::generate::{generate, Sampling};
pub use lm::recipe::{LmRecipe, LmRun};
pub use lm::task::{lm_loss, LanguageModeling, LmEpoch, LmEval, LmRecords, LmReport, Window};
pub use optimizer::OptimizerConfig;
pub use params_io::{
    is_int8, load_params, load_params_bytes, load_params_bytes_with, params_to_bytes,
    params_to_bytes_int8, save_params, state_from_bytes, state_to_bytes, LoadReport, ParamsFile,
    QUANTIZED,
};
pub use run::files::{check_file_shapes, file_shapes, read_bounded};
pub use run::{
    vocab_bytes, CheckpointState, ClassSpec, ClassifierRunConfig, Entry, FaultPoint, Fingerprint,
    LmRunConfig, Loaded, RunConfig, RunDir, RunOutput, RunWriter, TextSpec, MAX_CONFIG_BYTES,
    MAX_METRICS_BYTES, MAX_STATE_BYTES, RUN_FILES, RUN_SCHEMA_VERSION,
};
pub use schedule::{Schedule, ScheduleConfig, ScheduleKind};
pub use skipgram::{train_skipgram, SkipGramConfig};
pub use training::{
    ClassesFrom, ClassifyFiles, ClassifyTraining, Device, EmbeddingInit, LmFiles, LmTraining,
    SizeRule, VocabPlan,
};
