//! `cargo xtask fuzz --cases N`: the fuzz targets (property tests named `fuzz_*`: the
//! CSV/TSV/JSONL/fastText readers, vocabulary files, `config.json`, safetensors parameters
//! and optimizer state, the text path of predict/serve) run with N cases each, in release
//! mode, under a 2 GiB address-space limit (`ulimit -v`); prints the time each test binary
//! took. A panic fails the run, and so does an abort (an allocation the limit refused, or
//! any other signal).

use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Result};
use clap::Args;

/// The address-space limit the targets run under, KiB (2 GiB).
const MEMORY_LIMIT_KIB: u64 = 2 << 20;

/// Arguments of `xtask fuzz`.
#[derive(Args)]
pub struct FuzzArgs {
    /// Cases per target.
    #[arg(long, default_value_t = 10_000)]
    pub cases: u64,
}

/// Runs `xtask fuzz`.
pub fn run(a: &FuzzArgs) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (package, test) in [("recur-data", "formats"), ("recur-train", "fuzz")] {
        let target = ["--release", "-p", package, "--test", test];
        // built without the limit (the compiler needs more), then run under it
        let built = Command::new(&cargo)
            .args(["test", "--no-run"])
            .args(target)
            .current_dir(crate::root())
            .status()?;
        ensure!(
            built.success(),
            "{package} {test}: building the fuzz targets failed"
        );
        let t0 = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
            ))
            .arg(&cargo)
            .arg("test")
            .args(target)
            .args(["fuzz_", "--", "--test-threads", "2"])
            .env("RECUR_FUZZ_CASES", a.cases.to_string())
            .current_dir(crate::root())
            .status()?;
        ensure!(
            status.success(),
            "{package} {test}: a fuzz target failed (a panic, or an abort under the {} GiB \
             limit)",
            MEMORY_LIMIT_KIB >> 20
        );
        println!(
            "{package} tests/{test}.rs: {} cases per target, no panic, no abort, {:.1} s",
            a.cases,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
