//! The training loop: seeded batches, forward, loss, backward, clipping, the optimizer step
//! at the schedule's rate; progress reports; after each epoch validation, test, best-model
//! selection, the plateau schedule and early stopping; checkpoints committed with the run
//! folder at each epoch end and every `save_every` steps. A non-finite loss or gradient
//! norm stops the run with an error and leaves the last checkpoint as it was.

use std::time::Instant;

use recur_autograd::Tape;
use recur_data::{Loader, LoaderConfig, Prefetch};
use recur_layers::{clip_grad_norm, Optimizer, ParamStore, Rng};
use recur_tensor::Backend;
use serde_json::{json, Value};

use crate::metrics::{argmax_rows, evaluate};
use crate::progress::{Best, EpochStats, Progress};
use crate::run_output::RunOutput;
use crate::train_config::{Datasets, TrainConfig};
use crate::{Model, Result, Schedule, TrainError};

mod checkpoint;
mod observer;

pub use observer::{EpochSummary, FitSummary, Observer, Silent};

/// A training run: the model, its parameters and optimizer, and where it is.
pub struct Trainer<'m, B: Backend, M: Model<B> + Sync> {
    /// How it trains.
    pub config: TrainConfig,
    model: &'m M,
    store: ParamStore<B>,
    best_store: Option<ParamStore<B>>,
    opt: Box<dyn Optimizer<B> + Send>,
    rng: Rng,
    progress: Progress,
    metrics: Vec<Value>,
    out: Option<RunOutput>,
}

impl<'m, B: Backend, M: Model<B> + Sync> Trainer<'m, B, M> {
    /// A run of `model` from the parameters in `store` with `opt`; dropout masks draw from
    /// `dropout_rng`.
    pub fn new(
        config: TrainConfig,
        model: &'m M,
        store: ParamStore<B>,
        opt: Box<dyn Optimizer<B> + Send>,
        dropout_rng: Rng,
    ) -> Self {
        let progress = Progress::start(&dropout_rng, config.report_every);
        Trainer {
            config,
            model,
            store,
            best_store: None,
            opt,
            rng: dropout_rng,
            progress,
            metrics: Vec::new(),
            out: None,
        }
    }

    /// Writes the run folder (checkpoints, best model, metrics) to `out`.
    pub fn with_output(mut self, out: RunOutput) -> Self {
        self.out = Some(out);
        self
    }

    /// Where the run is.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The current parameters (brought up to date by the optimizer at every epoch end).
    pub fn store(&self) -> &ParamStore<B> {
        &self.store
    }

    /// The best parameters by the validation metric (the current ones without validation).
    pub fn best_store(&self) -> &ParamStore<B> {
        self.best_store.as_ref().unwrap_or(&self.store)
    }

    /// Every record so far (`metrics.jsonl`).
    pub fn metrics(&self) -> &[Value] {
        &self.metrics
    }

