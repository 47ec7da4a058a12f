//! Text classification as a [`Task`] of the one loop ([`Classify`]): shuffled batches of
//! encoded texts from a prefetch thread, cross-entropy of the model's logits, the running
//! training accuracy, validation (the best epoch by a [`Metric`]) and test evaluation after
//! every epoch; its records are [`ClassifyRecords`].

use std::sync::Arc;

use recur_autograd::{Grads, Tape, Var};
use recur_data::{Batch, Encoded, Loader, LoaderConfig, Prefetch};
use recur_layers::{ParamStore, Rng};
use recur_tensor::{Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::classify::eval::{argmax_rows, check_examples, choose_bag_share, evaluate, Metric};
use crate::classify::model::Model;
use crate::classify::records::{ClassifyEval, ClassifyRecords, ClassifyTally};
use crate::engine::task::{Batches, Evaluated, Judged, ReportUnit, Task};
use crate::{Result, TrainError};

/// How a classifier is batched and judged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Examples per training batch.
    pub batch_size: usize,
    /// Examples per batch when evaluating (padded models see the padding of a batch).
    pub eval_batch_size: usize,
    /// Seed of the batch order (each epoch its own stream).
    pub seed: u64,
    /// The validation metric for the best model, early stopping and the plateau schedule.
    pub metric: Metric,
    /// Adversarial training (Miyato et al. 2017): each step also trains on the batch with
    /// its embedded tokens moved by this L2 norm per text along the loss's gradient (0:
    /// off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adversarial: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl ClassifyConfig {
    /// Shuffled batches of `batch_size` (evaluated in batches of the same size), seed 0,
    /// the best epoch by accuracy.
    pub fn new(batch_size: usize) -> Self {
        ClassifyConfig {
            batch_size,
            eval_batch_size: batch_size,
            seed: 0,
            metric: Metric::Accuracy,
            adversarial: 0.0,
        }
    }

    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(TrainError::setting("batch_size", "must be at least 1"));
        }
        if self.eval_batch_size == 0 {
            return Err(TrainError::setting("eval_batch_size", "must be at least 1"));
        }
        if !(self.adversarial.is_finite() && self.adversarial >= 0.0) {
            return Err(TrainError::setting(
                "batching.adversarial",
                format!("must be a norm of 0 or more, found {}", self.adversarial),
            ));
        }
        Ok(())
    }
}

impl Default for ClassifyConfig {
    /// The lesson's batches of 16.
    fn default() -> Self {
        ClassifyConfig::new(16)
    }
}

/// The datasets of a classifier run.
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

/// Training a [`Model`] to classify encoded texts.
pub struct Classify<'a, M> {
    model: &'a M,
    data: Datasets<'a>,
    /// Batching and the validation metric.
    pub config: ClassifyConfig,
    /// The zero perturbation of the current step's embedded tokens, whose gradient gives
    /// the adversarial direction (adversarial training only).
    delta: Option<Var>,
}

impl<'a, M> Classify<'a, M> {
    /// `model` trained on `data` as `config` says.
    pub fn new(model: &'a M, data: Datasets<'a>, config: ClassifyConfig) -> Self {
        Classify {
            model,
            data,
            config,
            delta: None,
        }
    }
}

