//! What the trainer trains: anything that maps a padded batch to class logits.

use recur_autograd::{Tape, Var};
use recur_data::Batch;
use recur_layers::{Classifier, ParamStore, Rng};
use recur_tensor::Backend;

/// A classifier over padded batches of token ids.
pub trait Model<B: Backend> {
    /// Logits `[B, K]` of `batch` (`tokens [B, T]`, `lengths [B]`); `train_rng` is given in
    /// training, for dropout.
    fn logits(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var>;

    /// Number of classes `K`.
    fn num_classes(&self) -> usize;

    /// Logits of `batch` with `delta [B, T, E]` added to its embedded tokens (adversarial
    /// training); a model that does not embed tokens so refuses (the default).
    fn logits_perturbed(
        &self,
        _tape: &Tape<B>,
        _store: &ParamStore<B>,
        _batch: &Batch,
        _delta: Var,
        _train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        Err(recur_layers::LayerError::Config(
            "this model takes no perturbation of its embedded tokens (adversarial training)".into(),
        ))
    }

    /// Width `E` of the embedded tokens a perturbation is added to (`None`: none).
    fn embed_dim(&self) -> Option<usize> {
        None
    }
}

impl<B: Backend> Model<B> for Classifier {
    fn logits(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        self.forward(tape, store, &batch.tokens, &batch.lengths, train_rng)
    }

    fn num_classes(&self) -> usize {
        self.config.num_class
    }

    fn logits_perturbed(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        delta: Var,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        let (tokens, lengths) = (&batch.tokens, &batch.lengths);
        self.forward_perturbed(tape, store, tokens, lengths, Some(delta), train_rng)
    }

    fn embed_dim(&self) -> Option<usize> {
        Some(self.config.embed_dim)
    }
}
