//! `recur export --run DIR --onnx FILE`: the run's model as a standard ONNX graph
//! (`recur-onnx`) and its sidecar (`FILE.json`: tokenizer rules, vocabulary, ids, token
//! limit, classes), each written to a temporary name and renamed when whole, so nothing
//! half-written is ever left at the path.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use recur_cpu::Cpu;
use recur_onnx::OnnxError;
use recur_train::{Loaded, RunDir};

use crate::args::ExportArgs;

/// Runs `recur export`.
pub fn export(a: &ExportArgs) -> Result<()> {
    let dir = RunDir::new(&a.run);
    if let (Some(epoch), false) = (dir.unfinished_epoch()?, a.unfinished) {
        bail!(
            "{}: its training is not finished (stopped in epoch {}): resume it first \
             (recur train --resume), or pass --unfinished to export its model as it stands",
            a.run.display(),
            epoch + 1
        );
    }
    let exported = match dir.load(&Cpu)? {
        Loaded::Classifier(p) => recur_onnx::export_classifier(&p),
        Loaded::Lm(g) => recur_onnx::export_lm(&g),
    };
    let exported = match exported {
        Ok(e) => e,
        Err(OnnxError::Unsupported { option, why }) => {
            let flag = crate::flags::flag_of(option).unwrap_or(option);
            bail!("a model trained with {flag} cannot be exported to ONNX: {why}")
        }
        Err(e) => return Err(e.into()),
    };
    let sidecar = recur_onnx::sidecar_path(&a.onnx);
    write_whole(&[
        (&sidecar, &exported.sidecar_json()),
        (&a.onnx, &exported.model),
    ])?;
    println!(
        "wrote {} ({} KB, opset {}) and {}",
        a.onnx.display(),
        exported.model.len().div_ceil(1024),
        exported.sidecar.opset,
        sidecar.display()
    );
    Ok(())
}

/// Writes each `(path, bytes)` to a temporary file beside its path, then renames them all
/// into place: an error (a folder at a path, a missing folder, a full disk) leaves no
/// temporary file, and nothing at a path unless every file was written whole.
fn write_whole(files: &[(&Path, &[u8])]) -> Result<()> {
    for (path, _) in files {
        if path.is_dir() {
            bail!(
                "{} is a folder: give the path of a file to write",
                path.display()
            );
        }
    }
    let tmps: Vec<PathBuf> = files
        .iter()
        .map(|(path, _)| {
            let mut n = path.as_os_str().to_os_string();
            n.push(format!(".tmp-{}", std::process::id()));
            PathBuf::from(n)
        })
        .collect();
    let write = |tmp: &Path, bytes: &[u8]| -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    let cleanup = || tmps.iter().for_each(|t| drop(std::fs::remove_file(t)));
    for ((path, bytes), tmp) in files.iter().zip(&tmps) {
        if let Err(e) = write(tmp, bytes) {
            cleanup();
            return Err(e).with_context(|| format!("writing {}", path.display()));
        }
    }
    for ((path, _), tmp) in files.iter().zip(&tmps) {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup();
            return Err(e).with_context(|| format!("writing {}", path.display()));
        }
    }
    Ok(())
}
