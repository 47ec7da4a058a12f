//! Where a run is written ([`RunOutput`]: the run folder, the caller's files, the commit in
//! flight), the checkpoint's `state.json` ([`CheckpointState`]) and the data
//! [`Fingerprint`] a resume is checked against.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::engine::progress::Progress;
use crate::run::commit::RunWriter;
use crate::run::files::read_bounded;
use crate::{Result, TrainError};

/// The version of the run-folder schema this recur writes (`config.json`'s `version`,
/// `checkpoint/state.json`'s `version`).
pub const RUN_SCHEMA_VERSION: u32 = 1;

/// Where a run is written: the folder, the task's name, and the caller's files that belong
/// with the model (`config.json`, `vocab.txt`), written with the first commit.
pub struct RunOutput {
    pub(crate) writer: Arc<RunWriter>,
    pub(crate) files: Vec<(String, Vec<u8>)>,
    pub(crate) task: &'static str,
    pub(crate) fingerprint: Option<Fingerprint>,
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
    /// written) for a run of task `task` with the caller's `files`.
    pub fn open(dir: &Path, task: &'static str, files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let names: Vec<&str> = files
            .iter()
            .map(|(n, _)| n.split('/').next().unwrap_or(n))
            .collect();
        Ok(Self::with_writer(
            RunWriter::open_with(dir, &names)?,
            task,
            files,
        ))
    }

    /// [`RunOutput::open`] with a writer opened earlier (to check the folder before loading
    /// data).
    pub fn with_writer(
        writer: RunWriter,
        task: &'static str,
        files: Vec<(String, Vec<u8>)>,
    ) -> RunOutput {
        let replaces = writer.dir().exists();
        RunOutput {
            writer: Arc::new(writer),
            files,
            task,
            fingerprint: None,
            replaces,
            written: false,
            best_written: false,
            pending: None,
        }
    }

    /// The same, recording `fingerprint` in every checkpoint: resuming on data with
    /// another fingerprint is refused, saying what changed.
    pub fn with_fingerprint(mut self, fingerprint: Fingerprint) -> RunOutput {
        self.fingerprint = Some(fingerprint);
        self
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        self.writer.dir()
    }

    /// Waits for the commit in flight, if any, and returns whether there was one.
    pub(crate) fn wait(&mut self) -> Result<bool> {
        match self.pending.take() {
            None => Ok(false),
            Some(h) => h
                .join()
                .map_err(|_| TrainError::Invalid("the checkpoint writer panicked".into()))?
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

/// A hash of everything a run trains and evaluates on: one 64-bit FNV-1a digest per part,
/// so a changed part is named (a hash, not a copy of the data).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// `(part, digest)`, e.g. `("the training data", "9f…")`.
    pub parts: Vec<(String, String)>,
}

impl Fingerprint {
    /// Adds part `name` hashed from `words` (token ids, labels, …) in order.
    pub fn add(&mut self, name: &str, words: impl IntoIterator<Item = u64>) {
        let mut h = Fnv::new();
        for w in words {
            h.word(w);
        }
        self.parts.push((name.to_string(), format!("{:016x}", h.0)));
    }

    /// A fingerprint of one part: `bytes` under `name`.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> Fingerprint {
        let mut f = Fingerprint::default();
        f.add(
            name,
            bytes.chunks(8).map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w) ^ ((c.len() as u64) << 56)
            }),
        );
        f
    }

    /// What differs between `self` (the run's) and `now` (the data given to the resume),
    /// named by part; `None` when nothing does.
    pub fn differs(&self, now: &Fingerprint) -> Option<String> {
        let changed: Vec<&str> = self
            .parts
            .iter()
            .filter(|(name, digest)| {
                now.parts
                    .iter()
                    .find(|(n, _)| n == name)
                    .is_none_or(|(_, d)| d != digest)
            })
            .map(|(name, _)| name.as_str())
            .chain(
                now.parts
                    .iter()
                    .filter(|(n, _)| !self.parts.iter().any(|(m, _)| m == n))
                    .map(|(n, _)| n.as_str()),
            )
            .collect();
        (!changed.is_empty()).then(|| changed.join(" and "))
    }
}

/// 64-bit FNV-1a over little-endian words.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn word(&mut self, w: u64) {
        for b in w.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// `checkpoint/state.json`: what a resumed run continues from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "T: DeserializeOwned"))]
pub struct CheckpointState<T> {
    /// The run-folder schema version.
    pub version: u32,
    /// The task (`classify`, `lm`, …).
    pub task: String,
    /// The data the run was started on.
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
    /// The run's own files beside the checkpoint (`config.json`, `vocab.txt`) as committed:
    /// a file edited or swapped since is named on resume.
    #[serde(default)]
    pub files: Fingerprint,
    /// Where the loop is.
    pub progress: Progress<T>,
}

impl<T> CheckpointState<T> {
    /// Refuses a resume when a file of `files` in `dir` differs from what was committed.
    pub fn check_files(&self, dir: &Path) -> Result<()> {
        for (name, digest) in &self.files.parts {
            let path = dir.join(name);
            let bytes = read_bounded(&path, MAX_METRICS_BYTES)?;
            if Fingerprint::of_bytes(name, &bytes).parts[0].1 != *digest {
                return Err(TrainError::run_folder(
                    path,
                    "changed since the checkpoint was written (edited, or another run's file): \
                     the run cannot be resumed with it",
                ));
            }
        }
        Ok(())
    }
}

impl<T: DeserializeOwned> CheckpointState<T> {
    /// Reads `dir/checkpoint/state.json`; a checkpoint of an earlier schema is refused with
    /// what can still be done with the run.
    pub fn read(dir: &Path) -> Result<Self> {
        let (bytes, path) = read_run_file(dir, "checkpoint/state.json", MAX_STATE_BYTES)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| TrainError::run_folder(&path, format!("not valid JSON: {e}")))?;
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(RUN_SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(TrainError::run_folder(
                    &path,
                    format!(
                        "checkpoint schema version {v}; this recur reads version \
                         {RUN_SCHEMA_VERSION}"
                    ),
                ))
            }
            None => {
                return Err(TrainError::run_folder(
                    &path,
                    "a checkpoint written by an earlier recur (before run-folder schema version \
                     1): the run's model can still be evaluated, predicted with and served, but \
                     its training cannot be resumed; start a new run",
                ))
            }
        }
        serde_json::from_value(value)
            .map_err(|e| TrainError::run_folder(&path, format!("not a checkpoint state: {e}")))
    }
}

/// The most bytes `config.json` may have.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The most bytes `checkpoint/state.json` may have.
pub const MAX_STATE_BYTES: u64 = 16 << 20;
/// The most bytes `metrics.jsonl` may have.
pub const MAX_METRICS_BYTES: u64 = 1 << 30;

/// The bytes of file `rel` of the run folder `dir` (at most `max`), and its path.
pub(crate) fn read_run_file(dir: &Path, rel: &str, max: u64) -> Result<(Vec<u8>, PathBuf)> {
    let p = dir.join(rel);
    read_bounded(&p, max).map(|b| (b, p))
}
