//! A [`Trainer`]'s run folder: resuming from its checkpoint, and committing the checkpoint,
//! the best model and the metrics as one unit (written on a thread while training goes on).

use recur_tensor::Backend;
use serde_json::json;

use super::{Observer, Trainer};
use crate::commit::Entry;
use crate::params_io::{params_to_bytes, state_to_bytes};
use crate::progress::RngState;
use crate::run_output::{read_state, restore_checkpoint};
use crate::{Model, Result, TrainError};

impl<B: Backend, M: Model<B> + Sync> Trainer<'_, B, M> {
    /// Continues the run checkpointed in the output folder: parameters, optimizer state,
    /// position, generators, schedule, best model and metrics come from its `checkpoint/`.
    pub fn resume(&mut self) -> Result<()> {
        let dir = self
            .out
            .as_ref()
            .map(|o| o.dir().to_path_buf())
            .ok_or_else(|| TrainError::Invalid("resuming needs the run folder as output".into()))?;
        let (progress, _) = read_state(&dir)?;
        let restored = restore_checkpoint(
            &dir,
            &mut self.store,
            self.opt.as_mut(),
            &progress.dropout_rng,
            progress.best.is_some(),
        )?;
        self.best_store = restored.best;
        self.metrics = restored.metrics;
        self.rng = restored.rng;
        self.progress = progress;
        if let Some(out) = self.out.as_mut() {
            out.written = true;
            out.best_written = true;
        }
        Ok(())
    }

    /// Commits the run folder: the caller's files, the best (or, without validation, the
    /// current) parameters as `model.safetensors`, `metrics.jsonl`, and `checkpoint/`.
    /// The optimizer is brought up to date first. The bytes are made here; writing them to
    /// disk runs on a thread while training goes on (one commit in flight at a time).
    pub(super) fn commit(&mut self, best_changed: bool, observer: &mut dyn Observer) -> Result<()> {
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
    pub(super) fn finish_commits(&mut self, observer: &mut dyn Observer) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            if out.wait()? {
                observer.saved(out.writer.dir());
            }
        }
        Ok(())
    }
}
