//! Language modelling as a [`Task`] of the one loop ([`LanguageModeling`]), as PyTorch's
//! `examples/word_language_model` trains: each epoch walks the `B` parallel streams in
//! windows of `bptt` steps from a zero state, carrying the (detached) state from window to
//! window; the loss is the mean cross-entropy over every predicted token; the best epoch
//! is the one of lowest validation loss (training loss without validation data). The
//! rate's division when validation stalls is the loop's plateau schedule. Its records:
//! [`LmRecords`].

use std::sync::Arc;

use recur_autograd::Tape;
use recur_data::Streams;
use recur_layers::{LanguageModel, LmState, ParamStore, Rng};
use recur_tensor::{Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::engine::progress::EpochStats;
use crate::engine::records::{EpochRecord, Records, Report};
use crate::engine::task::{Batches, Evaluated, Judged, ReportUnit, Stepped, Task};
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

/// One window: `inputs [T, B]` time-major and the next token of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Token ids `[T, B]`.
    pub inputs: Vec<usize>,
    /// The token after each input.
    pub targets: Vec<usize>,
    /// Streams `B`.
    pub streams: usize,
}

/// Training a [`LanguageModel`] on token streams.
pub struct LanguageModeling<'a, B: Backend> {
    model: &'a LanguageModel,
    train: Arc<Streams>,
    valid: Option<&'a Streams>,
    bptt: usize,
    state: Option<LmState<B>>,
}

impl<'a, B: Backend> LanguageModeling<'a, B> {
    /// `model` trained on `train` in windows of `bptt` steps, validated on `valid`.
    pub fn new(
        model: &'a LanguageModel,
        train: Streams,
        valid: Option<&'a Streams>,
        bptt: usize,
    ) -> Result<Self> {
        if bptt == 0 {
            return Err(TrainError::setting("bptt", "must be at least 1"));
        }
        Ok(LanguageModeling {
            model,
            train: Arc::new(train),
            valid,
            bptt,
            state: None,
        })
    }

    /// Steps per window.
    pub fn bptt(&self) -> usize {
        self.bptt
    }
}

/// The record types of language modelling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LmRecords;

/// A language model's progress report fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmReport {
    /// Perplexity since the previous report (`exp(interval_loss)`).
    #[serde(default)]
    pub ppl: f64,
}

/// A language model's epoch record fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmEpoch {
    /// Training perplexity of the epoch.
    #[serde(default)]
    pub train_ppl: f64,
    /// Validation perplexity.
    #[serde(default)]
    pub valid_ppl: Option<f64>,
}

/// What the evaluation after an epoch found.
#[derive(Clone, Debug, PartialEq)]
pub struct LmEval {
    /// Mean validation loss per token.
    pub valid_loss: Option<f64>,
}

impl Records for LmRecords {
    type Tally = ();
    type Report = LmReport;
    type Epoch = LmEpoch;
    type Eval = LmEval;

    fn add(_: &mut (), _: &()) {}

    fn report(stats: &EpochStats<()>) -> LmReport {
        LmReport {
            ppl: (stats.interval_loss_sum / stats.interval_batches.max(1) as f64).exp(),
        }
    }

    /// PyTorch's word_language_model line.
    fn report_line(r: &Report<LmReport>) -> String {
        format!(
            "| epoch {} | {:>5}/{} windows | lr {:.4} | ms/window {:.1} | loss {:.3} | ppl {:.2}",
            r.epoch, r.batch, r.batches, r.lr, r.ms_per_batch, r.interval_loss, r.task.ppl
        )
    }

    fn epoch_line(e: &EpochRecord<LmEpoch>) -> String {
        let valid = match (e.valid_loss, e.task.valid_ppl) {
            (Some(l), Some(p)) => format!(", valid loss {l:.3} ppl {p:.2}"),
            _ => String::new(),
        };
        format!(
            "epoch {}: train loss {:.3} ppl {:.2}{valid}{}, lr {}",
            e.epoch,
            e.train_loss,
            e.task.train_ppl,
            if e.best { " (best)" } else { "" },
            e.lr
        )
    }

    fn epoch(stats: &EpochStats<()>, eval: &LmEval) -> LmEpoch {
        LmEpoch {
            train_ppl: stats.mean_loss().exp(),
            valid_ppl: eval.valid_loss.map(f64::exp),
        }
    }
}

