//! The one training loop, for every [`Task`]: seeded batches, forward, loss, backward,
//! clipping, the optimizer step at the schedule's rate; progress reports; after each epoch
//! the task's evaluation, best-model selection, the plateau schedule and early stopping;
//! checkpoints committed with the run folder (on a thread, while training goes on) at each
//! epoch end, every `save_every` steps and when the observer asks to stop; a non-finite
//! loss or gradient norm stops the run with an error and leaves the last checkpoint as it
//! was. It runs on a rayon pool of its own.

mod checkpoint;
pub(crate) mod config;
pub(crate) mod observer;
pub(crate) mod printing;
pub(crate) mod progress;
pub(crate) mod records;
mod step;
pub(crate) mod task;

use std::time::{Duration, Instant};

use recur_layers::{Optimizer, ParamStore, Rng};
use recur_tensor::Backend;

use crate::run::RunOutput;
use crate::{Result, Schedule, TrainError};
use config::TrainConfig;
use observer::{Ending, FitSummary, Observer};
use progress::{Best, EpochStats, Finished, Progress};
use records::{EarlyStop, EpochRecord, Interrupted, Record, Records};
use task::Task;

/// How long a stopped run may spend bringing deferred optimizer work up to date so it can
/// save where it stopped; past it, the last commit stands.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The tally type of task `T`.
pub(crate) type TallyOf<B, T> = <<T as Task<B>>::Records as Records>::Tally;

/// A training run: the task, the parameters and optimizer, and where it is.
pub struct Trainer<B: Backend, T: Task<B>> {
    /// How it trains.
    pub config: TrainConfig,
    task: T,
    store: ParamStore<B>,
    best_store: Option<ParamStore<B>>,
    opt: Box<dyn Optimizer<B> + Send>,
    rng: Rng,
    progress: Progress<TallyOf<B, T>>,
    records: Vec<Record<T::Records>>,
    out: Option<RunOutput>,
}

impl<B: Backend, T: Task<B>> Trainer<B, T> {
    /// A run of `task` from the parameters in `store` with `opt` (whose rate is the
    /// schedule's base); dropout masks draw from `dropout_rng`.
    pub fn new(
        config: TrainConfig,
        task: T,
        store: ParamStore<B>,
        opt: Box<dyn Optimizer<B> + Send>,
        dropout_rng: Rng,
    ) -> Self {
        let progress = Progress::start(&dropout_rng, config.report_every);
        Trainer {
            config,
            task,
            store,
            best_store: None,
            opt,
            rng: dropout_rng,
            progress,
            records: Vec::new(),
            out: None,
        }
    }

    /// Writes the run folder (checkpoints, best model, metrics) to `out`.
    pub fn with_output(mut self, out: RunOutput) -> Self {
        self.out = Some(out);
        self
    }

    /// Where the run is.
    pub fn progress(&self) -> &Progress<TallyOf<B, T>> {
        &self.progress
    }

    /// The task.
    pub fn task(&self) -> &T {
        &self.task
    }

    /// The current parameters (brought up to date by the optimizer at every epoch end).
    pub fn store(&self) -> &ParamStore<B> {
        &self.store
    }

    /// The best parameters by the task's validation result (the current ones when it has
    /// none).
    pub fn best_store(&self) -> &ParamStore<B> {
        self.best_store.as_ref().unwrap_or(&self.store)
    }

    /// Every record so far (`metrics.jsonl`).
    pub fn records(&self) -> &[Record<T::Records>] {
        &self.records
    }

