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
}
