//! The [`Task`] trait: what one kind of training (classification, language modelling, …)
//! brings to the one loop — its batches, its loss, what it counts, how it evaluates and
//! what "best" means. The loop owns everything else.

use recur_autograd::Grads;
use recur_layers::{ParamStore, Rng};
use recur_tensor::{Backend, Tensor};

use crate::engine::records::Records;
use crate::Result;

/// The batches of one epoch, in training order; made on any thread.
pub type Batches<T> = Box<dyn Iterator<Item = Result<T>> + Send>;

/// What [`Task::report_unit`] counts for the report cadence (`report_every`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportUnit {
    /// Samples (a classifier's texts).
    Samples,
    /// Batches (a language model's windows, as PyTorch's example logs).
    Batches,
}

/// How an epoch's result is compared with the best so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    /// The value compared.
    pub value: f64,
    /// Higher is better (accuracy) or lower (a loss).
    pub higher_is_better: bool,
    /// It comes from validation data (only such a value drives early stopping and the
    /// plateau schedule).
    pub from_validation: bool,
}

/// What a training step ([`Task::step`]) gives the loop.
pub struct Stepped<B: Backend, T> {
    /// The loss (a finite value, else the loop stops with an error).
    pub loss: f64,
    /// Its gradients.
    pub grads: Grads<B>,
    /// What the task counts of the batch.
    pub tally: T,
}

/// What an evaluation after an epoch gives the loop: the task's own result, the
/// validation loss for the record, and the value that chooses the best epoch.
#[derive(Clone, Debug)]
pub struct Evaluated<E> {
    /// The task's result (written into its epoch record).
    pub eval: E,
    /// Mean validation loss, when there is validation data.
    pub valid_loss: Option<f64>,
    /// The value that chooses the best epoch (`None`: every epoch's parameters are the
    /// model, there is no best to keep apart).
    pub judged: Option<Judged>,
}

/// One kind of training, plugged into [`Trainer`](crate::Trainer).
pub trait Task<B: Backend> {
    /// A training batch (made by [`Task::batches`], possibly on another thread).
    type Batch: Send + 'static;
    /// Its record types.
    type Records: Records;

    /// What the report cadence counts.
    fn report_unit(&self) -> ReportUnit;
    /// Whether it evaluates on validation data (early stopping and the plateau schedule
    /// need it).
    fn has_validation(&self) -> bool;
    /// The name of the value that chooses the best epoch (`accuracy`, `loss`, …).
    fn metric_name(&self) -> &'static str;
    /// Batches in one epoch.
    fn batches_per_epoch(&self) -> usize;
    /// Samples in one epoch.
    fn epoch_samples(&self) -> usize;
    /// Samples of a full batch (for the length of a run limited by samples).
    fn samples_per_batch(&self) -> usize;
    /// The batches of epoch `epoch` (0-based) in training order, without the first `skip`.
    fn batches(&self, epoch: usize, skip: usize) -> Result<Batches<Self::Batch>>;
    /// Samples in `batch`.
    fn samples(&self, batch: &Self::Batch) -> usize;
    /// The embedding rows `batch` reads (brought up to date first by a lazy optimizer).
    fn rows<'b>(&self, batch: &'b Self::Batch) -> &'b [usize];
    /// Starts an epoch from its first batch: state carried from batch to batch is reset.
    fn start_epoch(&mut self, _store: &ParamStore<B>) -> Result<()> {
        Ok(())
    }
    /// A training step on `batch`: its loss (dropout draws from `rng`), the loss's
    /// gradients and what the task counts of it. The loop clips the gradients and steps
    /// the optimizer.
    fn step(
        &mut self,
        store: &ParamStore<B>,
        batch: &Self::Batch,
        rng: &mut Rng,
    ) -> Result<Stepped<B, <Self::Records as Records>::Tally>>;
    /// Sets, before the evaluation after each epoch, what the task chooses on validation
    /// data rather than trains (a classifier's share of its n-gram bag in the logits); the
    /// default: nothing.
    fn calibrate(&self, _store: &mut ParamStore<B>) -> Result<()> {
        Ok(())
    }
    /// Evaluates `store` after an epoch whose mean training loss was `train_loss`.
    fn evaluate(
        &self,
        store: &ParamStore<B>,
        train_loss: f64,
    ) -> Result<Evaluated<<Self::Records as Records>::Eval>>;
    /// State carried from batch to batch within an epoch (a language model's hidden state),
    /// as named tensors: checkpoints keep it, so that a run resumed mid-epoch continues
    /// exactly.
    fn carried(&self) -> Vec<(String, Tensor<B>)> {
        Vec::new()
    }
    /// Restores what [`Task::carried`] gave.
    fn restore_carried(&mut self, carried: Vec<(String, Tensor<B>)>) -> Result<()> {
        match carried.first() {
            None => Ok(()),
            Some((name, _)) => Err(crate::TrainError::Invalid(format!(
                "the checkpoint carries state {name:?} that this task does not keep"
            ))),
        }
    }
}
