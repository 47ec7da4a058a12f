//! The architecture invariants, checked on the source tree (rust-analyzer's "tidy" tests):
//! crates depend downward only; only data, train (run folders), serve (its socket), cli,
//! xtask and the test helpers open files or sockets; every source file opens with its `//!`
//! line; library code has no `unwrap`/`expect` outside its tests; no line is wider than
//! rustfmt's 100 columns (macros rustfmt skips included); a source file over 400 lines says
//! in its `//!` header why it stays one file.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The workspace's crates: (folder, package name, layer). A crate may depend only on crates
/// of a lower layer.
const CRATES: [(&str, &str, u8); 15] = [
    ("crates/tensor", "recur-tensor", 0),
    ("crates/data", "recur-data", 0),
    ("crates/cpu", "recur-cpu", 1),
    ("crates/cuda", "recur-cuda", 1),
    ("crates/autograd", "recur-autograd", 1),
    ("crates/testkit", "recur-testkit", 1),
    ("crates/packed", "recur-packed", 2),
    ("crates/layers", "recur-layers", 3),
    ("crates/train", "recur-train", 4),
    ("crates/serve", "recur-serve", 5),
    ("crates/onnx", "recur-onnx", 5),
    ("crates/recur", "recur", 6),
    ("crates/cli", "recur-cli", 7),
    ("benches", "recur-benches", 8),
    ("xtask", "xtask", 8),
];

/// The workspace crates named in the `[dependencies]` table of `manifest` (not dev).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some(name) = t.split(['.', ' ', '=']).next() {
                if CRATES.iter().any(|(_, n, _)| *n == name) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn crates_depend_downward_only() {
    let mut bad = Vec::new();
    for (dir, name, layer) in CRATES {
        let manifest = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap();
        for dep in dependencies(&manifest) {
            let (_, _, dep_layer) = CRATES.iter().find(|(_, n, _)| *n == dep).unwrap();
            if *dep_layer >= layer {
                bad.push(format!(
                    "{name} (layer {layer}) depends on {dep} (layer {dep_layer})"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "upward dependencies:\n{}", bad.join("\n"));
}

/// The library source of each crate (`src/`), with the crates that may use files and sockets.
fn library_sources() -> Vec<(&'static str, PathBuf)> {
    CRATES
        .iter()
        .filter(|(dir, _, _)| *dir != "xtask" && *dir != "benches")
        .flat_map(|(dir, name, _)| {
            rust_files(&root().join(dir).join("src"))
                .into_iter()
                .map(move |p| (*name, p))
        })
        .collect()
}

/// The lines of `text` before its first `#[cfg(test)]`, without doc comments (whose
/// examples may unwrap).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

#[test]
fn only_the_io_crates_touch_files_and_sockets() {
    const IO: [&str; 5] = [
        "recur-data",
        "recur-train",
        "recur-serve",
        "recur-cli",
        "recur-testkit",
    ];
    const PATTERNS: [&str; 7] = [
        "std::fs",
        "std::net",
        "File::",
        "TcpListener",
        "TcpStream",
        "UdpSocket",
        "tokio::net",
    ];
    let mut bad = Vec::new();
    for (name, path) in library_sources() {
        if IO.contains(&name) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in code_lines(&text) {
            if let Some(p) = PATTERNS.iter().find(|p| line.contains(*p)) {
                bad.push(format!("{}:{}: {p}", path.display(), i + 1));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "file or network access outside the I/O crates:\n{}",
        bad.join("\n")
    );
}

#[test]
fn library_code_does_not_unwrap() {
    let mut bad = Vec::new();
    for (name, path) in library_sources() {
        if name == "recur-testkit" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in code_lines(&text) {
            if line.contains(".unwrap()") || line.contains(".expect(") {
                bad.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unwrap/expect in library code:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_source_file_says_what_it_is_and_fits_the_width() {
    let mut undocumented = Vec::new();
    let mut wide = Vec::new();
    for dir in ["crates", "xtask", "benches"] {
        for path in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&path).unwrap();
            let in_src = path.components().any(|c| c.as_os_str() == "src");
            if in_src && !text.starts_with("//!") {
                undocumented.push(path.display().to_string());
            }
            for (i, line) in text.lines().enumerate() {
                if line.chars().count() > 100 {
                    wide.push(format!("{}:{}", path.display(), i + 1));
                }
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "no //! line:\n{}",
        undocumented.join("\n")
    );
    assert!(
        wide.is_empty(),
        "{} lines wider than 100 columns:\n{}",
        wide.len(),
        wide.join("\n")
    );
}

/// Lines above which a `src/` file is split, or says in its header why it "stays one file
/// because" of something.
const LONG_FILE: usize = 400;

#[test]
fn long_source_files_say_why_they_stay_one_file() {
    let mut unexplained = Vec::new();
    for dir in ["crates", "xtask"] {
        for path in rust_files(&root().join(dir)) {
            if !path.components().any(|c| c.as_os_str() == "src") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text.lines().count();
            let header: String = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| l.trim_start_matches("//!"))
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if lines > LONG_FILE && !header.contains("stays one file because") {
                unexplained.push(format!("{} ({lines} lines)", path.display()));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "files over {LONG_FILE} lines that neither split nor say why they stay one file:\n{}",
        unexplained.join("\n")
    );
}
