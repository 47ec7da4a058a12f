//! `recur train --autotune SECONDS` / `--autotune-trials N`: the library's recipe search,
//! printed a trial at a time with a progress bar over the budget (or the trials) on a
//! terminal; `--resume` continues a stopped search.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use recur_tensor::Backend;
use recur_train::{
    AutotuneConfig, AutotuneReport, Choices, ClassifyEpoch, ClassifyRecipe, EpochRecord, Notice,
    SearchObserver, TrialRecord,
};

use crate::report::{print_notice, write_summary};
use crate::stop::{Stop, EXIT_INTERRUPTED};

/// Prints a search as it goes.
struct SearchPrinter {
    bar: ProgressBar,
    stop: Stop,
    config: AutotuneConfig,
    /// When the search began, on its own clock (earlier sessions included).
    started: Instant,
    /// Trials finished.
    done: usize,
    /// Trial data notices are told once, for the first trial.
    told_data: bool,
}

impl SearchPrinter {
    fn new(stop: Stop, config: AutotuneConfig) -> SearchPrinter {
        let (len, template) = match config.budget_seconds {
            Some(b) => (b.ceil() as u64, "search [{bar:30}] {pos}/{len} s {msg}"),
            None => (
                config.trials.unwrap_or(1) as u64,
                "search [{bar:30}] {pos}/{len} trials {msg}",
            ),
        };
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(len)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        SearchPrinter {
            bar,
            stop,
            config,
            started: Instant::now(),
            done: 0,
            told_data: false,
        }
    }

    /// Moves the bar to the seconds spent, or to the trials finished.
    fn tick(&self) {
        self.bar.set_position(match self.config.budget_seconds {
            Some(_) => self.started.elapsed().as_secs(),
            None => self.done as u64,
        });
    }
}

impl SearchObserver for SearchPrinter {
    fn trial_started(&mut self, index: usize, choices: &Choices, elapsed: f64) {
        self.started = Instant::now() - std::time::Duration::from_secs_f64(elapsed.max(0.0));
        self.done = index;
        self.tick();
        self.bar.set_message(format!("trial {index}"));
        self.bar
            .suspend(|| println!("trial {index}: {}", choices.describe()));
    }

    fn trial_done(&mut self, t: &TrialRecord, best: bool) {
        self.told_data = true;
        let score = t.score.map_or("no epoch finished".to_string(), |s| {
            format!("valid {s:.4} (epoch {} of {})", t.best_epoch, t.epochs)
        });
        let test = t
            .test_accuracy
            .map_or(String::new(), |a| format!(", (test {a:.4})"));
        let stopped = if t.complete {
            ""
        } else {
            ", stopped by the budget"
        };
        let mark = if best { "  ← chosen so far" } else { "" };
        self.bar.suspend(|| {
            println!(
                "trial {}: {score}{test}, {:.1} s{stopped}{mark}",
                t.index, t.seconds
            )
        });
        self.done = t.index + 1;
        self.tick();
    }

    fn epoch_done(&mut self, _epoch: &EpochRecord<ClassifyEpoch>) {
        self.tick();
    }

    fn notice(&mut self, n: &Notice) {
        let data = matches!(
            n,
            Notice::ClassifyData { .. } | Notice::SkipGram { .. } | Notice::Sized { .. }
        );
        if !data || !self.told_data {
            self.bar.suspend(|| print_notice(n));
        }
    }

    fn stop_requested(&self) -> bool {
        self.stop.requested()
    }
}

/// Where a search runs and what it writes besides the run folder.
pub struct SearchJob<'a> {
    /// The run folder.
    pub out: &'a Path,
    /// Continue the search there.
    pub resume: bool,
    /// `--summary`: the search's report as JSON.
    pub summary: Option<&'a Path>,
}

/// Runs (or continues) the search of `recipe` as `job` says; the exit status.
pub fn search<B: Backend>(
    backend: &B,
    recipe: &ClassifyRecipe,
    config: AutotuneConfig,
    job: SearchJob<'_>,
    stop: &Stop,
) -> Result<i32> {
    let mut printer = SearchPrinter::new(stop.clone(), config);
    let report = recipe.autotune(backend, job.out, config, job.resume, &mut printer);
    printer.bar.finish_and_clear();
    let report = report?;
    tell(&report, job.out);
    if let Some(path) = job.summary {
        write_summary(path, serde_json::json!({ "autotune": report }))?;
    }
    Ok(if report.stopped { EXIT_INTERRUPTED } else { 0 })
}

/// Says how the search ended.
fn tell(report: &AutotuneReport, out: &Path) {
    let dir = out.display();
    if report.stopped {
        eprintln!(
            "search stopped after {} trials ({:.0} s): continue with: recur train --resume {dir}",
            report.trials.len(),
            report.seconds
        );
        return;
    }
    if let Some(best) = report.best.and_then(|i| report.trials.get(i)) {
        eprintln!(
            "chose trial {} of {} in {:.0} s ({}), valid {:.4}{}",
            best.index,
            report.trials.len(),
            report.seconds,
            best.choices.describe(),
            best.score.unwrap_or(f64::NAN),
            best.test_accuracy
                .map_or(String::new(), |a| format!(", test {a:.4}"))
        );
    }
    eprintln!("saved run to {dir} (every trial in {dir}/autotune.json)");
}