    /// Trains until the last epoch, early stopping, the sample limit, or the observer's
    /// stop, on a rayon pool of its own (the two-way splits of a step never wait on waking
    /// the caller).
    pub fn fit(
        &mut self,
        observer: &mut (dyn Observer<T::Records> + Send),
    ) -> Result<FitSummary<T::Records>>
    where
        T: Send,
        B: Send,
    {
        self.config.validate(self.task.has_validation())?;
        if self.task.batches_per_epoch() == 0 {
            return Err(TrainError::Invalid("no training example".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .build()
            .map_err(|e| TrainError::Invalid(format!("starting the thread pool: {e}")))?;
        pool.install(|| self.fit_on_pool(observer))
    }

    /// Optimizer steps of the whole run (the decay schedules end at 0 there).
    pub(crate) fn total_steps(&self) -> usize {
        let all = self.task.batches_per_epoch() * self.config.epochs;
        match self.config.limit {
            Some(l) => all.min(l.div_ceil(self.task.samples_per_batch().max(1))),
            None => all,
        }
    }

    fn fit_on_pool(
        &mut self,
        observer: &mut dyn Observer<T::Records>,
    ) -> Result<FitSummary<T::Records>> {
        if self.progress.schedule.is_none() {
            let base = self.opt.lr();
            self.progress.schedule = Some(Schedule::new(
                self.config.schedule,
                base,
                self.total_steps(),
            ));
        }
        let (samples_before, seconds_before) = (self.progress.samples, self.progress.train_seconds);
        let mut last = None;
        let mut interrupted = false;
        // stopped inside the optimizer's deferred work: nothing more is saved
        let mut unsynced = false;
        while self.progress.finished.is_none() && self.progress.epoch < self.config.epochs {
            let epoch = self.progress.epoch;
            if self.progress.batch == 0 {
                self.task.start_epoch(&self.store)?;
            }
            let epoch_size = match self.config.limit {
                Some(l) => (l.saturating_sub(self.progress.samples) + self.progress.stats.samples)
                    .min(self.task.epoch_samples()),
                None => self.task.epoch_samples(),
            };
            observer.epoch_started(epoch, epoch_size);
            let mut limit_hit = false;
            let t0 = Instant::now();
            let mut since = 0.0;
            let batches = self.task.batches(epoch, self.progress.batch)?;
            for batch in batches {
                let batch = batch?;
                let samples = self.task.samples(&batch);
                self.train_batch(&batch, epoch)?;
                let secs = t0.elapsed().as_secs_f64();
                self.progress.stats.interval_seconds += secs - since;
                observer.batch_done(samples);
                self.maybe_report(observer);
                if observer.stop_requested() {
                    interrupted = true;
                    break;
                }
                if self
                    .config
                    .limit
                    .is_some_and(|l| self.progress.samples >= l)
                {
                    limit_hit = true;
                    break;
                }
                if self
                    .config
                    .save_every
                    .is_some_and(|k| self.progress.step.is_multiple_of(k))
                {
                    self.add_seconds(secs - since);
                    since = secs;
                    if !self.catch_up(&|| observer.stop_requested())? {
                        // stopped inside the optimizer's catch-up: the last commit stands
                        interrupted = true;
                        unsynced = true;
                        break;
                    }
                    self.commit(false, observer)?;
                } else {
                    self.add_seconds(secs - since);
                    since = secs;
                }
            }
            let secs = t0.elapsed().as_secs_f64();
            self.add_seconds(secs - since);
            // the epoch's deferred optimizer work, stoppable: a stop inside it keeps the
            // last commit (resumable from there), never a half-updated model
            if !interrupted && !self.catch_up(&|| observer.stop_requested())? {
                interrupted = true;
                unsynced = true;
            }
            if interrupted {
                // an interrupted first epoch never replaces another run's folder; the save
                // gets a second of deferred optimizer work, else the last commit stands
                let may_commit = self.out.as_ref().is_some_and(|o| o.written || !o.replaces);
                let deadline = Instant::now() + STOP_GRACE;
                if may_commit && !unsynced && self.catch_up(&|| Instant::now() > deadline)? {
                    self.records.push(Record::Interrupted(Interrupted {
                        epoch: epoch + 1,
                        samples: self.progress.stats.samples,
                        step: self.progress.step,
                    }));
                    self.commit(false, observer)?;
                }
                break;
            }
            let record = self.end_epoch(epoch)?;
            observer.epoch_done(&record);
            if limit_hit {
                self.progress.finished = Some(Finished::Limit {
                    samples: self.progress.samples,
                });
            } else if self.progress.finished.is_none() && self.progress.epoch >= self.config.epochs
            {
                self.progress.finished = Some(Finished::Completed {
                    epochs: self.config.epochs,
                });
            }
            let improved = record.best;
            last = Some(record);
            self.commit(improved, observer)?;
        }
        self.finish_commits(observer)?;
        let saved = self.out.as_ref().is_some_and(|o| o.written);
        let ending = match (&self.progress.finished, interrupted) {
            (Some(f), false) => Ending::Finished(f.clone()),
            _ => Ending::Interrupted {
                saved,
                epoch: self.progress.epoch + 1,
                samples: self.progress.stats.samples,
            },
        };
        Ok(FitSummary {
            ending,
            epochs: self.progress.epoch,
            samples: self.progress.samples,
            train_seconds: self.progress.train_seconds,
            samples_this_fit: self.progress.samples - samples_before,
            seconds_this_fit: self.progress.train_seconds - seconds_before,
            last,
            best: self.progress.best,
            saved,
        })
    }

    /// Brings the optimizer's deferred work up to date unless `stop` says otherwise between
    /// two pieces of it; whether it finished.
    fn catch_up(&mut self, stop: &dyn Fn() -> bool) -> Result<bool> {
        Ok(self.opt.sync_until(&mut self.store, stop)?)
    }

    /// Adds `secs` of training to the epoch and the run.
    fn add_seconds(&mut self, secs: f64) {
        self.progress.stats.seconds += secs;
        self.progress.train_seconds += secs;
    }

    /// Evaluation, best model, schedule and early stopping after epoch `epoch`.
    fn end_epoch(&mut self, epoch: usize) -> Result<EpochRecord<<T::Records as Records>::Epoch>> {
        self.opt.sync(&mut self.store)?;
        let train_loss = self.progress.stats.mean_loss();
        self.task.calibrate(&mut self.store)?;
        let evaluated = self.task.evaluate(&self.store, train_loss)?;
        let mut best = false;
        if let Some(j) = evaluated.judged {
            let better = |a: f64, b: f64| if j.higher_is_better { a > b } else { a < b };
            if self.progress.best.is_none_or(|b| better(j.value, b.value)) {
                self.progress.best = Some(Best {
                    epoch: epoch + 1,
                    value: j.value,
                });
                self.progress.bad_epochs = 0;
                self.best_store = Some(self.store.clone());
                best = true;
            } else {
                self.progress.bad_epochs += 1;
            }
            if j.from_validation {
                if let Some(s) = self.progress.schedule.as_mut() {
                    s.on_epoch(j.value, j.higher_is_better);
                }
            }
        }
        let st = std::mem::replace(
            &mut self.progress.stats,
            EpochStats::start(self.config.report_every),
        );
        let record = EpochRecord {
            epoch: epoch + 1,
            samples: st.samples,
            step: self.progress.step,
            lr: self.opt.lr(),
            train_loss,
            valid_loss: evaluated.valid_loss,
            best,
            seconds: st.seconds,
            samples_per_s: st.samples as f64 / st.seconds.max(1e-9),
            task: T::Records::epoch(&st, &evaluated.eval),
        };
        self.records.push(Record::Epoch(record.clone()));
        self.progress.epoch += 1;
        self.progress.batch = 0;
        if let Some(p) = self.config.patience {
            if self.progress.bad_epochs >= p {
                let best_epoch = self.progress.best.map_or(0, |b| b.epoch);
                self.progress.finished = Some(Finished::EarlyStop {
                    metric: self.task.metric_name().to_string(),
                    patience: p,
                    best_epoch,
                });
                self.records.push(Record::EarlyStop(EarlyStop {
                    epoch: epoch + 1,
                    best_epoch,
                }));
            }
        }
        Ok(record)
    }
}
