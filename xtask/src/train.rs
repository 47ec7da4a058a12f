//! `cargo xtask train [ARGS]`: the README's main command. Finds (or downloads) AG News,
//! trains the lesson's packed LSTM with `recur train`, then runs `recur eval` on the run.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{ensure, Result};
use clap::Args;
use recur_data::download::AG_NEWS_BASE_URL;

/// Arguments of `xtask train`; anything after `--` goes to `recur train` as is.
#[derive(Args)]
pub struct TrainArgs {
    /// Data folder (default: $RECUR_DATA_DIR, else datasets/ag_news, downloaded when missing).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run folder.
    #[arg(long, default_value = "runs/lesson")]
    pub out: PathBuf,
    /// Extra arguments for `recur train` (e.g. `--epochs 2 --seed 1`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub extra: Vec<String>,
}

/// Runs `xtask train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let root = crate::root();
    let data = a
        .data
        .clone()
        .or_else(|| std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("datasets/ag_news"));
    let has_train = data.join("train.csv").is_file() || data.join("train_sample.csv").is_file();
    if !has_train || !data.join("test.csv").is_file() {
        eprintln!("AG News not found in {}: downloading", data.display());
        crate::download::fetch_ag_news(&data, None, AG_NEWS_BASE_URL)?;
    }
    let recur = crate::build_recur()?;
    let out = if a.out.is_absolute() {
        a.out.clone()
    } else {
        root.join(&a.out)
    };
    let mut train = Command::new(&recur);
    train
        .args(["train", "--model", "lstm-packed", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(&a.extra);
    eprintln!("running {train:?}");
    ensure!(train.status()?.success(), "recur train failed");
    let mut eval = Command::new(&recur);
    eval.args(["eval", "--run"])
        .arg(&out)
        .arg("--data")
        .arg(&data);
    ensure!(eval.status()?.success(), "recur eval failed");
    eprintln!(
        "the run is in {}; try: {} predict --run {} \"Stocks rallied as oil fell\"",
        out.display(),
        recur.display(),
        out.display()
    );
    Ok(())
}
