//! The `recur` command line: `train`, `eval` and `predict` over run folders
//! (`model.safetensors`, `config.json`, `vocab.txt`, `metrics.jsonl`).

mod checkpoint;
mod data_args;
mod eval;
mod predict;
mod run_dir;
mod train;
mod train_data;

use clap::{Parser, Subcommand};

pub use checkpoint::{load_params, save_params};
pub use run_dir::{RunConfig, RunDir};

/// Command-line interface.
#[derive(Debug, Parser)]
#[command(
    name = "recur",
    version,
    about = "Recurrent text classifiers (RNN, LSTM, GRU) with PyTorch parity"
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a classifier and save a run folder.
    Train(Box<train::TrainArgs>),
    /// Evaluate a run on a labelled file: loss, accuracy, macro-F1, per-class precision/recall/F1, confusion.
    Eval(eval::EvalArgs),
    /// Classify texts given as arguments, or one per line on stdin.
    Predict(predict::PredictArgs),
}

/// Runs one parsed command on a worker of rayon's pool, so that the two-way splits inside a
/// training step (bidirectional layers, large GEMMs) never wait on waking the caller.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new().build()?;
    pool.install(|| match cli.command {
        Command::Train(a) => train::train(&a).map(|_| ()),
        Command::Eval(a) => eval::eval(&a).map(|_| ()),
        Command::Predict(a) => predict::predict(&a),
    })
}
