//! `cargo xtask download [--from DIR] [--dest datasets/ag_news]`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use recur_data::download::{ag_news_files, fetch, Outcome, AG_NEWS_BASE_URL};

/// Arguments of `xtask download`.
#[derive(Args)]
pub struct DownloadArgs {
    /// Copy from this folder instead of downloading (same checks).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Where to put the files.
    #[arg(long, default_value = "datasets/ag_news")]
    pub dest: PathBuf,
    /// Base URL of the CSV files (default: the canonical AG News location).
    #[arg(long, default_value = AG_NEWS_BASE_URL)]
    pub base_url: String,
}

/// Fetches AG News into `dest`.
pub fn fetch_ag_news(dest: &Path, from: Option<&Path>, base_url: &str) -> Result<()> {
    let outcomes = fetch(
        &ag_news_files(base_url),
        dest,
        from,
        std::io::stderr().is_terminal(),
    )
    .map_err(|e| match e {
        recur_data::DataError::Download(_) if from.is_none() => {
            anyhow::anyhow!("{e} (`cargo xtask download --from DIR`)")
        }
        e => e.into(),
    })?;
    for (name, outcome) in outcomes {
        let what = match outcome {
            Outcome::AlreadyValid => "already present and valid",
            Outcome::Downloaded => "downloaded and verified",
            Outcome::Copied => "copied and verified",
        };
        eprintln!("{}: {what}", dest.join(name).display());
    }
    Ok(())
}

/// Runs `xtask download`.
pub fn run(a: &DownloadArgs) -> Result<()> {
    let dest = if a.dest.is_absolute() {
        a.dest.clone()
    } else {
        crate::root().join(&a.dest)
    };
    fetch_ag_news(&dest, a.from.as_deref(), &a.base_url)
}
