//! A search for a classifier's recipe within a time budget or a number of trials
//! ([`ClassifyRecipe::autotune`]): trial 0 is the strong recipe sized for the data, the
//! others are drawn from a fixed space ([`Choices`]) by the seed; every trial trains
//! through the one training loop into its own run folder and is judged by validation
//! alone. The best trial becomes the run folder, with `autotune.json` recording every
//! trial. The search's state is kept on disk as it goes, so a stopped search resumes
//! (a trial in progress continues from its checkpoint).

mod config;
mod space;
mod state;

use std::path::{Path, PathBuf};
use std::time::Instant;

use recur_tensor::Backend;

pub use config::AutotuneConfig;
pub use space::Choices;
pub use state::{AutotuneReport, TrialRecord};

use crate::classify::recipe::ClassifyRecipe;
use crate::classify::records::{ClassifyEpoch, ClassifyRecords};
use crate::classify::split;
use crate::engine::observer::{Notice, Observer};
use crate::engine::records::EpochRecord;
use crate::run::{Entry, RunWriter};
use crate::{Result, TrainError};
use state::SearchState;

/// What a search tells as it goes.
pub trait SearchObserver: Send {
    /// Trial `index` starts (`elapsed`: seconds of the search so far).
    fn trial_started(&mut self, _index: usize, _choices: &Choices, _elapsed: f64) {}
    /// A trial ended; `best`: it is the chosen trial so far (the one-standard-error rule
    /// of `AutotuneReport::best`).
    fn trial_done(&mut self, _trial: &TrialRecord, _best: bool) {}
    /// An epoch of the current trial ended.
    fn epoch_done(&mut self, _epoch: &EpochRecord<ClassifyEpoch>) {}
    /// Something the search or a trial tells (what it read, what it set).
    fn notice(&mut self, _notice: &Notice) {}
    /// Polled after every batch: true stops the search (resumable).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// The folder a search keeps its trials and state in, inside the run folder `out`.
fn search_dir(out: &Path) -> PathBuf {
    out.join("autotune")
}

/// The run folder of trial `index` in the search folder `dir`.
fn trial_dir(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("trial-{index:03}"))
}

/// Whether `out` holds a search in progress (to resume with [`ClassifyRecipe::autotune`]).
pub fn search_in_progress(out: &Path) -> bool {
    state::state_path(&search_dir(out)).is_file()
}

/// The recipe and the settings of the search in progress in `out`.
pub fn search_of_run(out: &Path) -> Result<(ClassifyRecipe, AutotuneConfig)> {
    let s = SearchState::read(&search_dir(out))?;
    Ok((s.base, s.config))
}

/// One trial's observer: the search's, stopped also at the budget's end.
struct TrialObserver<'a> {
    search: &'a mut dyn SearchObserver,
    deadline: Option<Instant>,
}

impl TrialObserver<'_> {
    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Observer<ClassifyRecords> for TrialObserver<'_> {
    fn epoch_done(&mut self, epoch: &EpochRecord<ClassifyEpoch>) {
        self.search.epoch_done(epoch);
    }
    fn stop_requested(&self) -> bool {
        self.search.stop_requested() || self.past_deadline()
    }
    fn notice(&mut self, notice: &Notice) {
        self.search.notice(notice);
    }
}

