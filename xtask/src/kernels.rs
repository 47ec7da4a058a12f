//! `cargo xtask kernels`: compiles `crates/cuda/kernels/*.cu` with the pinned nvcc (CUDA
//! 13.0.88, installed from PyPI into `target/nvcc-venv` when absent) for sm_90, failing on
//! any warning, and prints registers and spills per kernel. The workspace build never needs
//! nvcc: at run time the backend compiles the same source with NVRTC.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

/// The pinned CUDA compiler packages (driver 580 = CUDA 13.0: never a newer PTX).
const PINNED: [&str; 4] = [
    "nvidia-cuda-nvcc==13.0.88",
    "nvidia-cuda-crt==13.0.88",
    "nvidia-nvvm==13.0.88",
    "nvidia-cuda-runtime==13.0.96",
];

/// Arguments of `xtask kernels`.
#[derive(Args)]
pub struct KernelsArgs {
    /// An nvcc to use instead of the pinned one.
    #[arg(long)]
    pub nvcc: Option<PathBuf>,
    /// GPU architecture.
    #[arg(long, default_value = "sm_90")]
    pub arch: String,
}

/// Finds (or installs) the pinned nvcc.
fn pinned_nvcc() -> Result<PathBuf> {
    let venv = crate::target_dir().join("nvcc-venv");
    let find = || -> Option<PathBuf> {
        let lib = venv.join("lib");
        std::fs::read_dir(&lib)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("site-packages/nvidia/cu13/bin/nvcc"))
            .find(|p| p.is_file())
    };
    if let Some(n) = find() {
        return Ok(n);
    }
    eprintln!("installing the pinned nvcc into {}", venv.display());
    let ok = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()?
        .success()
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q"])
            .args(PINNED)
            .status()?
            .success();
    if !ok {
        bail!("could not install {} with pip", PINNED.join(" "));
    }
    find().context("nvcc not found after installing the pinned packages")
}

/// Runs `xtask kernels`.
pub fn run(a: &KernelsArgs) -> Result<()> {
    let root = crate::root();
    let nvcc = match &a.nvcc {
        Some(n) => n.clone(),
        None => pinned_nvcc()?,
    };
    let out_dir = crate::target_dir().join("kernels");
    std::fs::create_dir_all(&out_dir)?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("crates/cuda/kernels"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();
    for src in sources {
        let stem = src
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("kernels")
            .to_string();
        let out = Command::new(&nvcc)
            .arg(format!("-arch={}", a.arch))
            .args([
                "-cubin",
                "-Werror",
                "all-warnings",
                "-Xptxas",
                "-v,-warn-spills,-Werror",
            ])
            .arg(&src)
            .arg("-o")
            .arg(out_dir.join(format!("{stem}.cubin")))
            .output()
            .with_context(|| format!("running {}", nvcc.display()))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!("{} failed to compile:\n{log}", src.display());
        }
        println!("{} ({}):", src.display(), a.arch);
        println!(
            "  {:<36} {:>9} {:>13}",
            "kernel", "registers", "spill st/ld"
        );
        let mut kernel = String::new();
        for line in log.lines() {
            if let Some(rest) = line.split("Compiling entry function '").nth(1) {
                kernel = rest.split('\'').next().unwrap_or("").to_string();
            } else if line.contains("spill stores") {
                let nums: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
                    .collect();
                kernel.push_str(&format!(
                    "|{}/{}",
                    nums.get(1).unwrap_or(&"?"),
                    nums.get(2).unwrap_or(&"?")
                ));
            } else if let Some(r) = line.split("Used ").nth(1) {
                let regs = r.split_whitespace().next().unwrap_or("?");
                let (name, spills) = kernel.split_once('|').unwrap_or((kernel.as_str(), "?"));
                println!("  {name:<36} {regs:>9} {spills:>13}");
            }
        }
    }
    println!("kernels compiled with {} without warnings", nvcc.display());
    Ok(())
}
