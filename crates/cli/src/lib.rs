//! The `recur` command line: `train`, `eval`, `predict`, `plot`, `serve` and `generate` over
//! run folders (`config.json`, `vocab.txt`, `model.safetensors`, `metrics.jsonl`). The
//! flags (`args/`) map onto the library's recipes and inference types; the library does
//! the work.

mod args;
mod commands;
mod flags;
mod preset;
mod recipes;
mod report;
mod stop;

use clap::error::ErrorKind;
use clap::{Args as _, CommandFactory, FromArgMatches};

pub use args::{Cli, Command};
pub use stop::Stop;
pub use stop::EXIT_INTERRUPTED;

/// Parses the process's command line: refuses `recur train` flags that do not apply to its
/// task (or any flag beside `--resume`), then applies `--preset` and the language model's
/// defaults to the flags not given (clap prints usage errors and exits on its own).
pub fn parse_args() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// [`parse_args`] over `args` (the program's name first), returning clap's error.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Train(a), Some(sub)) = (&mut cli.command, matches.subcommand_matches("train"))
    {
        if let Err(msg) = check_train_flags(a, sub) {
            return Err(Cli::command().error(ErrorKind::ArgumentConflict, msg));
        }
        let search = a.classify.autotune.is_some() || a.classify.autotune_trials.is_some();
        if let Some(p) = a.classify.preset.or(search.then_some(args::Preset::Strong)) {
            preset::apply(p, a, sub);
        }
        if a.task == args::Task::Lm {
            preset::apply_lm_defaults(a, sub);
        }
    }
    Ok(cli)
}

/// The ids of the flags of an argument group.
fn ids_of(group: clap::Command) -> Vec<String> {
    group
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect()
}

/// `--name` of flag id `id`.
fn flag(id: &str) -> String {
    format!("--{}", id.replace('_', "-"))
}

/// Refuses flags given for another task, or beside `--resume`.
fn check_train_flags(a: &args::TrainArgs, m: &clap::ArgMatches) -> Result<(), String> {
    let list = |ids: &[String]| ids.iter().map(|i| flag(i)).collect::<Vec<_>>().join(", ");
    if a.resume.is_some() {
        let mut all = ids_of(args::TrainArgs::augment_args(clap::Command::new("train")));
        all.retain(|id| id != "resume");
        let given = preset::given_among(m, &all);
        if !given.is_empty() {
            return Err(format!(
                "--resume continues the run exactly as it was configured; it takes no other \
                 flag (given: {})",
                list(&given)
            ));
        }
        return Ok(());
    }
    let (other, other_task) = match a.task {
        args::Task::Classify => (
            ids_of(args::LmArgs::augment_args(clap::Command::new("lm"))),
            args::Task::Lm,
        ),
        args::Task::Lm => (
            ids_of(args::ClassifyArgs::augment_args(clap::Command::new("c"))),
            args::Task::Classify,
        ),
    };
    let given = preset::given_among(m, &other);
    if !given.is_empty() {
        return Err(format!(
            "{} {} only to --task {}, not to --task {}",
            list(&given),
            if given.len() == 1 { "applies" } else { "apply" },
            other_task.name(),
            a.task.name()
        ));
    }
    Ok(())
}

/// Runs one parsed command and returns the process's exit status; `stop` is set by Ctrl-C
/// and SIGTERM. Evaluation and prediction run on a worker of rayon's pool (the trainer owns
/// a pool of its own), so that the two-way splits inside the model never wait on waking the
/// caller.
pub fn run(cli: Cli, stop: &Stop) -> anyhow::Result<i32> {
    let pool = || rayon::ThreadPoolBuilder::new().build();
    let result = match cli.command {
        Command::Train(a) => commands::train::train(&a, stop),
        Command::Eval(a) => pool()?.install(|| commands::eval::eval(&a)).map(|()| 0),
        Command::Generate(a) => commands::generate::generate_text(&a).map(|()| 0),
        Command::Export(a) => commands::export::export(&a).map(|()| 0),
        Command::Quantize(a) => commands::quantize::quantize(&a).map(|()| 0),
        Command::Plot(a) => commands::plot::plot(&a).map(|_| 0),
        Command::Serve(a) => commands::serve::serve(&a).map(|()| 0),
        Command::Predict(a) => pool()?.install(|| commands::predict::predict(&a, stop)),
    };
    result.map_err(flags::explain)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use recur_train::ClassifyRecipe;

    use super::*;

    /// The recipe `recur train ARGS` runs.
    fn recipe_of(args: &[&str]) -> ClassifyRecipe {
        let cli = parse_from(["recur", "train"].iter().chain(args)).unwrap();
        let Command::Train(a) = cli.command else {
            panic!("not a train command")
        };
        recipes::classify_recipe(&a, &mut |_| {}).unwrap()
    }

    #[test]
    fn the_flags_defaults_and_the_strong_preset_are_the_librarys_recipes() {
        let train = std::path::absolute(PathBuf::from("own.csv")).unwrap();
        assert_eq!(
            recipe_of(&["--train", "own.csv"]),
            ClassifyRecipe::new(train.clone())
        );
        assert_eq!(
            recipe_of(&["--train", "own.csv", "--preset", "strong", "--seed", "7"]),
            ClassifyRecipe::new(train).with_seed(7).strong()
        );
    }
}