impl<B: Backend, M: Model<B>> Task<B> for Classify<'_, M> {
    type Batch = Batch;
    type Records = ClassifyRecords;

    fn report_unit(&self) -> ReportUnit {
        ReportUnit::Samples
    }

    fn has_validation(&self) -> bool {
        self.data.valid.is_some()
    }

    fn metric_name(&self) -> &'static str {
        self.config.metric.name()
    }

    fn batches_per_epoch(&self) -> usize {
        self.data
            .train
            .len()
            .div_ceil(self.config.batch_size.max(1))
    }

    fn epoch_samples(&self) -> usize {
        self.data.train.len()
    }

    fn samples_per_batch(&self) -> usize {
        self.config.batch_size
    }

    fn batches(&self, epoch: usize, skip: usize) -> Result<Batches<Batch>> {
        self.config.validate()?;
        check_examples(&self.data.train, self.model.num_classes(), "training")?;
        let order = LoaderConfig::shuffled(self.config.batch_size, self.config.seed);
        let loader = Loader::new(self.data.train.len(), order, epoch as u64)?.skip_batches(skip);
        let prefetch = Prefetch::start(self.data.train.clone(), loader, 4);
        Ok(Box::new(prefetch.map(|b| b.map_err(TrainError::from))))
    }

    fn samples(&self, batch: &Batch) -> usize {
        batch.len()
    }

    fn rows<'b>(&self, batch: &'b Batch) -> &'b [usize] {
        &batch.tokens
    }

    fn forward(
        &mut self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        rng: &mut Rng,
    ) -> Result<(Var, ClassifyTally)> {
        self.delta = None;
        let delta = match (self.config.adversarial > 0.0, self.model.embed_dim()) {
            (true, Some(e)) => {
                let shape = [batch.len(), batch.tokens.len() / batch.len().max(1), e];
                let zeros = Tensor::zeros(store.backend(), &shape, store.dtype())?;
                let delta = tape.leaf(zeros, true);
                self.delta = Some(delta);
                Some(delta)
            }
            (true, None) => {
                return Err(TrainError::setting(
                    "batching.adversarial",
                    "needs a model with an embedding to perturb",
                ))
            }
            (false, _) => None,
        };
        let heads = self.model.heads(tape, store, batch, delta, Some(rng))?;
        // each head learns on its own loss; their mix is chosen on validation data
        let mut loss = tape.cross_entropy(heads.recurrent, &batch.labels)?;
        if let Some(bag) = heads.bag {
            loss = tape.add(loss, tape.cross_entropy(bag, &batch.labels)?)?;
        }
        let logits = self.model.mix(tape, store, heads)?;
        let preds = argmax_rows(&tape.value(logits)?.to_f32_vec()?, self.model.num_classes());
        let correct = preds
            .iter()
            .zip(&batch.labels)
            .filter(|(p, l)| p == l)
            .count();
        Ok((loss, ClassifyTally { correct }))
    }

    fn extra_grads(
        &mut self,
        store: &ParamStore<B>,
        batch: &Batch,
        first: &Grads<B>,
        rng: &mut Rng,
    ) -> Result<Option<Grads<B>>> {
        let Some(g) = self.delta.take().and_then(|d| first.get(d).cloned()) else {
            return Ok(None);
        };
        let (shape, dtype) = (g.shape().to_vec(), g.dtype());
        let mut r = g.to_f64_vec()?;
        // r = ε g / ‖g‖ for each text, the norm over all its steps and dimensions
        let per_text = r.len() / shape[0].max(1);
        for text in r.chunks_mut(per_text.max(1)) {
            let norm = text.iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = if norm > 0.0 {
                self.config.adversarial / norm
            } else {
                0.0
            };
            text.iter_mut().for_each(|x| *x *= scale);
        }
        let r = Tensor::from_f64(store.backend(), &shape, &r, dtype)?;
        let tape = Tape::new(store.backend());
        let delta = tape.constant(r);
        // the bag reads no embedding: only the recurrent head has a perturbed loss
        let heads = self
            .model
            .heads(&tape, store, batch, Some(delta), Some(rng))?;
        let loss = tape.cross_entropy(heads.recurrent, &batch.labels)?;
        let grads = tape.backward(loss)?;
        Ok(Some(grads))
    }

    /// Chooses the bag's share of the logits on the validation data (a model with a bag
    /// and validation data only; without validation the share stays as it is).
    fn calibrate(&self, store: &mut ParamStore<B>) -> Result<()> {
        if let (Some(bag), Some(valid)) = (self.model.bag(), self.data.valid) {
            let eb = self.config.eval_batch_size;
            let share = choose_bag_share(self.model, store, valid, eb)?;
            bag.set_share(store, share)?;
        }
        Ok(())
    }

    fn evaluate(&self, store: &ParamStore<B>, _train_loss: f64) -> Result<Evaluated<ClassifyEval>> {
        let eb = self.config.eval_batch_size;
        let valid = self
            .data
            .valid
            .map(|v| evaluate(self.model, store, v, eb))
            .transpose()?;
        let test = self
            .data
            .test
            .map(|t| evaluate(self.model, store, t, eb))
            .transpose()?;
        let metric = self.config.metric;
        Ok(Evaluated {
            valid_loss: valid.as_ref().map(|v| v.loss),
            judged: valid.as_ref().map(|v| Judged {
                value: v.metric(metric),
                higher_is_better: metric.higher_is_better(),
                from_validation: true,
            }),
            eval: ClassifyEval { valid, test },
        })
    }
}
