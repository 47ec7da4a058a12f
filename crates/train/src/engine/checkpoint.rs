//! A [`Trainer`]'s run folder: resuming from its checkpoint, and committing the checkpoint,
//! the best model and the metrics as one unit (written on a thread while training goes on).
//! `checkpoint/state.json` is a [`CheckpointState`]: the schema version, the task, the
//! loop's [`Progress`] and the data fingerprint the run was started on.

use recur_layers::StateValue;
use recur_tensor::Backend;

use super::{Observer, Trainer};
use crate::engine::records::{records_from_jsonl, records_to_jsonl};
use crate::engine::task::Task;
use crate::params_io::{load_params_bytes, params_to_bytes, state_from_bytes, state_to_bytes};
use crate::run::Fingerprint;
use crate::run::{
    read_run_file, safetensors_bound, CheckpointState, Entry, MAX_METRICS_BYTES, RUN_SCHEMA_VERSION,
};
use crate::{Result, RngState, TrainError};

/// The parameters of the checkpoint.
const PARAMS: &str = "checkpoint/params.safetensors";
/// The optimizer's state.
const OPTIMIZER: &str = "checkpoint/optimizer.safetensors";
/// The loop's position.
const STATE: &str = "checkpoint/state.json";
/// State the task carries from batch to batch (absent when it carries none).
const CARRIED: &str = "checkpoint/carried.safetensors";

