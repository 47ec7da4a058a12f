//! The run folder, one schema for every task: `config.json` ([`RunConfig`], typed and
//! versioned; [`legacy`] reads folders written before the version), `vocab.txt`,
//! `model.safetensors`, `metrics.jsonl` and `checkpoint/` — written as one unit by
//! [`RunWriter`], loaded by [`RunDir`].

mod commit;
pub(crate) mod config;
mod dir;
pub(crate) mod files;
pub(crate) mod legacy;
mod output;
mod read;

pub use commit::{Entry, FaultPoint, RunWriter, RUN_FILES};
pub use config::{ClassSpec, ClassifierRunConfig, LmRunConfig, RunConfig, TextSpec};
pub use dir::{vocab_bytes, Loaded, RunDir};
pub(crate) use files::safetensors_bound;
pub(crate) use output::read_run_file;
pub use output::{
    CheckpointState, Fingerprint, RunOutput, MAX_CONFIG_BYTES, MAX_METRICS_BYTES, MAX_STATE_BYTES,
    RUN_SCHEMA_VERSION,
};
