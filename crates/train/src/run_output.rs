//! Where a classifier run is written ([`RunOutput`]: the run folder, the caller's files, the
//! commit in flight) and reading a committed checkpoint's state back.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use recur_layers::{Optimizer, ParamStore, Rng};
use recur_tensor::Backend;

use crate::commit::RunWriter;
use crate::params_io::{load_params_bytes, state_from_bytes};
use crate::progress::{Progress, RngState};
use crate::{Result, TrainError};

/// Where a run is written: the folder, and the caller's files that belong with the model
/// (e.g. `config.json`, `vocab.txt`) plus a JSON value kept in the checkpoint (e.g. the
/// command line, to resume with).
pub struct RunOutput {
    pub(crate) writer: Arc<RunWriter>,
    pub(crate) files: Vec<(String, Vec<u8>)>,
    pub(crate) extra: Value,
    /// The folder held another run when this one started.
    pub(crate) replaces: bool,
    /// A commit of this run was written.
    pub(crate) written: bool,
    /// The best model so far was written.
    pub(crate) best_written: bool,
    /// The commit being written to disk while training goes on.
    pub(crate) pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunOutput {
    /// Opens the run folder `dir` for writing (taking its lock, checking it can be
    /// written) with the caller's `files` and `extra`.
    pub fn open(dir: &Path, files: Vec<(String, Vec<u8>)>, extra: Value) -> Result<RunOutput> {
        Ok(Self::with_writer(RunWriter::open(dir)?, files, extra))
    }

    /// [`RunOutput::open`] with a writer opened earlier (to check `--out` before loading
    /// data).
    pub fn with_writer(
        writer: RunWriter,
        files: Vec<(String, Vec<u8>)>,
        extra: Value,
    ) -> RunOutput {
        let replaces = writer.dir().exists();
        RunOutput {
            writer: Arc::new(writer),
            files,
            extra,
            replaces,
            written: false,
            best_written: false,
            pending: None,
        }
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        self.writer.dir()
    }

    /// Waits for the commit in flight, if any, and returns its result.
    pub(crate) fn wait(&mut self) -> Result<bool> {
        match self.pending.take() {
            None => Ok(false),
            Some(h) => h
                .join()
                .map_err(|_| TrainError::Checkpoint("the checkpoint writer panicked".into()))?
                .map(|()| true),
        }
    }
}

impl Drop for RunOutput {
    /// A commit in flight is finished, so that the last checkpoint is whole when the run
    /// ends, whatever way it ends.
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// The `extra` value a checkpoint of the run folder `dir` was saved with.
pub fn checkpoint_extra(dir: &Path) -> Result<Value> {
    Ok(read_state(dir)?.1)
}

/// The classifier loop's progress and `extra` of the checkpoint in `dir`.
pub(crate) fn read_state(dir: &Path) -> Result<(Progress, Value)> {
    read_checkpoint_state(dir)
}

/// The `progress` (of either loop) and `extra` of the checkpoint in `dir`.
pub(crate) fn read_checkpoint_state<P: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<(P, Value)> {
    let path = dir.join("checkpoint/state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        TrainError::Checkpoint(format!(
            "{}: no checkpoint to resume from ({e})",
            path.display()
        ))
    })?;
    #[derive(Deserialize)]
    struct State<P> {
        progress: P,
        extra: Value,
    }
    let s: State<P> = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
    Ok((s.progress, s.extra))
}

/// The bytes of file `rel` of the run folder `dir`, and its path (for messages).
fn read_run_file(dir: &Path, rel: &str) -> Result<(Vec<u8>, std::path::PathBuf)> {
    let p = dir.join(rel);
    std::fs::read(&p)
        .map(|b| (b, p.clone()))
        .map_err(|e| TrainError::io(&p, e))
}

/// What resuming a checkpoint restores besides the loop's own progress.
pub(crate) struct Restored<B: Backend> {
    /// The best model so far (`model.safetensors`), when one was asked for.
    pub best: Option<ParamStore<B>>,
    /// `metrics.jsonl`, one record a line.
    pub metrics: Vec<Value>,
    /// The dropout generator where the checkpoint left it.
    pub rng: Rng,
}

/// Loads the checkpoint of run folder `dir` into `store` and `opt` (parameters, optimizer
/// state) and reads the best model (when `with_best`), the metrics and the generator
/// `dropout_rng` describes: the part of resuming both training loops share.
pub(crate) fn restore_checkpoint<B: Backend>(
    dir: &Path,
    store: &mut ParamStore<B>,
    opt: &mut (dyn Optimizer<B> + Send),
    dropout_rng: &RngState,
    with_best: bool,
) -> Result<Restored<B>> {
    let read = |rel: &str| read_run_file(dir, rel);
    let (bytes, path) = read("checkpoint/params.safetensors")?;
    load_params_bytes(store, &bytes, &path)?;
    let (bytes, path) = read("checkpoint/optimizer.safetensors")?;
    let state = state_from_bytes(store.backend(), &bytes, &path)?;
    opt.import_state(store, state)?;
    let best = if with_best {
        let (bytes, path) = read("model.safetensors")?;
        let mut best = store.clone();
        load_params_bytes(&mut best, &bytes, &path)?;
        Some(best)
    } else {
        None
    };
    let (text, path) = read("metrics.jsonl")?;
    let metrics = String::from_utf8_lossy(&text)
        .lines()
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
    let rng = dropout_rng
        .restore()
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.display())))?;
    Ok(Restored { best, metrics, rng })
}
