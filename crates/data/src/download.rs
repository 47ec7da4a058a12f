//! Fetching AG News: from the canonical URLs (or a local folder with `--from`), checked by
//! MD5 and line count, written atomically (temp file + rename), with a progress bar.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};

use crate::{DataError, Result};

/// Where torchtext's `AG_NEWS` takes the CSV files from.
pub const AG_NEWS_BASE_URL: &str =
    "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv";

/// A file to fetch and how to recognise a good copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name in the destination folder.
    pub name: String,
    /// Where to download it from.
    pub url: String,
    /// Expected MD5, lowercase hex.
    pub md5: String,
    /// Expected number of lines (newline bytes).
    pub lines: u64,
}

/// AG News `train.csv` and `test.csv` under `base_url` (normally [`AG_NEWS_BASE_URL`]).
pub fn ag_news_files(base_url: &str) -> Vec<RemoteFile> {
    let f = |name: &str, md5: &str, lines| RemoteFile {
        name: name.into(),
        url: format!("{}/{name}", base_url.trim_end_matches('/')),
        md5: md5.into(),
        lines,
    };
    vec![
        f("train.csv", "b1a00f826fdfbd249f79597b59e1dc12", 120_000),
        f("test.csv", "d52ea96a97a2d943681189a97654912d", 7_600),
    ]
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A valid copy was already there.
    AlreadyValid,
    /// Downloaded from its URL.
    Downloaded,
    /// Copied from the `--from` folder.
    Copied,
}

/// MD5 (hex) and newline count of a stream, feeding `progress` with byte counts.
fn digest(
    mut reader: impl Read,
    mut sink: Option<&mut File>,
    progress: &ProgressBar,
    path: &Path,
) -> Result<(String, u64)> {
    let mut hasher = Md5::new();
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if let Some(f) = sink.as_deref_mut() {
            f.write_all(chunk).map_err(|e| DataError::io(path, e))?;
        }
        progress.inc(n as u64);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, lines))
}

/// `Ok(None)` when `path` is a valid copy of `file`, `Ok(Some(why))` when it is not.
pub fn check_file(path: &Path, file: &RemoteFile) -> Result<Option<String>> {
    let f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let (md5, lines) = digest(BufReader::new(f), None, &ProgressBar::hidden(), path)?;
    Ok(verdict(&file.name, &md5, lines, file))
}

fn verdict(what: &str, md5: &str, lines: u64, file: &RemoteFile) -> Option<String> {
    if md5 != file.md5 {
        Some(format!(
            "{what}: md5 {md5} does not match the expected {} for {}",
            file.md5, file.name
        ))
    } else if lines != file.lines {
        Some(format!(
            "{what}: {lines} lines, expected {} for {}",
            file.lines, file.name
        ))
    } else {
        None
    }
}

fn bar(len: Option<u64>, name: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(name.to_string());
    pb
}

/// Streams `reader` into `dest/name` through a temp file; keeps it only if it checks out.
fn install(
    reader: impl Read,
    len: Option<u64>,
    dest: &Path,
    file: &RemoteFile,
    source: &str,
    show: bool,
) -> Result<()> {
    let target = dest.join(&file.name);
    let tmp: PathBuf = dest.join(format!(".{}.part", file.name));
    let mut out = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let pb = bar(len, &file.name, show);
    let result = digest(reader, Some(&mut out), &pb, &tmp);
    pb.finish_and_clear();
    let (md5, lines) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Some(why) = verdict(source, &md5, lines, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(DataError::Download(format!("refusing {why}")));
    }
    out.sync_all().map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, &target).map_err(|e| DataError::io(&target, e))
}

/// Makes `dest` hold valid copies of `files`: skips those already valid, copies from
/// `from` when given, else downloads. Returns what happened to each.
pub fn fetch(
    files: &[RemoteFile],
    dest: &Path,
    from: Option<&Path>,
    show_progress: bool,
) -> Result<Vec<(String, Outcome)>> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let mut outcomes = Vec::new();
    for file in files {
        let target = dest.join(&file.name);
        if target.is_file() && check_file(&target, file)?.is_none() {
            outcomes.push((file.name.clone(), Outcome::AlreadyValid));
            continue;
        }
        match from {
            Some(dir) => {
                let src = dir.join(&file.name);
                let f = File::open(&src).map_err(|e| DataError::io(&src, e))?;
                let len = f.metadata().ok().map(|m| m.len());
                install(
                    BufReader::new(f),
                    len,
                    dest,
                    file,
                    &src.display().to_string(),
                    show_progress,
                )?;
                outcomes.push((file.name.clone(), Outcome::Copied));
            }
            None => {
                let resp = ureq::get(&file.url).call().map_err(|e| {
                    DataError::Download(format!(
                        "could not download {}: {e}\nwithout internet access, copy train.csv and \
                            test.csv from a machine that has them and install them from that \
                            folder",
                        file.url
                    ))
                })?;
                let len = resp.header("Content-Length").and_then(|v| v.parse().ok());
                install(
                    resp.into_reader(),
                    len,
                    dest,
                    file,
                    &file.url,
                    show_progress,
                )?;
                outcomes.push((file.name.clone(), Outcome::Downloaded));
            }
        }
    }
    Ok(outcomes)
}
