//! What the trainer trains: anything that maps a padded batch to class logits.

use recur_autograd::{Tape, Var};
use recur_data::Batch;
use recur_layers::{Classifier, Heads, NgramBag, ParamStore, Rng};
use recur_tensor::Backend;

/// A classifier over padded batches of token ids.
pub trait Model<B: Backend>: Sync {
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

    /// Member `member`'s heads of a batch of its own: its recurrent logits and its bag
    /// table's, with `delta [B, T, E]` added to its embedded tokens where given. Members
    /// share no trained parameter: a training step runs each on a tape of its own, in
    /// parallel. The default (one member): [`Model::heads`].
    fn member_heads(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        member: usize,
        batch: &Batch,
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        match member {
            0 => self.heads(tape, store, batch, delta, train_rng),
            _ => Err(recur_layers::LayerError::Config(format!(
                "member {member} of a model of one member"
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

    /// Whether a text's logits depend on the padding of its batch (a padded recurrent
    /// model reads the pad steps), so that evaluation must batch in file order as the
    /// model was checked; `false` lets it batch texts of like length together. The
    /// default: `true`.
    fn reads_padding(&self) -> bool {
        true
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

    fn member_heads(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        member: usize,
        batch: &Batch,
        delta: Option<Var>,
        train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        let (tokens, lengths) = (&batch.tokens, &batch.lengths);
        self.forward_member(tape, store, member, tokens, lengths, delta, train_rng)
    }

    fn mix(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        heads: Heads,
    ) -> recur_layers::Result<Var> {
        Classifier::mix(self, tape, store, heads)
    }

    fn reads_padding(&self) -> bool {
        !self.config.packed()
    }

    fn bag(&self) -> Option<&NgramBag> {
        self.bag.as_ref()
    }

    fn embed_dim(&self) -> Option<usize> {
        Some(self.config.embed_dim)
    }
}
