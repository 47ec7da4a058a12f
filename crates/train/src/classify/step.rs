//! A classifier's training step: each recurrent member, with its bag table, learns on its
//! own batch and loss, and members share no trained parameter, so each runs its forward
//! and backward on a tape of its own, the members in parallel; their gradients are then
//! gathered in member order. Adversarial training adds, per member, the loss at its
//! embedded tokens moved along that loss's gradient.

use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
use recur_autograd::{Grads, Tape};
use recur_data::Batch;
use recur_layers::{ParamStore, Rng};
use recur_tensor::{Backend, Tensor};

use crate::classify::eval::argmax_rows;
use crate::classify::members::ClassifyBatch;
use crate::classify::model::Model;
use crate::classify::records::ClassifyTally;
use crate::classify::task::Classify;
use crate::engine::task::Stepped;
use crate::{Result, TrainError};

/// One member's part of a step: its loss, gradients and correct predictions.
struct MemberStep<B: Backend> {
    loss: f64,
    grads: Grads<B>,
    correct: usize,
}

impl<M> Classify<'_, M> {
    /// The step on `batch`: the sum of each member's and its bag table's mean losses, and
    /// their gradients. Member 0's dropout draws from `rng`; every other member's from a
    /// stream seeded by `rng` (one draw each, in member order), so that the members can
    /// run at once and a run stays reproducible (one member draws exactly as before).
    pub(crate) fn train_step<B: Backend>(
        &self,
        store: &ParamStore<B>,
        batch: &ClassifyBatch,
        rng: &mut Rng,
    ) -> Result<Stepped<B, ClassifyTally>>
    where
        M: Model<B>,
    {
        let members = self.model.members();
        if batch.batches.len() != members {
            return Err(TrainError::Invalid(format!(
                "a step of {} batches for a model of {members} members: one each",
                batch.batches.len()
            )));
        }
        if self.config.adversarial > 0.0 && self.model.embed_dim().is_none() {
            return Err(TrainError::setting(
                "batching.adversarial",
                "needs a model with an embedding to perturb",
            ));
        }
        let mut others: Vec<Rng> = (1..members)
            .map(|_| Rng::seed_from_u64(rng.next_u64()))
            .collect();
        let mut streams: Vec<&mut Rng> = std::iter::once(rng).chain(&mut others).collect();
        let parts = (streams.par_iter_mut().enumerate())
            .map(|(i, r)| self.member_step(store, i, &batch.batches[i], r))
            .collect::<Result<Vec<_>>>()?;
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Err(TrainError::Invalid("a step with no member".into()));
        };
        let (mut loss, mut grads) = (first.loss, first.grads);
        for part in parts {
            loss += part.loss;
            grads.add_grads(part.grads)?;
        }
        Ok(Stepped {
            loss,
            grads,
            tally: ClassifyTally {
                correct: first.correct,
            },
        })
    }

    /// Member `i`'s losses on its own `batch` (its recurrent head's and its bag table's),
    /// their gradients and, for member 0, its correct predictions mixed with its table.
    fn member_step<B: Backend>(
        &self,
        store: &ParamStore<B>,
        i: usize,
        batch: &Batch,
        rng: &mut Rng,
    ) -> Result<MemberStep<B>>
    where
        M: Model<B>,
    {
        let tape = Tape::new(store.backend());
        let delta = match self.model.embed_dim() {
            Some(e) if self.config.adversarial > 0.0 => {
                let shape = [batch.len(), batch.tokens.len() / batch.len().max(1), e];
                let zeros = Tensor::zeros(store.backend(), &shape, store.dtype())?;
                Some(tape.leaf(zeros, true))
            }
            _ => None,
        };
        let heads = (self.model).member_heads(&tape, store, i, batch, delta, Some(rng))?;
        let mut loss = tape.cross_entropy(heads.recurrent, &batch.labels)?;
        if let Some(bag) = heads.bag {
            loss = tape.add(loss, tape.cross_entropy(bag, &batch.labels)?)?;
        }
        let value = tape.value(loss)?.scalar()?;
        let correct = match i {
            0 => {
                let logits = self.model.mix(&tape, store, heads)?;
                let k = self.model.num_classes();
                let preds = argmax_rows(&tape.value(logits)?.to_f32_vec()?, k);
                (preds.iter().zip(&batch.labels))
                    .filter(|(p, l)| p == l)
                    .count()
            }
            _ => 0,
        };
        let mut grads = tape.backward(loss)?;
        drop(tape);
        let moved = match delta.and_then(|d| grads.get(d)) {
            Some(g) => Some(self.adversarial_move(store, g)?),
            None => None,
        };
        if let Some(moved) = moved {
            // the bag reads no embedding: only the recurrent head has a perturbed loss
            let tape = Tape::new(store.backend());
            let delta = Some(tape.constant(moved));
            let heads = (self.model).member_heads(&tape, store, i, batch, delta, Some(rng))?;
            let loss = tape.cross_entropy(heads.recurrent, &batch.labels)?;
            grads.add_grads(tape.backward(loss)?)?;
        }
        Ok(MemberStep {
            loss: value,
            grads,
            correct,
        })
    }

    /// The adversarial move `ε g / ‖g‖` of each text's embedded tokens from their loss's
    /// gradient `g [B, T, E]`, the norm over all its steps and dimensions.
    fn adversarial_move<B: Backend>(
        &self,
        store: &ParamStore<B>,
        g: &Tensor<B>,
    ) -> Result<Tensor<B>> {
        let (shape, dtype) = (g.shape().to_vec(), g.dtype());
        let mut r = g.to_f64_vec()?;
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
        Ok(Tensor::from_f64(store.backend(), &shape, &r, dtype)?)
    }
}
