//! `cargo xtask`: everything that is not `cargo build` — fetching data, the lesson's
//! end-to-end run, benchmarks, the server's load test, CUDA kernel builds.

mod bench;
mod bench_data;
mod bench_lm;
mod bench_predict;
mod bench_scan;
mod bench_tail;
mod bench_vectors;
mod bench_workloads;
mod download;
mod fuzz;
mod goldens;
mod gpu_check;
mod kernels;
mod loadtest;
mod quality;
mod stats;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fetch AG News train.csv and test.csv (checked by MD5 and line count).
    Download(download::DownloadArgs),
    /// Fetch the data if missing, train the lesson's packed LSTM, evaluate it.
    Train(train::TrainArgs),
    /// Time the lesson's training workloads (optionally against PyTorch).
    Bench(bench::BenchArgs),
    /// Run the fuzz targets (readers and loaders) with many cases.
    Fuzz(fuzz::FuzzArgs),
    /// Test accuracy of recur's preset and search beside fastText (and its autotune) and
    /// TF-IDF + LR on a split given as two files, optionally at several training sizes.
    Quality(quality::QualityArgs),
    /// Load-test `recur serve` on a run (optionally against the PyTorch + FastAPI server).
    Loadtest(loadtest::LoadtestArgs),
    /// Compile the CUDA kernels with the pinned nvcc; print registers and spills.
    Kernels(kernels::KernelsArgs),
    /// Regenerate the PyTorch goldens from the repo's generators (`--check`: compare only).
    Goldens(goldens::GoldensArgs),
    /// Prepare .gpu/ (binaries, data, run.sh) for one run on a GPU machine.
    GpuCheck(gpu_check::GpuCheckArgs),
    /// (used by `bench`) load the generated vectors file in a process of its own.
    #[command(hide = true)]
    BenchVectorsChild {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long)]
        train_file: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.command {
        Cmd::Download(a) => download::run(&a),
        Cmd::Train(a) => train::run(&a),
        Cmd::Bench(a) => bench::run(&a),
        Cmd::Kernels(a) => kernels::run(&a),
        Cmd::Loadtest(a) => loadtest::run(&a),
        Cmd::Quality(a) => quality::run(&a),
        Cmd::Fuzz(a) => fuzz::run(&a),
        Cmd::Goldens(a) => goldens::run(&a),
        Cmd::GpuCheck(a) => gpu_check::run(&a),
        Cmd::BenchVectorsChild {
            file,
            data,
            train_file,
        } => bench_vectors::child(&file, &data, &train_file),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}

/// Builds the `recur` binary in release mode and returns its path.
pub fn build_recur() -> anyhow::Result<std::path::PathBuf> {
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "recur-cli",
                "--bin",
                "recur",
            ])
            .current_dir(root())
            .status()?;
    anyhow::ensure!(status.success(), "building recur failed");
    let bin = target_dir().join("release/recur");
    anyhow::ensure!(
        bin.is_file(),
        "cargo built recur, but {} is not there (the target folder is $CARGO_TARGET_DIR when \
         set, else target/ in the workspace)",
        bin.display()
    );
    Ok(bin)
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR` (relative to the workspace when it
/// is relative), else the workspace's `target/`.
pub fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root().join(d),
        _ => root().join("target"),
    }
}
