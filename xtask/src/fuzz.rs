//! `cargo xtask fuzz --cases N`: the fuzz targets (property tests named `fuzz_*`: the
//! CSV/TSV/JSONL/fastText readers, vocabulary files, `config.json`, safetensors parameters
//! and optimizer state, the text path of predict/serve) run with N cases each, in release
//! mode; prints the time each test binary took. A panic fails the run.

use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Result};
use clap::Args;

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
        let t0 = Instant::now();
        let status = Command::new(&cargo)
            .args([
                "test",
                "--release",
                "-p",
                package,
                "--test",
                test,
                "fuzz_",
                "--",
                "--test-threads",
                "2",
            ])
            .env("RECUR_FUZZ_CASES", a.cases.to_string())
            .current_dir(crate::root())
            .status()?;
        ensure!(status.success(), "{package} {test}: a fuzz target failed");
        println!(
            "{package} tests/{test}.rs: {} cases per target, no panic, {:.1} s",
            a.cases,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
