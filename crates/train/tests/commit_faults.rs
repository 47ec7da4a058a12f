//! A run folder commit under faults at every one of its file-system operations: an injected
//! error (a full disk, an I/O error) fails the commit and leaves the previous folder exactly
//! as it was, with no temporaries (after the atomic swap only the parent folder's flush is
//! left to fail, and the new folder stands, whole); a crash (the commit stops there, no cleanup, as
//! with
//! `kill -9`) leaves the previous folder or the new one, whole, never a mix — and the next
//! writer removes what the crash left and commits normally.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use recur_train::{Entry, RunWriter};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-faults-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A run folder's files, `tag` in each (so two versions never share a file's content).
fn files(tag: &str) -> Vec<(String, Entry)> {
    vec![
        (
            "config.json".into(),
            Entry::Bytes(format!("{{\"v\": \"{tag}\"}}").into_bytes()),
        ),
        (
            "vocab.txt".into(),
            Entry::Bytes(format!("{tag}\nthe\n").into_bytes()),
        ),
        (
            "model.safetensors".into(),
            Entry::Bytes(tag.repeat(1000).into_bytes()),
        ),
        (
            "checkpoint/state.json".into(),
            Entry::Bytes(format!("[\"{tag}\"]").into_bytes()),
        ),
        (
            "checkpoint/params.safetensors".into(),
            Entry::SameAs("model.safetensors".into()),
        ),
        (
            "metrics.jsonl".into(),
            Entry::Bytes(format!("{tag}\n").into_bytes()),
        ),
    ]
}

/// Every file under `dir`, by relative path.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Names beside the run folder other than the folder and its lock.
fn leftovers(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| *n != name && *n != format!(".{name}.lock"))
        .collect()
}

/// The expected folder for `tag` (committed in a scratch folder of its own).
fn expected(tag: &str) -> BTreeMap<String, Vec<u8>> {
    static SCRATCH: AtomicUsize = AtomicUsize::new(0);
    let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
    let scratch = tmp(&format!("expected-{tag}-{n}")).join("run");
    RunWriter::open(&scratch)
        .unwrap()
        .commit(&files(tag))
        .unwrap();
    contents(&scratch)
}

/// The file-system operations of one commit over an existing folder, in order.
fn operations(dir: &Path) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut w = RunWriter::open(dir).unwrap();
    w.inject_faults(move |p| {
        log.lock()
            .unwrap()
            .push(format!("{} {}", p.op, p.path.display()));
        Ok(())
    });
    w.commit(&files("probe")).unwrap();
    let ops = seen.lock().unwrap().clone();
    ops
}

#[test]
fn an_injected_error_before_the_swap_leaves_the_previous_folder() {
    let dir = tmp("error").join("run");
    RunWriter::open(&dir)
        .unwrap()
        .commit(&files("old"))
        .unwrap();
    let ops = operations(&dir);
    let n = ops.len();
    assert!(n >= 15, "a commit of six files takes {n} operations");
    // the swap: every operation before it fails the commit with the old folder in place;
    // after it only the flush of the parent folder is left, and the new folder stands
    let swap = ops.iter().position(|o| o.starts_with("exchange")).unwrap();
    RunWriter::open(&dir)
        .unwrap()
        .commit(&files("old"))
        .unwrap();
    let (old, new) = (expected("old"), expected("new"));
    for (fail_at, op) in ops.iter().enumerate() {
        let mut w = RunWriter::open(&dir).unwrap();
        let count = AtomicUsize::new(0);
        w.inject_faults(move |p| {
            if count.fetch_add(1, Ordering::SeqCst) == fail_at {
                return Err(std::io::Error::other(format!("injected at {}", p.op)));
            }
            Ok(())
        });
        let err = w.commit(&files("new")).unwrap_err().to_string();
        assert!(err.contains("injected at"), "operation {fail_at}: {err}");
        let want = if fail_at <= swap { &old } else { &new };
        assert!(
            contents(&dir) == *want,
            "a failed {} changed the folder",
            op
        );
        assert!(
            leftovers(&dir).is_empty(),
            "operation {fail_at} left {:?}",
            leftovers(&dir)
        );
    }
    // and the next commit goes through
    RunWriter::open(&dir)
        .unwrap()
        .commit(&files("new"))
        .unwrap();
    assert!(swap + 1 < n, "{ops:?}");
    assert!(
        contents(&dir) == expected("new"),
        "the next commit did not land"
    );
}

#[test]
fn a_crash_at_any_operation_leaves_one_whole_folder_or_none() {
    let dir = tmp("crash").join("run");
    RunWriter::open(&dir)
        .unwrap()
        .commit(&files("old"))
        .unwrap();
    let n = operations(&dir).len();
    RunWriter::open(&dir)
        .unwrap()
        .commit(&files("old"))
        .unwrap();
    let (old, new) = (expected("old"), expected("new"));
    let mut saw_new = false;
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for crash_at in 0..n {
        let crashed = std::panic::catch_unwind(|| {
            let mut w = RunWriter::open(&dir).unwrap();
            let count = AtomicUsize::new(0);
            w.inject_faults(move |_| {
                if count.fetch_add(1, Ordering::SeqCst) == crash_at {
                    panic!("crash");
                }
                Ok(())
            });
            w.commit(&files("new"))
        });
        assert!(crashed.is_err(), "operation {crash_at} did not crash");
        let now = contents(&dir);
        assert!(
            now == old || now == new,
            "a crash at operation {crash_at} left a mixed folder: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        saw_new |= now == new;
        // the next writer removes what the crash left, and commits
        let w = RunWriter::open(&dir).unwrap();
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        assert!(contents(&dir) == now, "reopening changed the folder");
        w.commit(&files("old")).unwrap();
        assert!(contents(&dir) == old, "the next commit did not land");
    }
    assert!(saw_new, "a crash after the swap keeps the new folder");

    // the first commit of a folder: no folder, or a whole one
    let base = tmp("first");
    let n = operations(&base.join("probe")).len();
    for crash_at in 0..n {
        let dir = base.join(format!("run{crash_at}"));
        let _ = std::panic::catch_unwind(|| {
            let mut w = RunWriter::open(&dir).unwrap();
            let count = AtomicUsize::new(0);
            w.inject_faults(move |_| {
                if count.fetch_add(1, Ordering::SeqCst) == crash_at {
                    panic!("crash");
                }
                Ok(())
            });
            w.commit(&files("new"))
        });
        assert!(
            !dir.exists() || contents(&dir) == new,
            "operation {crash_at}"
        );
    }
    std::panic::set_hook(quiet);
}
