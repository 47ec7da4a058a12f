//! Training a [`LanguageModel`] as PyTorch's `examples/word_language_model` does: each
//! epoch walks the `B` parallel streams in windows of `bptt` steps from a zero state,
//! carrying the (detached) state from window to window; the loss is the mean cross-entropy
//! over every predicted token; gradients are clipped to a global norm and the optimizer
//! steps (plain SGD at lr 20 in the example); after an epoch whose validation loss did not
//! improve the rate is divided by `lr_decay` (4). The best model by validation perplexity
//! is kept, and the run folder is committed as one unit at every epoch end, so `--resume`
//! continues exactly from the last one. A non-finite loss or gradient norm stops the run.

use std::path::Path;
use std::time::Instant;

use recur_autograd::Tape;
use recur_data::Streams;
use recur_layers::{clip_grad_norm, LanguageModel, Optimizer, ParamStore, Rng};
use recur_tensor::Backend;
use serde_json::{json, Value};

use crate::commit::{Entry, RunWriter};
use crate::lm_config::{LmFit, LmObserver, LmProgress, LmTrainConfig};
use crate::params_io::{params_to_bytes, state_to_bytes};
use crate::progress::{Best, RngState};
use crate::run_output::{read_checkpoint_state, restore_checkpoint};
use crate::{Result, TrainError};

/// Mean cross-entropy per predicted token of `model` over `data` (windows of `bptt`, the
/// state carried, no dropout): `ln` of the perplexity.
pub fn lm_loss<B: Backend>(
    model: &LanguageModel,
    store: &ParamStore<B>,
    data: &Streams,
    bptt: usize,
) -> Result<f64> {
    let mut state = None;
    let mut total = 0.0;
    for start in data.starts(bptt) {
        let (inputs, targets) = data.window(start, bptt);
        let tape = Tape::no_grad(store.backend());
        let (logits, next) =
            model.forward(&tape, store, &inputs, data.batch(), state.as_ref(), None)?;
        let loss = tape
            .value(tape.cross_entropy(logits, &targets)?)?
            .scalar()?;
        if !loss.is_finite() {
            return Err(TrainError::NonFinite(format!(
                "the evaluation loss is {loss} at window row {start}: the parameters are not usable"
            )));
        }
        total += loss * targets.len() as f64;
        state = Some(next);
    }
    Ok(total / data.predictions() as f64)
}

/// A language-model training run.
pub struct LmTrainer<'m, B: Backend> {
    /// How it trains.
    pub config: LmTrainConfig,
    model: &'m LanguageModel,
    store: ParamStore<B>,
    best_store: Option<ParamStore<B>>,
    opt: Box<dyn Optimizer<B> + Send>,
    rng: Rng,
    progress: LmProgress,
    metrics: Vec<Value>,
    out: Option<Output>,
}

/// The run folder: its writer, the caller's files and the JSON kept with the checkpoint.
struct Output {
    writer: RunWriter,
    files: Vec<(String, Vec<u8>)>,
    extra: Value,
}

impl<'m, B: Backend> LmTrainer<'m, B> {
    /// A run of `model` over `store` with `opt` (whose rate starts it); dropout draws from
    /// `rng`.
    pub fn new(
        config: LmTrainConfig,
        model: &'m LanguageModel,
        store: ParamStore<B>,
        opt: Box<dyn Optimizer<B> + Send>,
        rng: Rng,
    ) -> Self {
        let progress = LmProgress {
            epoch: 0,
            step: 0,
            lr: opt.lr(),
            best: None,
            dropout_rng: RngState::of(&rng),
            train_seconds: 0.0,
        };
        LmTrainer {
            config,
            model,
            store,
            best_store: None,
            opt,
            rng,
            progress,
            metrics: Vec::new(),
            out: None,
        }
    }

    /// Commits the run folder of `writer` at every epoch end, with the caller's `files`
    /// (config, vocabulary) and `extra` (kept in `checkpoint/state.json`, e.g. the flags).
    pub fn with_output(
        mut self,
        writer: RunWriter,
        files: Vec<(String, Vec<u8>)>,
        extra: Value,
    ) -> Self {
        self.out = Some(Output {
            writer,
            files,
            extra,
        });
        self
    }

