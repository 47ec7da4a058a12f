//! A run folder committed as one unit: every file is written into a fresh temporary folder
//! beside it and flushed to disk (files and folders), then the two folders are swapped in
//! one atomic `renameat2(RENAME_EXCHANGE)` and the old one is removed. A crash at any
//! instant leaves the previous folder whole or the new one whole, never a mix; a lock file
//! refuses a second writer; temporaries left by a crash are removed by the next writer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::{Result, TrainError};

/// The content of one file of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// New bytes.
    Bytes(Vec<u8>),
    /// The file as the committed folder has it (hard-linked, never rewritten: committed
    /// files are never modified in place).
    Keep,
    /// The same file as an earlier entry of this commit (hard-linked), by its path.
    SameAs(String),
}

/// One file-system operation of a commit, as a fault injector sees it
/// ([`RunWriter::inject_faults`]).
#[derive(Clone, Copy, Debug)]
pub struct FaultPoint<'a> {
    /// `mkdir`, `create`, `write`, `fsync`, `link`, `rename` or `exchange`.
    pub op: &'static str,
    /// The path it acts on.
    pub path: &'a Path,
}

type Injector = Arc<dyn Fn(&FaultPoint<'_>) -> std::io::Result<()> + Send + Sync>;

/// The one writer of a run folder (holds its lock while alive).
pub struct RunWriter {
    dir: PathBuf,
    parent: PathBuf,
    name: String,
    _lock: File,
    commits: AtomicU64,
    inject: Option<Injector>,
}

impl std::fmt::Debug for RunWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunWriter")
            .field("dir", &self.dir)
            .field("commits", &self.commits)
            .finish_non_exhaustive()
    }
}

/// Atomically swaps two existing paths; `Ok(false)` when the file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| TrainError::Invalid(format!("{} contains a NUL byte", p.display())))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(TrainError::io(b, err)),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> Result<bool> {
    Ok(false)
}

/// Takes an exclusive, non-blocking lock on `file`; `Ok(false)` when another holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// The files and folders of a run folder: the only names a folder may hold for a run to
/// be written into it (a commit replaces the whole folder).
pub const RUN_FILES: [&str; 8] = [
    "config.json",
    "vocab.txt",
    "model.safetensors",
    "metrics.jsonl",
    "checkpoint",
    "curves.png",
    "curves.svg",
    "autotune.json",
];

