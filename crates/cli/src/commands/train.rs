//! `recur train`: a new run from the flags (a classifier, or a language model with `--task
//! lm`), or `--resume RUN` from the run's own `config.json`; either way the library's
//! recipe runs on the device it names, through the one training loop. Ctrl-C stops after
//! the current batch with a resumable run (exit status 130).

use std::path::Path;

use anyhow::Result;
use recur_tensor::Backend;
use recur_train::{
    search_in_progress, search_of_run, AutotuneConfig, ClassifyRecipe, Device, Ending, Finished,
    FitSummary, LmRecipe, Record, Records, RunConfig, RunDir,
};
use serde_json::json;

use crate::args::{Task, TrainArgs};
use crate::commands::autotune::{search, SearchJob};
use crate::recipes::{classify_recipe, lm_recipe, out_dir};
use crate::report::{write_summary, Printer};
use crate::stop::{Stop, EXIT_INTERRUPTED};

/// A run to train: the recipe, where, and whether it resumes.
enum Job {
    Classify(Box<ClassifyRecipe>),
    /// A search of a classifier's recipe.
    Search(Box<ClassifyRecipe>, AutotuneConfig),
    Lm(Box<LmRecipe>),
}

/// Runs `recur train`; returns the exit status.
pub fn train(a: &TrainArgs, stop: &Stop) -> Result<i32> {
    let (job, out, resume) = match &a.resume {
        Some(run) if search_in_progress(run) => {
            let (recipe, config) = search_of_run(run)?;
            (Job::Search(Box::new(recipe), config), run.clone(), true)
        }
        Some(run) => {
            let job = match RunDir::new(run).resumable_config()? {
                RunConfig::Classify(_) => Job::Classify(Box::new(ClassifyRecipe::of_run(run)?)),
                RunConfig::Lm(_) => Job::Lm(Box::new(LmRecipe::of_run(run)?)),
            };
            (job, run.clone(), true)
        }
        None => match a.task {
            Task::Classify => {
                let recipe = Box::new(classify_recipe(a, &mut |n| eprintln!("note: {n}"))?);
                let k = &a.classify;
                let job = match (k.autotune, k.autotune_trials) {
                    (None, None) => Job::Classify(recipe),
                    (budget_seconds, trials) => Job::Search(
                        recipe,
                        AutotuneConfig {
                            budget_seconds,
                            trials,
                        },
                    ),
                };
                (job, out_dir(a, a.classify.model.name()), false)
            }
            Task::Lm => (Job::Lm(Box::new(lm_recipe(a)?)), out_dir(a, "lm"), false),
        },
    };
    let device = match &job {
        Job::Classify(r) | Job::Search(r, _) => r.training.device,
        Job::Lm(r) => r.training.device,
    };
    match device {
        Device::Cuda => train_on(&recur_cuda::Cuda::new(0)?, &job, &out, resume, a, stop),
        Device::Cpu => train_on(&recur_cpu::Cpu, &job, &out, resume, a, stop),
    }
}

fn train_on<B: Backend>(
    backend: &B,
    job: &Job,
    out: &Path,
    resume: bool,
    a: &TrainArgs,
    stop: &Stop,
) -> Result<i32> {
    let mut printer = Printer::new(stop.clone());
    match job {
        Job::Search(recipe, config) => {
            let job = SearchJob {
                out,
                resume,
                summary: a.common.summary.as_deref(),
            };
            search(backend, recipe, *config, job, stop)
        }
        Job::Classify(recipe) => {
            let run = recipe.run(backend, out, resume, &mut printer)?;
            printer.finish();
            tell_ending(&run.fit, out);
            if let Some(path) = &a.common.summary {
                let name = recipe.model.model.name();
                let last = run.fit.last.as_ref();
                write_summary(
                    path,
                    json!({
                        "model": name, "seed": recipe.training.seed, "samples": run.fit.samples,
                        "train_seconds": run.fit.train_seconds,
                        "samples_per_s": run.fit.samples as f64 / run.fit.train_seconds.max(1e-9),
                        "train_accuracy": last.map(|e| e.task.train_accuracy),
                        "valid_accuracy": last.and_then(|e| e.task.valid_accuracy),
                        "test_accuracy": last.and_then(|e| e.task.test_accuracy),
                        "vocab_size": run.vocab_size, "reports": reports(&run.records),
                    }),
                )?;
            }
            Ok(exit_status(&run.fit))
        }
        Job::Lm(recipe) => {
            let run = recipe.run(backend, out, resume, &mut printer)?;
            printer.finish();
            if !run.fit.interrupted() {
                eprintln!("{:.0} training tokens/s", run.fit.samples_per_s());
            }
            tell_ending(&run.fit, out);
            if let Some(path) = &a.common.summary {
                let last = run.fit.last.as_ref();
                let detail: Vec<_> = run
                    .records
                    .iter()
                    .filter_map(|r| match r {
                        Record::Epoch(e) => Some(json!({
                            "epoch": e.epoch, "train_loss": e.train_loss,
                            "valid_loss": e.valid_loss, "valid_ppl": e.task.valid_ppl,
                            "lr": e.lr, "seconds": e.seconds,
                        })),
                        _ => None,
                    })
                    .collect();
                write_summary(
                    path,
                    json!({
                        "task": "lm", "seed": recipe.training.seed, "epochs": run.fit.epochs,
                        "train_loss": last.map(|e| e.train_loss),
                        "valid_loss": last.and_then(|e| e.valid_loss),
                        "valid_ppl": last.and_then(|e| e.task.valid_ppl),
                        "tokens_per_s": run.fit.samples_per_s(),
                        "train_seconds": run.fit.train_seconds,
                        "vocab_size": run.vocab_size, "train_tokens": run.train_tokens,
                        "epochs_detail": detail,
                    }),
                )?;
            }
            Ok(exit_status(&run.fit))
        }
    }
}

/// The progress reports of a run, as JSON.
fn reports<K: Records>(records: &[Record<K>]) -> Vec<serde_json::Value> {
    records
        .iter()
        .filter(|r| matches!(r, Record::Report(_)))
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect()
}

/// 130 for a run stopped by Ctrl-C, else 0.
fn exit_status<K: Records>(fit: &FitSummary<K>) -> i32 {
    if fit.interrupted() {
        EXIT_INTERRUPTED
    } else {
        0
    }
}

/// Says how the run ended and where it is.
fn tell_ending<K: Records>(fit: &FitSummary<K>, out: &Path) {
    let dir = out.display();
    match &fit.ending {
        Ending::Interrupted {
            saved: false,
            epoch: 0,
            ..
        } => {
            eprintln!("interrupted while loading the data: nothing was trained or saved")
        }
        Ending::Interrupted { saved: false, .. } => eprintln!(
            "interrupted before the first checkpoint: nothing was saved, and the folder {dir} is \
             left as it was"
        ),
        Ending::Interrupted {
            saved: true,
            epoch,
            samples,
        } => eprintln!(
            "interrupted after {samples} samples of epoch {epoch}: saved a resumable run to \
             {dir} (continue with: recur train --resume {dir})"
        ),
        Ending::Finished(f) => {
            match f {
                Finished::Completed { .. } => {}
                Finished::Limit { samples } => {
                    eprintln!("reached --limit after {samples} samples")
                }
                other => eprintln!("{other}"),
            }
            eprintln!("saved run to {dir}");
        }
    }
}