    /// The current parameters.
    pub fn store(&self) -> &ParamStore<B> {
        &self.store
    }

    /// The best parameters by validation loss (the current ones before any epoch).
    pub fn best_store(&self) -> &ParamStore<B> {
        self.best_store.as_ref().unwrap_or(&self.store)
    }

    /// Where the run is.
    pub fn progress(&self) -> &LmProgress {
        &self.progress
    }

    /// Every record so far (`metrics.jsonl`).
    pub fn metrics(&self) -> &[Value] {
        &self.metrics
    }

    /// Continues the run in the output folder from its last epoch-end checkpoint.
    pub fn resume(&mut self) -> Result<()> {
        let dir = self
            .out
            .as_ref()
            .map(|o| o.writer.dir().to_path_buf())
            .ok_or_else(|| TrainError::Invalid("resuming needs the run folder as output".into()))?;
        let (progress, _) = read_lm_state(&dir)?;
        let restored = restore_checkpoint(
            &dir,
            &mut self.store,
            self.opt.as_mut(),
            &progress.dropout_rng,
            true,
        )?;
        self.opt.set_lr(&mut self.store, progress.lr)?;
        self.best_store = restored.best;
        self.metrics = restored.metrics;
        self.rng = restored.rng;
        self.progress = progress;
        Ok(())
    }

    /// Trains the remaining epochs on `train`, evaluating `valid` after each.
    pub fn fit(
        &mut self,
        train: &Streams,
        valid: Option<&Streams>,
        observer: &mut dyn LmObserver,
    ) -> Result<LmFit> {
        self.config.validate()?;
        let mut last_train = f64::NAN;
        let mut last_valid = None;
        let mut interrupted = false;
        let mut tokens = 0usize;
        let secs_before = self.progress.train_seconds;
        while self.progress.epoch < self.config.epochs {
            let epoch = self.progress.epoch + 1;
            match self.epoch(train, epoch, observer)? {
                None => {
                    interrupted = true;
                    break;
                }
                Some(loss) => last_train = loss,
            }
            tokens += train.predictions();
            let valid_loss = valid
                .map(|v| lm_loss(self.model, &self.store, v, self.config.bptt))
                .transpose()?;
            let judged = valid_loss.unwrap_or(last_train);
            let improved = self.progress.best.is_none_or(|b| judged < b.value);
            if improved {
                self.progress.best = Some(Best {
                    epoch,
                    value: judged,
                });
                self.best_store = Some(self.store.clone());
            }
            let record = json!({
                "kind": "epoch", "epoch": epoch, "lr": self.progress.lr,
                "train_loss": last_train, "train_ppl": last_train.exp(),
                "valid_loss": valid_loss, "valid_ppl": valid_loss.map(f64::exp),
                "best": improved, "train_seconds": self.progress.train_seconds,
            });
            observer.epoch_done(&record);
            self.metrics.push(record);
            if !improved && valid.is_some() {
                let lr = self.progress.lr / self.config.lr_decay;
                self.opt.set_lr(&mut self.store, lr)?;
                self.progress.lr = lr;
            }
            self.progress.epoch = epoch;
            last_valid = valid_loss;
            self.commit()?;
        }
        // training time only (the windows, backward and steps; not the evaluations)
        let secs = self.progress.train_seconds - secs_before;
        Ok(LmFit {
            epochs: self.progress.epoch,
            train_loss: last_train,
            valid_loss: last_valid,
            best: self.progress.best,
            tokens_per_s: if secs > 0.0 {
                tokens as f64 / secs
            } else {
                0.0
            },
            interrupted,
        })
    }

