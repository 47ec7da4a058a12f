//! The training loop: seeded batches, forward, loss, backward, clipping, the optimizer step
//! at the schedule's rate; progress reports; after each epoch validation, test, best-model
//! selection, the plateau schedule and early stopping; checkpoints committed with the run
//! folder at each epoch end and every `save_every` steps. A non-finite loss or gradient
//! norm stops the run with an error and leaves the last checkpoint as it was.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use recur_autograd::Tape;
use recur_data::{Encoded, Loader, LoaderConfig, Prefetch};
use recur_layers::{clip_grad_norm, Optimizer, ParamStore, Rng};
use recur_tensor::Backend;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::commit::{Entry, RunWriter};
use crate::metrics::{argmax_rows, evaluate, Evaluation, Metric};
use crate::params_io::{load_params_bytes, params_to_bytes, state_from_bytes, state_to_bytes};
use crate::progress::{Best, EpochStats, Progress, RngState};
use crate::{Model, Result, Schedule, ScheduleConfig, ScheduleKind, TrainError};

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Examples per batch when evaluating.
    pub eval_batch_size: usize,
    /// Seed of the batch order (each epoch its own stream).
    pub seed: u64,
    /// Stop after this many training samples, counted across epochs.
    pub limit: Option<usize>,
    /// A progress report every this many samples of an epoch.
    pub report_every: usize,
    /// Clip the gradients' global L2 norm to this (`clip_grad_norm_`).
    pub clip_grad_norm: Option<f64>,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// Stop when the validation metric has not improved for this many epochs.
    pub patience: Option<usize>,
    /// The validation metric for the best model, early stopping and the plateau schedule.
    pub metric: Metric,
    /// Also checkpoint every this many optimizer steps.
    pub save_every: Option<usize>,
    /// Parameters (by index) kept fixed for the first `freeze_epochs` epochs (their
    /// gradients are dropped before clipping and the step, so the optimizer skips them).
    #[serde(default)]
    pub frozen: Vec<usize>,
    /// Epochs during which `frozen` stays fixed.
    #[serde(default)]
    pub freeze_epochs: usize,
}

impl Default for TrainConfig {
    /// The lesson's: one epoch of batches of 16, reports every 3,200 samples.
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            batch_size: 16,
            eval_batch_size: 16,
            seed: 0,
            limit: None,
            report_every: 3200,
            clip_grad_norm: None,
            schedule: ScheduleConfig::default(),
            patience: None,
            metric: Metric::Accuracy,
            save_every: None,
            frozen: Vec::new(),
            freeze_epochs: 0,
        }
    }
}

impl TrainConfig {
    /// `epochs` epochs of shuffled batches of `batch_size` (evaluated in batches of the
    /// same size), the defaults otherwise.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        TrainConfig {
            epochs,
            batch_size,
            eval_batch_size: batch_size,
            ..TrainConfig::default()
        }
    }

    /// Refuses settings that cannot work, before anything runs.
    pub fn validate(&self, has_valid: bool) -> Result<()> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if self.epochs == 0 || self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("epochs and batch sizes must be at least 1".into());
        }
        if self.report_every == 0 || self.limit == Some(0) || self.save_every == Some(0) {
            return bad("--report-every, --limit and --save-every must be at least 1".into());
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return bad(format!(
                    "the clipping norm must be positive and finite, found {c}"
                ));
            }
        }
        let s = &self.schedule;
        if s.kind == ScheduleKind::Plateau {
            if !has_valid {
                return bad(
                    "the plateau schedule needs a validation set (--valid or --valid-fraction)"
                        .into(),
                );
            }
            if !(s.factor > 0.0 && s.factor < 1.0) {
                return bad(format!(
                    "the plateau factor must be in (0, 1), found {}",
                    s.factor
                ));
            }
        }
        if self.patience.is_some() && !has_valid {
            return bad(
                "early stopping (--patience) needs a validation set (--valid or --valid-fraction)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The datasets of a run.
pub struct Datasets<'a> {
    /// Training examples (shared with the batching thread).
    pub train: Arc<Encoded>,
    /// Validation examples: evaluated after every epoch; they choose the best model.
    pub valid: Option<&'a Encoded>,
    /// Test examples: evaluated after every epoch for reporting only.
    pub test: Option<&'a Encoded>,
}

impl<'a> Datasets<'a> {
    /// Training examples alone.
    pub fn new(train: Encoded) -> Self {
        Datasets {
            train: Arc::new(train),
            valid: None,
            test: None,
        }
    }

    /// The same with validation examples (they choose the best model).
    pub fn with_valid(self, valid: &'a Encoded) -> Self {
        Datasets {
            valid: Some(valid),
            ..self
        }
    }

    /// The same with test examples (evaluated for reporting only).
    pub fn with_test(self, test: &'a Encoded) -> Self {
        Datasets {
            test: Some(test),
            ..self
        }
    }
}

/// One epoch's results, as recorded in `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// 1-based epoch.
    pub epoch: usize,
    /// Samples trained on in it.
    pub samples: usize,
    /// Mean of the batch losses.
    pub mean_loss: f64,
    /// Running training accuracy.
    pub train_accuracy: f64,
    /// Validation results.
    pub valid: Option<Evaluation>,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// The learning rate at its end.
    pub lr: f64,
    /// Training seconds.
    pub seconds: f64,
    /// Whether this epoch's parameters are the best so far.
    pub best: bool,
}

