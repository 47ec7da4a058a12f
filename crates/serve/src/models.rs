//! The models a server holds ([`Slot`]): each a name, its run folder, the run loaded from it
//! now (swapped whole on reload, so a request runs on one version from encoding to
//! answer), its own batching queue, and what its last reload did. A reload reads the
//! folder while no commit swaps it (a training run re-commits its folder whole), and a
//! reload that fails keeps the model serving and says why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use recur_cpu::Cpu;
use recur_train::{Predictor, RunDir};
use serde_json::{json, Value};

use crate::batcher::Queue;

/// A model to serve: its name in routes (`/models/NAME/predict`), its run folder and the
/// run loaded from it.
pub struct Served {
    /// Letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// The run folder (reloaded from here).
    pub path: PathBuf,
    /// The run as loaded.
    pub run: Predictor<Cpu>,
}

/// Whether `name` can stand in a route.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name != "."
        && name != ".."
}

/// Which commit of a run folder is there: the folder's identity (a commit swaps in a new
/// folder) and its config's modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    dev: u64,
    ino: u64,
    modified: Option<SystemTime>,
}

impl Commit {
    /// The commit at `path` now (`None`: no folder there, e.g. between a swap's renames).
    pub fn of(path: &Path) -> Option<Commit> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = std::fs::metadata(path.join("config.json"))
            .and_then(|m| m.modified())
            .ok();
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, meta.len());
        Some(Commit { dev, ino, modified })
    }
}

/// What a slot's reloads did.
#[derive(Clone, Debug)]
struct Status {
    /// The commit serving now.
    commit: Option<Commit>,
    /// Reloads done (0: as started).
    version: u64,
    /// When the serving version was loaded (seconds since the epoch).
    loaded_at: f64,
    /// Why the last reload failed (cleared by a good one).
    error: Option<String>,
}

/// One model of a server.
pub struct Slot {
    /// Its name.
    pub name: String,
    /// Its run folder.
    pub path: PathBuf,
    current: RwLock<Arc<Predictor<Cpu>>>,
    status: Mutex<Status>,
    /// Into its inference thread.
    pub queue: Queue,
    /// Serialises reloads of this slot.
    reloading: Mutex<()>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// How often a reload retries when a commit swapped the folder while it was read.
const RETRIES: usize = 5;

impl Slot {
    /// A slot serving `served` through `queue`.
    pub fn new(served: Served, queue: Queue) -> Slot {
        let commit = Commit::of(&served.path);
        Slot {
            name: served.name,
            path: served.path,
            current: RwLock::new(Arc::new(served.run)),
            status: Mutex::new(Status {
                commit,
                version: 0,
                loaded_at: now(),
                error: None,
            }),
            queue,
            reloading: Mutex::new(()),
        }
    }

    /// The version serving now (a request keeps it from encoding to answer).
    pub fn current(&self) -> Arc<Predictor<Cpu>> {
        match self.current.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether the folder holds a commit other than the one serving.
    pub fn changed(&self) -> bool {
        let now = Commit::of(&self.path);
        let status = self.status.lock().map(|s| s.commit).unwrap_or(None);
        now.is_some() && now != status
    }

    /// Loads the folder again and serves it (requests already queued finish on the version
    /// they were encoded for). On failure the serving version stays, and the error is kept
    /// for `/models` and returned. Blocks while it loads.
    pub fn reload(&self) -> Result<u64, String> {
        let _one = self
            .reloading
            .lock()
            .map_err(|_| "a reload failed".to_string())?;
        let mut last = String::new();
        for _ in 0..RETRIES {
            let before = Commit::of(&self.path);
            let loaded = RunDir::new(&self.path).load_classifier(&Cpu);
            let after = Commit::of(&self.path);
            match loaded {
                // a commit swapped the folder while it was read: read it again
                Ok(_) | Err(_) if before != after => {
                    last = "the run folder changed while it was read".into();
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(run) => {
                    let version = {
                        let mut s = self.status.lock().map_err(|_| "status lock".to_string())?;
                        s.commit = after;
                        s.version += 1;
                        s.loaded_at = now();
                        s.error = None;
                        s.version
                    };
                    match self.current.write() {
                        Ok(mut p) => *p = Arc::new(run),
                        Err(poisoned) => *poisoned.into_inner() = Arc::new(run),
                    }
                    return Ok(version);
                }
                Err(e) => {
                    last = e.to_string();
                    // the broken commit is remembered, so it is not retried until it changes
                    if let Ok(mut s) = self.status.lock() {
                        s.commit = after;
                    }
                    break;
                }
            }
        }
        if let Ok(mut s) = self.status.lock() {
            s.error = Some(last.clone());
        }
        Err(last)
    }

    /// What `GET /models` says of it.
    pub fn describe(&self) -> Value {
        let run = self.current();
        let s = self.status.lock().map(|s| s.clone()).ok();
        json!({
            "name": self.name,
            "run": self.path.display().to_string(),
            "classes": run.class_names(),
            "model": run.config().model,
            "version": s.as_ref().map(|s| s.version),
            "loaded_at": s.as_ref().map(|s| s.loaded_at),
            "last_reload_error": s.and_then(|s| s.error),
        })
    }
}