    /// One epoch; its mean training loss, or `None` when the observer stopped it.
    fn epoch(
        &mut self,
        train: &Streams,
        epoch: usize,
        observer: &mut dyn LmObserver,
    ) -> Result<Option<f64>> {
        let bptt = self.config.bptt;
        let windows = train.starts(bptt).count();
        let mut state = Some(self.model.zero_state(&self.store, train.batch())?);
        let (mut sum, mut n, mut interval_sum, mut interval_n) = (0.0, 0usize, 0.0, 0usize);
        let t0 = Instant::now();
        let mut t_interval = Instant::now();
        for (w, start) in train.starts(bptt).enumerate() {
            let (inputs, targets) = train.window(start, bptt);
            self.opt.prepare_rows(&mut self.store, &inputs)?;
            let tape = Tape::new(self.store.backend());
            let (logits, next) = self.model.forward(
                &tape,
                &self.store,
                &inputs,
                train.batch(),
                state.as_ref(),
                Some(&mut self.rng),
            )?;
            let loss = tape.cross_entropy(logits, &targets)?;
            let value = tape.value(loss)?.scalar()?;
            let at = || format!("epoch {epoch}, window {} of {windows}", w + 1);
            if !value.is_finite() {
                return Err(TrainError::NonFinite(format!(
                    "the training loss is {value} at {}: stopping; the last checkpoint is left as \
                        it was (a lower --lr or --clip-grad-norm may help)",
                    at()
                )));
            }
            let mut grads = tape.backward(loss)?;
            drop(tape);
            if let Some(max) = self.config.clip_grad_norm {
                let total = clip_grad_norm(&mut grads, max)?;
                if !total.is_finite() {
                    return Err(TrainError::NonFinite(format!(
                        "the gradient norm is {total} at {}: stopping; the last checkpoint is left \
                            as it was",
                        at()
                    )));
                }
            }
            self.opt.step(&mut self.store, &mut grads)?;
            self.progress.step += 1;
            state = Some(next);
            sum += value;
            n += 1;
            interval_sum += value;
            interval_n += 1;
            if (w + 1) % self.config.log_interval == 0 {
                let loss = interval_sum / interval_n as f64;
                let ms = t_interval.elapsed().as_secs_f64() * 1e3 / interval_n as f64;
                let record = json!({
                    "kind": "report", "epoch": epoch, "window": w + 1, "windows": windows,
                    "lr": self.progress.lr, "ms_per_window": ms, "loss": loss, "ppl": loss.exp(),
                });
                observer.report(&record);
                self.metrics.push(record);
                (interval_sum, interval_n) = (0.0, 0);
                t_interval = Instant::now();
            }
            if observer.stop_requested() {
                self.progress.train_seconds += t0.elapsed().as_secs_f64();
                return Ok(None);
            }
        }
        self.opt.sync(&mut self.store)?;
        self.progress.train_seconds += t0.elapsed().as_secs_f64();
        Ok(Some(sum / n.max(1) as f64))
    }

    /// Commits the run folder: the caller's files, the best model, the checkpoint.
    fn commit(&mut self) -> Result<()> {
        let Some(out) = self.out.as_ref() else {
            return Ok(());
        };
        self.progress.dropout_rng = RngState::of(&self.rng);
        let mut files: Vec<(String, Entry)> = out
            .files
            .iter()
            .map(|(name, bytes)| (name.clone(), Entry::Bytes(bytes.clone())))
            .collect();
        let best = params_to_bytes(self.best_store.as_ref().unwrap_or(&self.store))?;
        let state =
            serde_json::to_vec_pretty(&json!({"progress": &self.progress, "extra": &out.extra}))
                .map_err(|e| TrainError::Checkpoint(format!("serializing the state: {e}")))?;
        let metrics: String = self.metrics.iter().map(|m| format!("{m}\n")).collect();
        files.push(("model.safetensors".into(), Entry::Bytes(best)));
        files.push((
            "checkpoint/params.safetensors".into(),
            Entry::Bytes(params_to_bytes(&self.store)?),
        ));
        files.push((
            "checkpoint/optimizer.safetensors".into(),
            Entry::Bytes(state_to_bytes(&self.opt.export_state(&self.store))?),
        ));
        files.push(("checkpoint/state.json".into(), Entry::Bytes(state)));
        files.push(("metrics.jsonl".into(), Entry::Bytes(metrics.into_bytes())));
        out.writer.commit(&files)
    }
}

/// The progress and `extra` value of the language-model checkpoint in `dir`.
pub fn read_lm_state(dir: &Path) -> Result<(LmProgress, Value)> {
    read_checkpoint_state(dir)
}