/// What a caller hears while a run goes on. Every method has a default that does nothing.
pub trait Observer {
    /// An epoch starts (0-based) with `samples` samples to train on.
    fn epoch_started(&mut self, _epoch: usize, _samples: usize) {}
    /// A batch of `samples` samples was trained on.
    fn batch_done(&mut self, _samples: usize) {}
    /// A progress report (`{"kind": "report", "epoch", "samples", "train_accuracy",
    /// "mean_loss"}`).
    fn report(&mut self, _record: &Value) {}
    /// An epoch ended.
    fn epoch_done(&mut self, _summary: &EpochSummary) {}
    /// A checkpoint was committed to the run folder.
    fn saved(&mut self, _dir: &Path) {}
    /// Polled after every batch: true stops the run after it (saved, resumable).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that hears nothing.
pub struct Silent;

impl Observer for Silent {}

/// How a call to [`Trainer::fit`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitSummary {
    /// Samples trained on in the whole run.
    pub samples: usize,
    /// Training seconds of the whole run.
    pub train_seconds: f64,
    /// The last epoch's running training accuracy.
    pub train_accuracy: f64,
    /// The last epoch's validation accuracy.
    pub valid_accuracy: Option<f64>,
    /// The last epoch's test accuracy.
    pub test_accuracy: Option<f64>,
    /// The best validation epoch and value.
    pub best: Option<Best>,
    /// Stopped by the observer (resumable when `saved`).
    pub interrupted: bool,
    /// The run folder holds a commit of this run (false: nothing was written, e.g. an
    /// interrupt before the first checkpoint left a previous run in the folder as it was).
    pub saved: bool,
    /// Why the run finished (`None` when interrupted).
    pub finished: Option<String>,
}

/// Where a run is written: the folder, and the caller's files that belong with the model
/// (e.g. `config.json`, `vocab.txt`) plus a JSON value kept in the checkpoint (e.g. the
/// command line, to resume with).
pub struct RunOutput {
    writer: Arc<RunWriter>,
    files: Vec<(String, Vec<u8>)>,
    extra: Value,
    /// The folder held another run when this one started.
    replaces: bool,
    written: bool,
    best_written: bool,
    /// The commit being written to disk while training goes on.
    pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunOutput {
    /// Opens the run folder `dir` for writing (taking its lock, checking it can be
    /// written) with the caller's `files` and `extra`.
    pub fn open(dir: &Path, files: Vec<(String, Vec<u8>)>, extra: Value) -> Result<RunOutput> {
        Ok(Self::with_writer(RunWriter::open(dir)?, files, extra))
    }

    /// [`RunOutput::open`] with a writer opened earlier (to check `--out` before loading
    /// data).
    pub fn with_writer(
        writer: RunWriter,
        files: Vec<(String, Vec<u8>)>,
        extra: Value,
    ) -> RunOutput {
        let replaces = writer.dir().exists();
        RunOutput {
            writer: Arc::new(writer),
            files,
            extra,
            replaces,
            written: false,
            best_written: false,
            pending: None,
        }
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        self.writer.dir()
    }

    /// Waits for the commit in flight, if any, and returns its result.
    fn wait(&mut self) -> Result<bool> {
        match self.pending.take() {
            None => Ok(false),
            Some(h) => h
                .join()
                .map_err(|_| TrainError::Checkpoint("the checkpoint writer panicked".into()))?
                .map(|()| true),
        }
    }
}

impl Drop for RunOutput {
    /// A commit in flight is finished, so that the last checkpoint is whole when the run
    /// ends, whatever way it ends.
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// The `extra` value a checkpoint of the run folder `dir` was saved with.
pub fn checkpoint_extra(dir: &Path) -> Result<Value> {
    Ok(read_state(dir)?.1)
}

fn read_state(dir: &Path) -> Result<(Progress, Value)> {
    read_checkpoint_state(dir)
}

/// The `progress` (of either loop) and `extra` of the checkpoint in `dir`.
pub(crate) fn read_checkpoint_state<P: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<(P, Value)> {
    let path = dir.join("checkpoint/state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        TrainError::Checkpoint(format!(
            "{}: no checkpoint to resume from ({e})",
            path.display()
        ))
    })?;
    #[derive(Deserialize)]
    struct State<P> {
        progress: P,
        extra: Value,
    }
    let s: State<P> = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
    Ok((s.progress, s.extra))
}