    /// Trains until the last epoch, early stopping, `limit`, or the observer's stop, on a
    /// rayon pool of its own (the two-way splits of a step never wait on waking the caller).
    pub fn fit(
        &mut self,
        data: &Datasets<'_>,
        observer: &mut (dyn Observer + Send),
    ) -> Result<FitSummary> {
        self.config.validate(data.valid.is_some())?;
        if data.train.is_empty() {
            return Err(TrainError::Invalid("no training example".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .build()
            .map_err(|e| TrainError::Invalid(format!("starting the thread pool: {e}")))?;
        pool.install(|| self.fit_on_pool(data, observer))
    }

    fn total_steps(&self, n: usize) -> usize {
        let per_epoch = n.div_ceil(self.config.batch_size);
        let all = per_epoch * self.config.epochs;
        match self.config.limit {
            Some(l) => all.min(l.div_ceil(self.config.batch_size)),
            None => all,
        }
    }

    fn fit_on_pool(
        &mut self,
        data: &Datasets<'_>,
        observer: &mut (dyn Observer + Send),
    ) -> Result<FitSummary> {
        let n = data.train.len();
        if self.progress.schedule.is_none() {
            let base = self.opt.lr();
            self.progress.schedule = Some(Schedule::new(
                self.config.schedule,
                base,
                self.total_steps(n),
            ));
        }
        let mut last: Option<EpochSummary> = None;
        let mut interrupted = false;
        while self.progress.finished.is_none() && self.progress.epoch < self.config.epochs {
            let epoch = self.progress.epoch;
            let order = LoaderConfig::shuffled(self.config.batch_size, self.config.seed);
            let loader = Loader::new(n, order, epoch as u64)?.skip_batches(self.progress.batch);
            let epoch_size = match self.config.limit {
                Some(l) => {
                    (l.saturating_sub(self.progress.samples) + self.progress.stats.count).min(n)
                }
                None => n,
            };
            observer.epoch_started(epoch, epoch_size);
            let mut limit_hit = false;
            let t0 = Instant::now();
            let mut since = 0.0;
            for batch in Prefetch::start(data.train.clone(), loader, 4) {
                let batch = batch?;
                self.train_batch(&batch, epoch)?;
                observer.batch_done(batch.len());
                let st = &mut self.progress.stats;
                if st.count >= st.next_report {
                    let record = json!({"kind": "report", "epoch": epoch + 1, "samples": st.count,
                        "train_accuracy": st.correct as f64 / st.count as f64,
                        "mean_loss": st.loss_sum / st.batches as f64});
                    while st.next_report <= st.count {
                        st.next_report += self.config.report_every;
                    }
                    observer.report(&record);
                    self.metrics.push(record);
                }
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
                    let secs = t0.elapsed().as_secs_f64();
                    self.progress.stats.seconds += secs - since;
                    self.progress.train_seconds += secs - since;
                    since = secs;
                    self.commit(false, observer)?;
                }
            }
            let secs = t0.elapsed().as_secs_f64() - since;
            self.progress.stats.seconds += secs;
            self.progress.train_seconds += secs;
            if interrupted {
                // an interrupted first epoch never replaces another run's folder
                if self.out.as_ref().is_some_and(|o| o.written || !o.replaces) {
                    self.opt.sync(&mut self.store)?;
                    self.metrics
                        .push(json!({"kind": "interrupted", "epoch": epoch + 1,
                        "samples": self.progress.stats.count, "step": self.progress.step}));
                    self.commit(false, observer)?;
                }
                break;
            }
            let summary = self.end_epoch(data, epoch)?;
            observer.epoch_done(&summary);
            if limit_hit {
                self.progress.finished = Some(format!(
                    "reached --limit after {} samples",
                    self.progress.samples
                ));
            } else if self.progress.epoch >= self.config.epochs {
                self.progress.finished = Some(format!("trained {} epochs", self.config.epochs));
            }
            let improved = summary.best;
            last = Some(summary);
            self.commit(improved, observer)?;
        }
        self.finish_commits(observer)?;
        let last_epoch = last.as_ref();
        Ok(FitSummary {
            samples: self.progress.samples,
            train_seconds: self.progress.train_seconds,
            train_accuracy: last_epoch.map_or(0.0, |e| e.train_accuracy),
            valid_accuracy: last_epoch.and_then(|e| e.valid.as_ref().map(|v| v.scores.accuracy())),
            test_accuracy: last_epoch.and_then(|e| e.test_accuracy),
            best: self.progress.best,
            interrupted,
            saved: self.out.as_ref().is_some_and(|o| o.written),
            finished: self.progress.finished.clone(),
        })
    }

    /// Forward, loss, backward, clipping and one optimizer step on `batch`.
    fn train_batch(&mut self, batch: &recur_data::Batch, epoch: usize) -> Result<()> {
        let step = self.progress.step;
        let lr = self
            .progress
            .schedule
            .as_ref()
            .map_or(self.opt.lr(), |s| s.lr(step));
        self.opt.set_lr(&mut self.store, lr)?;
        let where_ = || {
            format!(
                "epoch {}, step {} (batch {} of the epoch)",
                epoch + 1,
                step + 1,
                self.progress.batch + 1
            )
        };
        // rows an optimizer updates lazily are brought up to date before they are read
        self.opt.prepare_rows(&mut self.store, &batch.tokens)?;
        let tape = Tape::new(self.store.backend());
        let logits = self
            .model
            .logits(&tape, &self.store, batch, Some(&mut self.rng))?;
        let loss = tape.cross_entropy(logits, &batch.labels)?;
        let loss_value = tape.value(loss)?.scalar()?;
        if !loss_value.is_finite() {
            return Err(TrainError::NonFinite(format!(
                "the training loss is {loss_value} at {}: stopping; the last checkpoint is left as \
                    it was (a lower --lr or --clip-grad-norm may help)",
                where_()
            )));
        }
        let mut grads = tape.backward(loss)?;
        let preds = argmax_rows(&tape.value(logits)?.to_f32_vec()?, self.model.num_classes());
        drop(tape);
        if epoch < self.config.freeze_epochs {
            for &id in &self.config.frozen {
                grads.take_param(id);
                grads.take_rows(id);
            }
        }
        if let Some(max) = self.config.clip_grad_norm {
            let total = clip_grad_norm(&mut grads, max)?;
            if !total.is_finite() {
                return Err(TrainError::NonFinite(format!(
                    "the gradient norm is {total} at {}: stopping; the last checkpoint is left as \
                        it was",
                    where_()
                )));
            }
        }
        self.opt.step(&mut self.store, &mut grads)?;
        let st = &mut self.progress.stats;
        st.loss_sum += loss_value;
        st.correct += preds
            .iter()
            .zip(&batch.labels)
            .filter(|(p, l)| p == l)
            .count();
        st.count += batch.len();
        st.batches += 1;
        self.progress.step += 1;
        self.progress.batch += 1;
        self.progress.samples += batch.len();
        Ok(())
    }

    /// Validation, test, best model, schedule and early stopping after epoch `epoch`.
    fn end_epoch(&mut self, data: &Datasets<'_>, epoch: usize) -> Result<EpochSummary> {
        self.opt.sync(&mut self.store)?;
        let eb = self.config.eval_batch_size;
        let valid = data
            .valid
            .map(|v| evaluate(self.model, &self.store, v, eb))
            .transpose()?;
        let test_accuracy = data
            .test
            .map(|t| evaluate(self.model, &self.store, t, eb).map(|e| e.scores.accuracy()))
            .transpose()?;
        let metric = self.config.metric;
        let mut best = false;
        if let Some(v) = &valid {
            let value = v.metric(metric);
            if self
                .progress
                .best
                .is_none_or(|b| metric.better(value, b.value))
            {
                self.progress.best = Some(Best {
                    epoch: epoch + 1,
                    value,
                });
                self.progress.bad_epochs = 0;
                self.best_store = Some(self.store.clone());
                best = true;
            } else {
                self.progress.bad_epochs += 1;
            }
            if let Some(s) = self.progress.schedule.as_mut() {
                s.on_epoch(value, metric.higher_is_better());
            }
        }
        let st = std::mem::take(&mut self.progress.stats);
        let summary = EpochSummary {
            epoch: epoch + 1,
            samples: st.count,
            mean_loss: st.loss_sum / st.batches.max(1) as f64,
            train_accuracy: st.correct as f64 / st.count.max(1) as f64,
            valid,
            test_accuracy,
            lr: self.opt.lr(),
            seconds: st.seconds,
            best,
        };
        let v = summary.valid.as_ref();
        self.metrics
            .push(json!({"kind": "epoch", "epoch": summary.epoch,
            "samples": summary.samples,
            "mean_loss": summary.mean_loss, "train_accuracy": summary.train_accuracy,
            "valid_loss": v.map(|v| v.loss), "valid_accuracy": v.map(|v| v.scores.accuracy()),
            "valid_macro_f1": v.map(|v| v.scores.macro_f1()),
                "test_accuracy": summary.test_accuracy,
            "lr": summary.lr, "best": summary.best, "seconds": summary.seconds,
            "samples_per_s": summary.samples as f64 / summary.seconds.max(1e-9)}));
        self.progress.epoch += 1;
        self.progress.batch = 0;
        self.progress.stats = EpochStats {
            next_report: self.config.report_every,
            ..EpochStats::default()
        };
        if let Some(p) = self.config.patience {
            if self.progress.bad_epochs >= p {
                let b = self.progress.best.map_or(0, |b| b.epoch);
                self.progress.finished = Some(format!(
                    "early stop: no validation {} improvement for {p} epochs (best: epoch {b})",
                    metric.name()
                ));
                self.metrics
                    .push(json!({"kind": "early_stop", "epoch": epoch + 1, "best_epoch": b}));
            }
        }
        Ok(summary)
    }
}
