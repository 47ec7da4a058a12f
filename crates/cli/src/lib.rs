//! The `recur` command line: `train`, `eval`, `predict`, `plot`, `serve` and `generate` over
//! run folders (`model.safetensors`, `config.json`, `vocab.txt`, `metrics.jsonl`).

mod data_args;
mod eval;
mod generate;
mod lm;
mod plot;
mod predict;
mod preset;
mod serve;
mod train;
mod train_args;
mod train_data;
mod train_report;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use recur_train::{load_params, save_params};
pub use recur_train::{LoadedRun, RunConfig, RunDir};

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
    /// Evaluate a run on a labelled file: loss, accuracy, macro-F1, per-class precision/recall/F1,
    /// confusion.
    Eval(eval::EvalArgs),
    /// Classify texts given as arguments, or one per line on stdin.
    Predict(predict::PredictArgs),
    /// Draw a run's learning curves (curves.png and curves.svg).
    Plot(plot::PlotArgs),
    /// Serve a run over HTTP: POST /predict, GET /health, /info, /metrics.
    Serve(serve::ServeArgs),
    /// Sample text from a language-model run (`recur train --task lm`).
    Generate(generate::GenerateArgs),
}

/// Parses the process's command line, applying `recur train --preset` to the flags not given
/// (clap prints usage errors and exits on its own).
pub fn parse_args() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Train(a), Some(sub)) = (&mut cli.command, matches.subcommand_matches("train"))
    {
        if let Some(p) = a.preset {
            preset::apply(p, a, sub);
        }
        if a.task == train::Task::Lm {
            preset::apply_lm_defaults(a, sub);
        }
    }
    cli
}

/// Exit status of a training run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Runs one parsed command and returns the process's exit status. Evaluation and
/// prediction run on a worker of rayon's pool (the trainer owns a pool of its own), so that
/// the two-way splits inside the model never wait on waking the caller.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Train(a) => {
            let s = train::train(&a)?;
            Ok(if s.interrupted { EXIT_INTERRUPTED } else { 0 })
        }
        Command::Eval(a) if lm::is_lm_run(&a.run) => {
            let Some(test) = &a.test else {
                anyhow::bail!("a language-model run is evaluated on --test FILE");
            };
            let pool = rayon::ThreadPoolBuilder::new().build()?;
            pool.install(|| lm::eval_lm(&a.run, test, &a.data_args, a.json))
                .map(|_| 0)
        }
        Command::Eval(a) => {
            let pool = rayon::ThreadPoolBuilder::new().build()?;
            pool.install(|| eval::eval(&a)).map(|_| 0)
        }
        Command::Generate(a) => generate::generate_text(&a).map(|()| 0),
        Command::Plot(a) => plot::plot(&a).map(|_| 0),
        Command::Serve(a) => serve::serve(&a).map(|()| 0),
        Command::Predict(a) => {
            let pool = rayon::ThreadPoolBuilder::new().build()?;
            pool.install(|| predict::predict(&a)).map(|()| 0)
        }
    }
}