/// The bytes of file `rel` of the run folder `dir`, and its path (for messages).
pub(crate) fn read_run_file(dir: &Path, rel: &str) -> Result<(Vec<u8>, std::path::PathBuf)> {
    let p = dir.join(rel);
    std::fs::read(&p)
        .map(|b| (b, p.clone()))
        .map_err(|e| TrainError::io(&p, e))
}

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

    /// Continues the run checkpointed in the output folder: parameters, optimizer state,
    /// position, generators, schedule, best model and metrics come from its `checkpoint/`.
    pub fn resume(&mut self) -> Result<()> {
        let dir = self
            .out
            .as_ref()
            .map(|o| o.dir().to_path_buf())
            .ok_or_else(|| TrainError::Invalid("resuming needs the run folder as output".into()))?;
        let (progress, _) = read_state(&dir)?;
        let read = |rel: &str| read_run_file(&dir, rel);
        let (bytes, path) = read("checkpoint/params.safetensors")?;
        load_params_bytes(&mut self.store, &bytes, &path)?;
        let (bytes, path) = read("checkpoint/optimizer.safetensors")?;
        let state = state_from_bytes(self.store.backend(), &bytes, &path)?;
        self.opt.import_state(&mut self.store, state)?;
        if progress.best.is_some() {
            let (bytes, path) = read("model.safetensors")?;
            let mut best = self.store.clone();
            load_params_bytes(&mut best, &bytes, &path)?;
            self.best_store = Some(best);
        }
        let (text, path) = read("metrics.jsonl")?;
        self.metrics = String::from_utf8_lossy(&text)
            .lines()
            .map(serde_json::from_str)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
        self.rng = progress
            .dropout_rng
            .restore()
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.display())))?;
        self.progress = progress;
        if let Some(out) = self.out.as_mut() {
            out.written = true;
            out.best_written = true;
        }
        Ok(())
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

    /// Commits the run folder: the caller's files, the best (or, without validation, the
    /// current) parameters as `model.safetensors`, `metrics.jsonl`, and `checkpoint/`.
    /// The optimizer is brought up to date first. The bytes are made here; writing them to
    /// disk runs on a thread while training goes on (one commit in flight at a time).
    fn commit(&mut self, best_changed: bool, observer: &mut dyn Observer) -> Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        if out.wait()? {
            observer.saved(out.writer.dir());
        }
        self.opt.sync(&mut self.store)?;
        self.progress.dropout_rng = RngState::of(&self.rng);
        let params = params_to_bytes(&self.store)?;
        const PARAMS: &str = "checkpoint/params.safetensors";
        let model = match &self.best_store {
            None => Entry::SameAs(PARAMS.into()),
            Some(_) if out.best_written && !best_changed => Entry::Keep,
            Some(best) => Entry::Bytes(params_to_bytes(best)?),
        };
        let optimizer = state_to_bytes(&self.opt.export_state(&self.store))?;
        let state =
            serde_json::to_vec_pretty(&json!({"progress": &self.progress, "extra": &out.extra}))
                .map_err(|e| TrainError::Checkpoint(format!("serializing the state: {e}")))?;
        let mut metrics = String::new();
        for m in &self.metrics {
            metrics.push_str(&m.to_string());
            metrics.push('\n');
        }
        let mut files: Vec<(String, Entry)> = out
            .files
            .iter()
            .map(|(name, bytes)| {
                let e = if out.written {
                    Entry::Keep
                } else {
                    Entry::Bytes(bytes.clone())
                };
                (name.clone(), e)
            })
            .collect();
        files.push((PARAMS.into(), Entry::Bytes(params)));
        files.push(("model.safetensors".into(), model));
        files.push(("metrics.jsonl".into(), Entry::Bytes(metrics.into_bytes())));
        files.push((
            "checkpoint/optimizer.safetensors".into(),
            Entry::Bytes(optimizer),
        ));
        files.push(("checkpoint/state.json".into(), Entry::Bytes(state)));
        let writer = out.writer.clone();
        out.pending = Some(std::thread::spawn(move || writer.commit(&files)));
        out.written = true;
        out.best_written = true;
        Ok(())
    }

    /// Waits for the last commit to reach the disk.
    fn finish_commits(&mut self, observer: &mut dyn Observer) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            if out.wait()? {
                observer.saved(out.writer.dir());
            }
        }
        Ok(())
    }
}