impl<B: Backend, T: Task<B>> Trainer<B, T> {
    /// Continues the run checkpointed in the output folder: parameters, optimizer state,
    /// position, generators, schedule, best model, metrics and the task's carried state
    /// come from its `checkpoint/`. A checkpoint of another task, another schema version
    /// or other data is refused.
    pub fn resume(&mut self) -> Result<()> {
        let out = self
            .out
            .as_ref()
            .ok_or_else(|| TrainError::Invalid("resuming needs the run folder as output".into()))?;
        let dir = out.dir().to_path_buf();
        let state: CheckpointState<_> = CheckpointState::read(&dir)?;
        if state.task != out.task {
            return Err(TrainError::run_folder(
                dir.join(STATE),
                format!(
                    "a checkpoint of a {} run, not of a {} run",
                    state.task, out.task
                ),
            ));
        }
        state.check_files(&dir)?;
        if let (Some(saved), Some(now)) = (&state.fingerprint, &out.fingerprint) {
            if let Some(what) = saved.differs(now) {
                return Err(TrainError::Changed { dir, what });
            }
        }
        let progress = state.progress;
        self.check_progress(&progress)
            .map_err(|e| TrainError::run_folder(dir.join(STATE), e))?;
        let elements: usize = self.store.iter().map(|(_, _, t)| t.numel()).sum();
        let params_max = safetensors_bound(elements, self.store.len());
        let (bytes, path) = read_run_file(&dir, PARAMS, params_max)?;
        load_params_bytes(&mut self.store, &bytes, &path)?;
        let (bytes, path) = read_run_file(&dir, OPTIMIZER, params_max.saturating_mul(3))?;
        let opt_state = state_from_bytes(self.store.backend(), &bytes, &path)?;
        self.opt.import_state(&mut self.store, opt_state)?;
        self.best_store = match progress.best {
            Some(_) => {
                let (bytes, path) = read_run_file(&dir, "model.safetensors", params_max)?;
                let mut best = self.store.clone();
                load_params_bytes(&mut best, &bytes, &path)?;
                Some(best)
            }
            None => None,
        };
        let (text, path) = read_run_file(&dir, "metrics.jsonl", MAX_METRICS_BYTES)?;
        let text = String::from_utf8(text)
            .map_err(|_| TrainError::run_folder(&path, "not valid UTF-8"))?;
        self.records = records_from_jsonl(&text, &path)?;
        self.rng = progress
            .dropout_rng
            .restore()
            .map_err(|e| TrainError::run_folder(dir.join(STATE), e))?;
        // mid-epoch, the task continues from the state it carried (none at an epoch's start)
        if progress.batch > 0 {
            let carried = if dir.join(CARRIED).exists() {
                let (bytes, path) = read_run_file(&dir, CARRIED, params_max)?;
                state_from_bytes(self.store.backend(), &bytes, &path)?
                    .into_iter()
                    .map(|(name, v)| match v {
                        StateValue::Tensor(t) => Ok((name, t)),
                        StateValue::Counters(_) => Err(TrainError::run_folder(
                            &path,
                            format!("{name} is a counter, not a tensor"),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            self.task.restore_carried(carried)?;
        }
        self.progress = progress;
        if let Some(out) = self.out.as_mut() {
            out.written = true;
            out.best_written = true;
        }
        Ok(())
    }

    /// Refuses a saved position that this run cannot have reached: past its epochs, past
    /// an epoch's batches (all of them done is a position: a save after the last batch,
    /// before the epoch's evaluation), running sums that disagree with the position, a finished run
    /// that is not, a schedule made for another run.
    fn check_progress(
        &self,
        p: &crate::Progress<super::TallyOf<B, T>>,
    ) -> std::result::Result<(), String> {
        let epochs = self.config.epochs;
        let per_epoch = self.task.batches_per_epoch();
        if p.epoch > epochs {
            return Err(format!(
                "epoch {} is past the run's {epochs} epochs",
                p.epoch
            ));
        }
        if p.batch > per_epoch {
            return Err(format!(
                "batch {} is past an epoch of {per_epoch} batches",
                p.batch
            ));
        }
        if p.stats.batches != p.batch || p.stats.samples > self.task.epoch_samples() {
            return Err(format!(
                "the epoch's running sums ({} batches, {} samples) do not match its position \
                 (batch {})",
                p.stats.batches, p.stats.samples, p.batch
            ));
        }
        // one step a batch, every sample an epoch: an unfinished run has taken exactly the
        // steps and samples of its position
        let done = p.epoch.saturating_mul(per_epoch).saturating_add(p.batch);
        let seen = p
            .epoch
            .saturating_mul(self.task.epoch_samples())
            .saturating_add(p.stats.samples);
        let unfinished = p.finished.is_none() && (p.step != done || p.samples != seen);
        if unfinished || p.step > done || p.samples > seen {
            return Err(format!(
                "step {} and {} samples do not match its position (epoch {}, batch {}: {done} \
                 steps)",
                p.step, p.samples, p.epoch, p.batch
            ));
        }
        match &p.finished {
            None if p.epoch >= epochs => {
                return Err(format!(
                    "every epoch ({epochs}) is done but the run is not finished"
                ))
            }
            Some(crate::Finished::Completed { epochs: e }) if *e != epochs || p.epoch != epochs => {
                return Err(format!(
                    "it says {e} epochs were trained, at epoch {} of {epochs}",
                    p.epoch
                ))
            }
            _ => {}
        }
        if p.best.is_some_and(|b| b.epoch > p.epoch || b.epoch == 0) {
            return Err("its best epoch is not one of the epochs trained".into());
        }
        if let Some(s) = &p.schedule {
            if s.config != self.config.schedule || s.total_steps != self.total_steps() {
                return Err(format!(
                    "its schedule was made for another run ({} steps, {:?}), not this one ({} \
                     steps, {:?})",
                    s.total_steps,
                    s.config.kind,
                    self.total_steps(),
                    self.config.schedule.kind
                ));
            }
        }
        Ok(())
    }

    /// Commits the run folder: the caller's files, the best (or, without validation, the
    /// current) parameters as `model.safetensors`, `metrics.jsonl`, and `checkpoint/`.
    /// The optimizer is brought up to date first. The bytes are made here; writing them to
    /// disk runs on a thread while training goes on (one commit in flight at a time).
    pub(super) fn commit(
        &mut self,
        best_changed: bool,
        observer: &mut dyn Observer<T::Records>,
    ) -> Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        if out.wait()? {
            observer.saved(out.writer.dir());
        }
        self.opt.sync(&mut self.store)?;
        self.progress.dropout_rng = RngState::of(&self.rng);
        let params = params_to_bytes(&self.store)?;
        let model = match &self.best_store {
            None => Entry::SameAs(PARAMS.into()),
            Some(_) if out.best_written && !best_changed => Entry::Keep,
            Some(best) => Entry::Bytes(params_to_bytes(best)?),
        };
        let optimizer = state_to_bytes(&self.opt.export_state(&self.store))?;
        let mut own = Fingerprint::default();
        for (name, bytes) in &out.files {
            own.parts.extend(Fingerprint::of_bytes(name, bytes).parts);
        }
        let state = CheckpointState {
            version: RUN_SCHEMA_VERSION,
            task: out.task.to_string(),
            fingerprint: out.fingerprint.clone(),
            files: own,
            progress: self.progress.clone(),
        };
        let state = serde_json::to_vec_pretty(&state)
            .map_err(|e| TrainError::Invalid(format!("serializing the checkpoint state: {e}")))?;
        let metrics = records_to_jsonl(&self.records)?;
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
        files.push((OPTIMIZER.into(), Entry::Bytes(optimizer)));
        files.push((STATE.into(), Entry::Bytes(state)));
        let carried = self.task.carried();
        if !carried.is_empty() && self.progress.batch > 0 {
            let values: Vec<(String, StateValue<B>)> = carried
                .into_iter()
                .map(|(n, t)| (n, StateValue::Tensor(t)))
                .collect();
            files.push((CARRIED.into(), Entry::Bytes(state_to_bytes(&values)?)));
        }
        let writer = out.writer.clone();
        out.pending = Some(std::thread::spawn(move || writer.commit(&files)));
        out.written = true;
        out.best_written = true;
        Ok(())
    }

    /// Waits for the last commit to reach the disk.
    pub(super) fn finish_commits(&mut self, observer: &mut dyn Observer<T::Records>) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            if out.wait()? {
                observer.saved(out.writer.dir());
            }
        }
        Ok(())
    }
}
