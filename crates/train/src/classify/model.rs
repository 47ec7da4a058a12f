//! What the trainer trains: anything that maps a padded batch to class logits.

use recur_autograd::{Tape, Var};
use recur_data::Batch;
use recur_layers::{Classifier, Heads, NgramBag, ParamStore, Rng};
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

    /// The heads' logits of `batch` before mixing, each trained on its own loss, with
    /// `delta [B, T, E]` added to the embedded tokens where given (adversarial training).
    /// The default: one head, [`Model::logits`]; a perturbation is refused.
    fn heads(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        if delta.is_some() {
            return Err(recur_layers::LayerError::Config(
                "this model takes no perturbation of its embedded tokens (adversarial training)"
                    .into(),
            ));
        }
        let recurrent = self.logits(tape, store, batch, train_rng)?;
        Ok(Heads {
            recurrent,
            members: vec![recurrent],
            bag: None,
            bags: Vec::new(),
        })
    }

    /// Recurrent members that learn from batches of their own (the default: one).
    fn members(&self) -> usize {
        1
    }

    /// The heads of a training step: member `i`'s logits of `batches[i]` (with `deltas[i]`
    /// added to its embedded tokens where given), the bag's of `batches[0]`; `recurrent` is
    /// member 0's. One batch and delta per member ([`Model::members`]); the default (one
    /// member): [`Model::heads`] of the one batch.
    fn heads_apart(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batches: &[Batch],
        deltas: &[Option<Var>],
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        match (batches, deltas) {
            ([batch], [delta]) => self.heads(tape, store, batch, *delta, train_rng),
            _ => Err(recur_layers::LayerError::Config(format!(
                "{} batches and {} perturbations for a model of one member",
                batches.len(),
                deltas.len()
            ))),
        }
    }

    /// The logits `[B, K]` of [`Model::heads`]' heads (the default: the one head).
    fn mix(
        &self,
        _tape: &Tape<B>,
        _store: &ParamStore<B>,
        heads: Heads,
    ) -> recur_layers::Result<Var> {
        Ok(heads.recurrent)
    }

    /// The TF-IDF bag whose share of the logits validation chooses (the default: none).
    fn bag(&self) -> Option<&NgramBag> {
        None
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

    fn heads(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batch: &Batch,
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        let (tokens, lengths) = (&batch.tokens, &batch.lengths);
        self.forward_heads(tape, store, tokens, lengths, delta, train_rng)
    }

    fn members(&self) -> usize {
        self.members.len()
    }

    fn heads_apart(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        batches: &[Batch],
        deltas: &[Option<Var>],
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        let views: Vec<(&[usize], &[usize])> = batches
            .iter()
            .map(|b| (b.tokens.as_slice(), b.lengths.as_slice()))
            .collect();
        self.forward_apart(tape, store, &views, deltas, train_rng)
    }

    fn mix(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        heads: Heads,
    ) -> recur_layers::Result<Var> {
        Classifier::mix(self, tape, store, heads)
    }

    fn bag(&self) -> Option<&NgramBag> {
        self.bag.as_ref()
    }

    fn embed_dim(&self) -> Option<usize> {
        Some(self.config.embed_dim)
    }
}
