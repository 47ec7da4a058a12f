//! `cargo xtask gpu-check`: prepares `.gpu/` (git-ignored) with everything one run on a GPU
//! machine needs — the CUDA parity-test binary, the `recur` binary, the AG News sample and
//! the PyTorch reference script — and `.gpu/run.sh`, which runs the parity tests with
//! `REQUIRE_GPU=1`, times the lesson's packed LSTM over train_sample.csv with
//! `--device cuda` (and on the CPU), and times PyTorch on the same workload with
//! `seed_train.py --device cuda`. Results land in `$OUT` (or `.gpu/out`). The GPU machine
//! needs no Rust toolchain and no network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

/// Arguments of `xtask gpu-check`.
#[derive(Args)]
pub struct GpuCheckArgs {
    /// Data folder with train_sample.csv and test.csv.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Folder with seed_train.py and textref.py.
    #[arg(long)]
    pub reference: Option<PathBuf>,
}

const RUN_SH: &str = r#"#!/usr/bin/env bash
# Written by `cargo xtask gpu-check`. Run on the GPU machine from the repository root:
#   bash .gpu/run.sh            (results in $OUT, else .gpu/out)
set -uo pipefail
cd "$(dirname "$0")"
OUT="${OUT:-$PWD/out}"; mkdir -p "$OUT"
# The toolkit's libraries first: its NVRTC matches the driver (CUDA 13.0), while a pip NVRTC
# bundled with PyTorch may be newer and emit PTX the driver cannot load. Pip ones as fallback.
TOOLKIT=/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib
export LD_LIBRARY_PATH="$TOOLKIT:${LD_LIBRARY_PATH:-}"
for d in /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib \
         /usr/local/lib/python3*/site-packages/nvidia/cu13/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
done
ls /usr/local/cuda/lib64/libnvrtc* 2>/dev/null | head -3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
echo "== CUDA parity tests (REQUIRE_GPU=1)"
REQUIRE_GPU=1 ./parity --test-threads=1 2>&1 | tee "$OUT/parity.log"
parity=${PIPESTATUS[0]}
echo "== recur, lesson packed LSTM, train_sample.csv, --device cuda"
./recur train --device cuda --model lstm-packed --data data --vocab-order first-seen --seed 0 \
  --out /tmp/recur-cuda --summary "$OUT/recur_cuda.json" 2>&1 | tee "$OUT/recur_cuda.log"
echo "== recur, same, --device cpu"
./recur train --device cpu --model lstm-packed --data data --vocab-order first-seen --seed 0 \
  --out /tmp/recur-cpu --summary "$OUT/recur_cpu.json" 2>&1 | tee "$OUT/recur_cpu.log"
echo "== PyTorch + cuDNN, same workload"
python3 reference/seed_train.py --data data --train-file train_sample.csv --model lstm-pack \
  --device cuda --seed 0 --json-out "$OUT/torch_cuda.json" 2>&1 | tee "$OUT/torch_cuda.log"
python3 - "$OUT" <<'PY'
import json, sys, os
o = sys.argv[1]
def sps(f):
    p = os.path.join(o, f)
    return json.load(open(p)).get("samples_per_s") if os.path.exists(p) else None
r, c, t = sps("recur_cuda.json"), sps("recur_cpu.json"), sps("torch_cuda.json")
print(f"samples/s: recur cuda {r}, recur cpu {c}, pytorch cuda \
    {t}" + (f", ratio {r/t:.2f}x" if r and t else ""))
# The learning curves of the two devices (same seed, same batches) should agree within f32 noise.
def reports(f):
    p = os.path.join(o, f)
    return json.load(open(p)).get("reports", []) if os.path.exists(p) else []
for a, b in zip(reports("recur_cuda.json"), reports("recur_cpu.json")):
    print(f"samples {a['samples']}: cuda acc {a['train_accuracy']:.4f} loss {a['mean_loss']:.5f} | \
        cpu acc {b['train_accuracy']:.4f} loss {b['mean_loss']:.5f}")
PY
exit $parity
"#;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Runs `xtask gpu-check`.
pub fn run(a: &GpuCheckArgs) -> Result<()> {
    let root = crate::root();
    let data = a
        .data
        .clone()
        .or_else(|| std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("../shared/datasets/ag_news"));
    let reference = a
        .reference
        .clone()
        .unwrap_or_else(|| root.join("../shared/reference"));
    let gpu = root.join(".gpu");
    std::fs::create_dir_all(gpu.join("data"))?;
    std::fs::create_dir_all(gpu.join("reference"))?;
    // the parity test binary: ask cargo where it put it
    let out = cargo()
        .args([
            "test",
            "-p",
            "recur-cuda",
            "--release",
            "--no-run",
            "--message-format=json",
        ])
        .current_dir(&root)
        .output()?;
    if !out.status.success() {
        bail!(
            "building the CUDA tests failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"]["name"] == "parity")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .context("cargo did not report the parity test binary")?;
    copy(&exe, &gpu.join("parity"))?;
    copy(&crate::build_recur()?, &gpu.join("recur"))?;
    for f in ["train_sample.csv", "test.csv"] {
        copy(&data.join(f), &gpu.join("data").join(f))?;
    }
    for f in ["seed_train.py", "textref.py"] {
        copy(&reference.join(f), &gpu.join("reference").join(f))?;
    }
    std::fs::write(gpu.join("run.sh"), RUN_SH)?;
    println!(
        "prepared {}; on a GPU machine run `bash .gpu/run.sh` (with the device tool: command \
        \"bash .gpu/run.sh\", carry [\".gpu\"])",
        gpu.display()
    );
    Ok(())
}