impl ClassifyRecipe {
    /// Searches for this recipe's best variant on its validation data (a validation file,
    /// or a stratified tenth of the training file when neither is given) within `config`,
    /// writing the best trial to the run folder `out` with `autotune.json`. With `resume`,
    /// continues the search in `out` (use [`search_of_run`] for its recipe and settings).
    pub fn autotune<B: Backend>(
        &self,
        backend: &B,
        out: &Path,
        config: AutotuneConfig,
        resume: bool,
        observer: &mut dyn SearchObserver,
    ) -> Result<AutotuneReport> {
        config.validate()?;
        let mut base = self.clone();
        let files = &mut base.training.files;
        if files.valid.is_none() && files.valid_fraction.is_none() {
            files.valid_fraction = Some(0.1);
        }
        base.validate()?;
        let writer = RunWriter::open_with(out, &["autotune"])?;
        let dir = search_dir(out);
        let mut state = match resume {
            true => SearchState::read(&dir)?,
            false => SearchState::new(config, base),
        };
        let base = state.base.clone();
        let config = state.config;
        // the data is read once first: bad splits are refused before anything is written
        let t = &base.training;
        let mut notice = |n: Notice| observer.notice(&n);
        let split = split::read_split(
            &t.files,
            &base.read,
            base.text.tokenizer,
            t.seed,
            &mut notice,
        )?;
        split.check_validation(&t.files.train)?;
        state.valid_rows = split.valid_rows();
        let mut sized = base.clone();
        if let Some(s) = sized.size_to_split(&split) {
            observer.notice(&s.notice());
        }
        drop(split);
        if !resume {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
            state.write(&dir)?;
        }
        let started = Instant::now();
        let spent_before = state.seconds();
        let elapsed = || spent_before + started.elapsed().as_secs_f64();
        let mut stopped = false;
        loop {
            let index = state.trials.len();
            let out_of_time = config.budget_seconds.is_some_and(|b| elapsed() >= b);
            if config.trials.is_some_and(|n| index >= n) || out_of_time {
                break;
            }
            if observer.stop_requested() {
                stopped = true;
                break;
            }
            let trial_dir = trial_dir(&dir, index);
            let choices = Choices::draw(t.seed, index, &sized);
            let resuming = trial_dir.join("checkpoint/state.json").is_file();
            let recipe = if resuming {
                ClassifyRecipe::of_run(&trial_dir)?
            } else {
                if trial_dir.exists() {
                    std::fs::remove_dir_all(&trial_dir)
                        .map_err(|e| TrainError::io(&trial_dir, e))?;
                }
                choices.apply(&sized)
            };
            observer.trial_started(index, &choices, elapsed());
            let deadline = config.budget_seconds.map(|b| {
                Instant::now() + std::time::Duration::from_secs_f64((b - elapsed()).max(0.0))
            });
            let trial_started = Instant::now();
            let mut trial_observer = TrialObserver {
                search: &mut *observer,
                deadline,
            };
            let run = recipe.run(backend, &trial_dir, resuming, &mut trial_observer)?;
            let by_budget = trial_observer.past_deadline();
            if run.fit.interrupted() && !by_budget {
                // stopped by the caller: the trial stays as it is, to continue on resume
                stopped = true;
                state.pending_seconds += trial_started.elapsed().as_secs_f64();
                state.write(&dir)?;
                break;
            }
            let seconds = state.pending_seconds + trial_started.elapsed().as_secs_f64();
            let metric = base.training.batching.metric;
            let run_records = (&run.fit, run.records.as_slice());
            let record = TrialRecord::of(index, choices, run_records, metric, seconds);
            state.pending_seconds = 0.0;
            state.trials.push(record.clone());
            let best = state.best().is_some_and(|b| b.index == record.index);
            state.write(&dir)?;
            observer.trial_done(&record, best);
        }
        let report = state.report(elapsed(), stopped);
        if stopped {
            return Ok(report);
        }
        let Some(best) = state.best().cloned() else {
            return Err(TrainError::Invalid(format!(
                "no trial finished an epoch in {:.0} s: give the search more time",
                elapsed()
            )));
        };
        let mut files = folder_files(&trial_dir(&dir, best.index))?;
        files.push((
            "autotune.json".into(),
            Entry::Bytes(state.to_json(&report)?),
        ));
        writer.commit(&files)?;
        Ok(report)
    }
}

/// Every file of the run folder `dir` (and of its subfolders, one level), read.
fn folder_files(dir: &Path) -> Result<Vec<(String, Entry)>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| TrainError::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            let inner = std::fs::read_dir(&path).map_err(|e| TrainError::io(&path, e))?;
            for f in inner {
                let f = f.map_err(|e| TrainError::io(&path, e))?;
                let bytes = std::fs::read(f.path()).map_err(|e| TrainError::io(f.path(), e))?;
                let rel = format!("{name}/{}", f.file_name().to_string_lossy());
                files.push((rel, Entry::Bytes(bytes)));
            }
        } else {
            let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
            files.push((name, Entry::Bytes(bytes)));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}