impl<B: Backend> Task<B> for LanguageModeling<'_, B> {
    type Batch = Window;
    type Records = LmRecords;

    fn report_unit(&self) -> ReportUnit {
        ReportUnit::Batches
    }

    fn has_validation(&self) -> bool {
        self.valid.is_some()
    }

    fn metric_name(&self) -> &'static str {
        "loss"
    }

    fn batches_per_epoch(&self) -> usize {
        self.train.starts(self.bptt).count()
    }

    fn epoch_samples(&self) -> usize {
        self.train.predictions()
    }

    fn samples_per_batch(&self) -> usize {
        self.bptt * self.train.batch()
    }

    fn batches(&self, _epoch: usize, skip: usize) -> Result<Batches<Window>> {
        let (train, bptt) = (self.train.clone(), self.bptt);
        let starts: Vec<usize> = train.starts(bptt).skip(skip).collect();
        Ok(Box::new(starts.into_iter().map(move |start| {
            let (inputs, targets) = train.window(start, bptt);
            Ok(Window {
                inputs,
                targets,
                streams: train.batch(),
            })
        })))
    }

    fn samples(&self, batch: &Window) -> usize {
        batch.targets.len()
    }

    fn rows<'b>(&self, batch: &'b Window) -> &'b [usize] {
        &batch.inputs
    }

    fn start_epoch(&mut self, store: &ParamStore<B>) -> Result<()> {
        self.state = Some(self.model.zero_state(store, self.train.batch())?);
        Ok(())
    }

    fn step(
        &mut self,
        store: &ParamStore<B>,
        batch: &Window,
        rng: &mut Rng,
    ) -> Result<Stepped<B, ()>> {
        let tape = Tape::new(store.backend());
        let (logits, next) = self.model.forward(
            &tape,
            store,
            &batch.inputs,
            batch.streams,
            self.state.as_ref(),
            Some(rng),
        )?;
        let loss = tape.cross_entropy(logits, &batch.targets)?;
        self.state = Some(next);
        Ok(Stepped {
            loss: tape.value(loss)?.scalar()?,
            grads: tape.backward(loss)?,
            tally: (),
        })
    }

    fn evaluate(&self, store: &ParamStore<B>, train_loss: f64) -> Result<Evaluated<LmEval>> {
        let valid_loss = self
            .valid
            .map(|v| lm_loss(self.model, store, v, self.bptt))
            .transpose()?;
        Ok(Evaluated {
            valid_loss,
            judged: Some(Judged {
                value: valid_loss.unwrap_or(train_loss),
                higher_is_better: false,
                from_validation: valid_loss.is_some(),
            }),
            eval: LmEval { valid_loss },
        })
    }

    fn carried(&self) -> Vec<(String, Tensor<B>)> {
        let Some(s) = &self.state else {
            return Vec::new();
        };
        let mut out = vec![("h".to_string(), s.h.clone())];
        if let Some(c) = &s.c {
            out.push(("c".to_string(), c.clone()));
        }
        out
    }

    fn restore_carried(&mut self, carried: Vec<(String, Tensor<B>)>) -> Result<()> {
        if carried.is_empty() {
            return Err(TrainError::Invalid(
                "the checkpoint stopped inside an epoch but keeps no carried state (h, c)".into(),
            ));
        }
        let mut h = None;
        let mut c = None;
        for (name, t) in carried {
            match name.as_str() {
                "h" => h = Some(t),
                "c" => c = Some(t),
                other => {
                    return Err(TrainError::Invalid(format!(
                        "the checkpoint carries state {other:?}; a language model carries h and c"
                    )))
                }
            }
        }
        let cfg = &self.model.config;
        let want = [cfg.num_layers, self.train.batch(), cfg.hidden_dim];
        let lstm = cfg.cell == recur_tensor::CellKind::Lstm;
        let fits = |t: &Option<Tensor<B>>| t.as_ref().is_some_and(|t| t.shape() == want);
        if !fits(&h) || (lstm != c.is_some()) || (lstm && !fits(&c)) {
            return Err(TrainError::Invalid(format!(
                "the checkpoint's carried state does not fit this model: expected h{} [{}, {}, {}]",
                if lstm { " and c" } else { "" },
                want[0],
                want[1],
                want[2]
            )));
        }
        self.state = h.map(|h| LmState { h, c });
        Ok(())
    }
}
