//! Text classification as a [`Task`] of the one loop ([`Classify`]): shuffled batches of
//! encoded texts from a prefetch thread, cross-entropy of the model's logits, the running
//! training accuracy, validation (the best epoch by a [`Metric`]) and test evaluation after
//! every epoch; its records are [`ClassifyRecords`].

use std::sync::Arc;

use recur_data::{Batch, Encoded, Loader, LoaderConfig, Prefetch};
use recur_layers::{ParamStore, Rng};
use recur_tensor::Backend;
use serde::{Deserialize, Serialize};

use crate::classify::bag_share::{choose_bag_share, choose_bag_share_folds};
use crate::classify::eval::{check_examples, evaluate, evaluate_folds};
use crate::classify::members::{member_seed, ClassifyBatch, MemberFolds};
use crate::classify::model::Model;
use crate::classify::records::{ClassifyEval, ClassifyRecords, ClassifyTally};
use crate::classify::scores::Metric;
use crate::engine::task::{Batches, Evaluated, Judged, ReportUnit, Stepped, Task};
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
    /// Or validation folds of the training examples, one per recurrent member, which
    /// trains on the rest: each fold is judged by its own member.
    pub folds: Option<MemberFolds>,
    /// Test examples: evaluated after every epoch for reporting only.
    pub test: Option<&'a Encoded>,
}

impl<'a> Datasets<'a> {
    /// Training examples alone.
    pub fn new(train: Encoded) -> Self {
        Datasets {
            train: Arc::new(train),
            valid: None,
            folds: None,
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

    /// The same with validation folds of the training examples, one per recurrent member
    /// (each validates on its fold and trains on the rest).
    pub fn with_folds(self, folds: MemberFolds) -> Self {
        Datasets {
            folds: Some(folds),
            ..self
        }
    }

    /// Rows each recurrent member trains on.
    fn member_rows(&self) -> usize {
        match &self.folds {
            Some(f) => f.train_rows(),
            None => self.train.len(),
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
    pub(super) model: &'a M,
    data: Datasets<'a>,
    /// Batching and the validation metric.
    pub config: ClassifyConfig,
}

impl<'a, M> Classify<'a, M> {
    /// `model` trained on `data` as `config` says.
    pub fn new(model: &'a M, data: Datasets<'a>, config: ClassifyConfig) -> Self {
        Classify {
            model,
            data,
            config,
        }
    }
}

impl<B: Backend, M: Model<B>> Task<B> for Classify<'_, M> {
    type Batch = ClassifyBatch;
    type Records = ClassifyRecords;

    fn report_unit(&self) -> ReportUnit {
        ReportUnit::Samples
    }

    fn has_validation(&self) -> bool {
        self.data.valid.is_some() || self.data.folds.is_some()
    }

    fn metric_name(&self) -> &'static str {
        self.config.metric.name()
    }

    fn batches_per_epoch(&self) -> usize {
        self.data
            .member_rows()
            .div_ceil(self.config.batch_size.max(1))
    }

    fn epoch_samples(&self) -> usize {
        self.data.member_rows()
    }

    fn samples_per_batch(&self) -> usize {
        self.config.batch_size
    }

    /// Each recurrent member's batches in an order of its own ([`member_seed`]), of the rows
    /// outside its validation fold where it has one, zipped step by step.
    fn batches(&self, epoch: usize, skip: usize) -> Result<Batches<ClassifyBatch>> {
        self.config.validate()?;
        check_examples(&self.data.train, self.model.num_classes(), "training")?;
        let members = self.model.members().max(1);
        if let Some(f) = self
            .data
            .folds
            .as_ref()
            .filter(|f| f.train.len() != members)
        {
            return Err(TrainError::Invalid(format!(
                "{} validation folds for a model of {members} members: one each",
                f.train.len()
            )));
        }
        let mut streams = (0..members)
            .map(|i| {
                let seed = member_seed(self.config.seed, i);
                let order = LoaderConfig::shuffled(self.config.batch_size, seed);
                let rows = match &self.data.folds {
                    Some(f) => f.train[i].clone(),
                    None => (0..self.data.train.len()).collect(),
                };
                let loader = Loader::over(rows, order, epoch as u64)?.skip_batches(skip);
                Ok(Prefetch::start(self.data.train.clone(), loader, 4))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(std::iter::from_fn(move || {
            let mut step = Vec::with_capacity(streams.len());
            for stream in &mut streams {
                match stream.next()? {
                    Ok(batch) => step.push(batch),
                    Err(e) => return Some(Err(TrainError::from(e))),
                }
            }
            Some(Ok(ClassifyBatch::new(step)))
        })))
    }

    fn samples(&self, batch: &ClassifyBatch) -> usize {
        batch.batches.first().map_or(0, Batch::len)
    }

    fn rows<'b>(&self, batch: &'b ClassifyBatch) -> &'b [usize] {
        batch.rows()
    }

    /// Each member's and its bag table's losses, each member apart on a tape of its own,
    /// in parallel (`classify/step.rs`); the running accuracy counts the first member's
    /// batch, by that member mixed with its bag table.
    fn step(
        &mut self,
        store: &ParamStore<B>,
        batch: &ClassifyBatch,
        rng: &mut Rng,
    ) -> Result<Stepped<B, ClassifyTally>> {
        self.train_step(store, batch, rng)
    }

    /// Chooses the bag's share of the logits on the validation data (a model with a bag
    /// and validation data only; without validation the share stays as it is).
    fn calibrate(&self, store: &mut ParamStore<B>) -> Result<()> {
        let Some(bag) = self.model.bag() else {
            return Ok(());
        };
        let eb = self.config.eval_batch_size;
        let share = match (&self.data.folds, self.data.valid) {
            (Some(folds), _) => {
                choose_bag_share_folds(self.model, store, &self.data.train, folds, eb)?
            }
            (None, Some(valid)) => choose_bag_share(self.model, store, valid, eb)?,
            (None, None) => return Ok(()),
        };
        Ok(bag.set_share(store, share)?)
    }

    fn evaluate(&self, store: &ParamStore<B>, _train_loss: f64) -> Result<Evaluated<ClassifyEval>> {
        let eb = self.config.eval_batch_size;
        let valid = match (&self.data.folds, self.data.valid) {
            (Some(folds), _) => Some(evaluate_folds(
                self.model,
                store,
                &self.data.train,
                folds,
                eb,
            )?),
            (None, Some(v)) => Some(evaluate(self.model, store, v, eb)?),
            (None, None) => None,
        };
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