/// Refuses a path that a run must not be written to: something that is not a folder, a
/// symbolic link, or a folder holding anything but a run's files (`RUN_FILES` and
/// `extra`), which a commit would delete.
fn check_target(dir: &Path, extra: &[&str]) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(TrainError::run_folder(
            dir,
            "is a symbolic link: name the run folder itself",
        ));
    }
    if !meta.is_dir() {
        return Err(TrainError::run_folder(
            dir,
            "exists and is not a folder: write the run elsewhere",
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    let mut foreign = Vec::new();
    for e in entries {
        let e = e.map_err(|e| TrainError::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !RUN_FILES.contains(&name.as_str()) && !extra.contains(&name.as_str()) {
            foreign.push(name);
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
    Err(TrainError::run_folder(
        dir,
        format!(
            "holds files that are not a recur run's ({}{}): a run is written only into a new \
             path, an empty folder or a run folder, since each commit replaces the folder whole",
            shown.join(", "),
            if foreign.len() > 5 { ", …" } else { "" }
        ),
    ))
}

impl RunWriter {
    /// Takes the lock of the run folder `dir` (`.<name>.lock` beside it), removes the
    /// temporaries a crashed writer left, and checks that the folder can be written — all
    /// before any training, so that a bad output folder fails at once. `dir` must be a new
    /// path, an empty folder or a run folder (see [`RUN_FILES`]).
    pub fn open(dir: &Path) -> Result<RunWriter> {
        Self::open_with(dir, &[])
    }

    /// [`RunWriter::open`] for a run that also keeps the files named `extra` (a caller's
    /// own files written with each commit).
    pub fn open_with(dir: &Path, extra: &[&str]) -> Result<RunWriter> {
        check_target(dir, extra)?;
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| *n != "." && *n != "..")
            .ok_or_else(|| {
                TrainError::Invalid(format!("{} does not name a folder to write", dir.display()))
            })?
            .to_string();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| TrainError::io(&parent, e))?;
        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| TrainError::io(&lock_path, e))?;
        if !try_lock(&lock).map_err(|e| TrainError::io(&lock_path, e))? {
            return Err(TrainError::Locked {
                dir: dir.to_path_buf(),
                lock: lock_path,
            });
        }
        // a crash between the two renames of the fallback swap left the previous folder
        // aside: put it back; every other temporary is an incomplete commit
        let (stale, aside) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                // only folders named as this writer names its temporaries
                // (`.<name>.tmp-<pid>-<n>`) are its own
                let ours = |prefix: &str| {
                    n.strip_prefix(prefix).is_some_and(|rest| {
                        rest.split('-').count() == 2
                            && rest
                                .split('-')
                                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                    }) && e.file_type().is_ok_and(|t| t.is_dir())
                };
                if ours(&aside) && !dir.exists() {
                    let _ = std::fs::rename(e.path(), dir);
                } else if ours(&stale) || ours(&aside) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let writer = RunWriter {
            dir: dir.to_path_buf(),
            parent,
            name,
            _lock: lock,
            commits: AtomicU64::new(0),
            inject: None,
        };
        let probe = writer.temp_path();
        std::fs::create_dir(&probe).map_err(|e| TrainError::io(&probe, e))?;
        let _ = std::fs::remove_dir(&probe);
        Ok(writer)
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Calls `injector` before every file-system operation of a commit, for fault tests: an
    /// error it returns fails that operation as the OS would (the commit then fails and
    /// leaves the previous folder as it was); a panic stops the commit right there, with no
    /// cleanup, as a crash or `kill -9` would.
    pub fn inject_faults(
        &mut self,
        injector: impl Fn(&FaultPoint<'_>) -> std::io::Result<()> + Send + Sync + 'static,
    ) {
        self.inject = Some(Arc::new(injector));
    }

    /// Runs the file-system operation `f` on `path`, after the fault injector.
    fn io<T>(
        &self,
        op: &'static str,
        path: &Path,
        f: impl FnOnce() -> std::io::Result<T>,
    ) -> Result<T> {
        if let Some(inject) = &self.inject {
            inject(&FaultPoint { op, path }).map_err(|e| TrainError::io(path, e))?;
        }
        f().map_err(|e| TrainError::io(path, e))
    }

    fn fsync_dir(&self, path: &Path) -> Result<()> {
        self.io("fsync", path, || File::open(path)?.sync_all())
    }

    /// Hard-links `from` as `to`, or copies it (flushed) where links are not possible.
    fn link_or_copy(&self, from: &Path, to: &Path) -> Result<()> {
        self.io("link", to, || {
            if std::fs::hard_link(from, to).is_err() {
                std::fs::copy(from, to)?;
                File::open(to)?.sync_all()?;
            }
            Ok(())
        })
    }

    fn temp_path(&self) -> PathBuf {
        self.sibling("tmp")
    }

    /// `.<name>.<kind>-<pid>-<n>` beside the folder.
    fn sibling(&self, kind: &str) -> PathBuf {
        let n = self.commits.fetch_add(1, Ordering::Relaxed);
        self.parent
            .join(format!(".{}.{kind}-{}-{n}", self.name, std::process::id()))
    }

    /// Replaces the run folder by exactly `files` (paths relative to it, `/`-separated,
    /// with at most one folder level), all or nothing.
    pub fn commit(&self, files: &[(String, Entry)]) -> Result<()> {
        let tmp = self.temp_path();
        let result = self
            .write_all(&tmp, files)
            .and_then(|()| self.swap_in(&tmp));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    fn write_all(&self, tmp: &Path, files: &[(String, Entry)]) -> Result<()> {
        self.io("mkdir", tmp, || std::fs::create_dir(tmp))?;
        let mut dirs = vec![tmp.to_path_buf()];
        for (rel, entry) in files {
            let path = tmp.join(rel);
            if let Some(sub) = path.parent().filter(|p| *p != tmp) {
                if !sub.exists() {
                    self.io("mkdir", sub, || std::fs::create_dir_all(sub))?;
                    dirs.push(sub.to_path_buf());
                }
            }
            match entry {
                Entry::Bytes(bytes) => {
                    let mut f = self.io("create", &path, || File::create(&path))?;
                    self.io("write", &path, || std::io::Write::write_all(&mut f, bytes))?;
                    self.io("fsync", &path, || f.sync_all())?;
                }
                Entry::Keep => self.link_or_copy(&self.dir.join(rel), &path)?,
                Entry::SameAs(other) => self.link_or_copy(&tmp.join(other), &path)?,
            }
        }
        for d in dirs.iter().rev() {
            self.fsync_dir(d)?;
        }
        Ok(())
    }

    fn swap_in(&self, tmp: &Path) -> Result<()> {
        if !self.dir.exists() {
            self.io("rename", &self.dir, || std::fs::rename(tmp, &self.dir))?;
        } else if self
            .io("exchange", &self.dir, || Ok(()))
            .and_then(|()| exchange(tmp, &self.dir))?
        {
            // tmp now holds the previous folder; a failure to remove it leaves a stale
            // temporary that the next writer removes, never a wrong folder
            let _ = std::fs::remove_dir_all(tmp);
        } else {
            // no atomic exchange here: move the old folder aside first, so that a crash
            // in between leaves it complete under the temporary name
            let old = self.sibling("old");
            self.io("rename", &self.dir, || std::fs::rename(&self.dir, &old))?;
            self.io("rename", &self.dir, || std::fs::rename(tmp, &self.dir))?;
            let _ = std::fs::remove_dir_all(&old);
        }
        self.fsync_dir(&self.parent)
    }
}
