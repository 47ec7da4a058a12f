//! What the search varies ([`Choices`]): one trial's departures from the strong recipe
//! sized for the data, drawn at random from a fixed space by the trial's own seed.

use rand::seq::SliceRandom;
use rand::Rng as _;
use recur_layers::Pooling;
use recur_layers::Rng;
use recur_tensor::CellKind;
use serde::{Deserialize, Serialize};

use crate::classify::recipe::ClassifyRecipe;
use crate::optimizer::OptimizerConfig;
use crate::training::EmbeddingInit;

/// One trial's recipe, as settings over the recipe searched (sized for the data); trial 0
/// is that recipe as it is. The space: GRU or LSTM, 1 or 2 layers, hidden 32–128, embedding
/// 48–100, mean or max pooling, dropout, the rate ×½–×2, the batch ×½–×2, up to 4 more
/// epochs, minimum count 1–5, skip-gram passes ×0–×2, AdamW's decay, the n-gram bag,
/// adversarial training and 1, 2 or 4 recurrent members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choices {
    /// The recurrent cell.
    pub cell: CellKind,
    /// Recurrent layers.
    pub layers: usize,
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Embedding size (and of the skip-gram vectors).
    pub embed: usize,
    /// Pooling over the steps.
    pub pooling: Pooling,
    /// Dropout on the embedded tokens.
    pub embed_dropout: f64,
    /// Dropout before the output layer.
    pub fc_dropout: f64,
    /// The sized rate times this.
    pub lr_scale: f64,
    /// The sized batch times this (a power of two).
    pub batch_scale: f64,
    /// Epochs added to the sized ones (the best epoch is kept by validation).
    pub extra_epochs: usize,
    /// The vocabulary's minimum count.
    pub min_freq: usize,
    /// Skip-gram passes as a multiple of the sized ones (0: random embedding).
    pub skipgram_scale: f64,
    /// Adam's decoupled weight decay (AdamW; 0: none).
    pub weight_decay: f64,
    /// Buckets of the linear bag of words and word pairs (0: none).
    #[serde(default)]
    pub ngram_buckets: usize,
    /// Buckets of the bag's character n-grams of words (0: none; with a bag only).
    #[serde(default)]
    pub char_buckets: usize,
    /// Adversarial training's move of the embedded tokens (0: none).
    #[serde(default)]
    pub adversarial: f64,
    /// Recurrent members averaged.
    #[serde(default = "one")]
    pub members: usize,
}

/// The members of a search state saved before they were searched.
fn one() -> usize {
    1
}

/// One of `xs` (never empty), drawn uniformly from `r`.
fn pick<T: Copy>(r: &mut Rng, xs: &[T]) -> T {
    *xs.choose(r).unwrap_or(&xs[0])
}

impl Choices {
    /// The settings of `recipe` as they are.
    pub fn of(recipe: &ClassifyRecipe) -> Choices {
        let (m, t) = (&recipe.model, &recipe.training);
        let weight_decay = match &t.optimizer {
            OptimizerConfig::Adam(a) if a.decoupled => a.weight_decay,
            _ => 0.0,
        };
        Choices {
            cell: m.cell(),
            layers: m.num_layers,
            hidden: m.hidden_dim,
            embed: m.embed_dim,
            pooling: m.pooling(),
            embed_dropout: m.embed_dropout,
            fc_dropout: m.fc_dropout,
            lr_scale: 1.0,
            batch_scale: 1.0,
            extra_epochs: 0,
            min_freq: t.vocab.min_freq,
            skipgram_scale: 1.0,
            weight_decay,
            ngram_buckets: m.ngram_buckets,
            char_buckets: m.char_buckets,
            adversarial: t.batching.adversarial,
            members: m.members,
        }
    }

    /// Trial `index`'s choices over `sized` for a search seeded by `seed`: trial 0 is
    /// `sized` as it is, the others are drawn from the space (each from its own stream, so
    /// a trial's recipe does not depend on how many were drawn before it).
    pub fn draw(seed: u64, index: usize, sized: &ClassifyRecipe) -> Choices {
        if index == 0 {
            return Choices::of(sized);
        }
        let mut r = recur_layers::rng(
            seed ^ 0xa070_7e5e_a4c4_0000 ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let cell = pick(
            &mut r,
            &[
                CellKind::Gru,
                CellKind::Gru,
                CellKind::Lstm,
                CellKind::MinGru,
                CellKind::MinLstm,
            ],
        );
        let layers = if r.gen_bool(0.2) { 2 } else { 1 };
        let hidden = pick(&mut r, &[32, 64, 64, 96, 128]);
        let embed = pick(&mut r, &[48, 64, 64, 100]);
        let pooling = pick(&mut r, &[Pooling::Mean, Pooling::Mean, Pooling::Max]);
        Choices {
            cell,
            layers,
            hidden,
            embed,
            pooling,
            embed_dropout: pick(&mut r, &[0.1, 0.2, 0.3, 0.4]),
            fc_dropout: pick(&mut r, &[0.3, 0.4, 0.5, 0.6]),
            lr_scale: (r.gen_range(-1.0f64..1.0) * std::f64::consts::LN_2).exp(),
            batch_scale: pick(&mut r, &[0.5, 1.0, 1.0, 2.0]),
            extra_epochs: pick(&mut r, &[0, 1, 2, 4]),
            min_freq: pick(&mut r, &[1, 2, 3, 5]),
            skipgram_scale: pick(&mut r, &[0.0, 1.0, 1.0, 1.5, 2.0]),
            weight_decay: pick(&mut r, &[0.0, 0.0, 1e-4, 1e-3, 1e-2]),
            ngram_buckets: pick(&mut r, &[0, 1 << 18, 1 << 18]),
            adversarial: pick(&mut r, &[0.0, 0.0, 1.0, 3.0]),
            char_buckets: pick(&mut r, &[0, 1 << 18]),
            members: pick(&mut r, &[1, 2, 4]),
        }
        .with_bag_rule()
    }

    /// These choices with no character n-grams where there is no bag to hold them.
    fn with_bag_rule(mut self) -> Self {
        if self.ngram_buckets == 0 {
            self.char_buckets = 0;
        }
        self
    }

    /// `sized` (the strong recipe sized for the data, its rule applied) with these choices.
    pub fn apply(&self, sized: &ClassifyRecipe) -> ClassifyRecipe {
        let mut r = sized.clone();
        let m = &mut r.model;
        m.cell_override = Some(self.cell);
        m.num_layers = self.layers;
        (m.hidden_dim, m.embed_dim) = (self.hidden, self.embed);
        m.pooling_override = Some(self.pooling);
        (m.embed_dropout, m.fc_dropout) = (self.embed_dropout, self.fc_dropout);
        m.ngram_buckets = self.ngram_buckets;
        m.char_buckets = self.char_buckets;
        m.members = self.members;
        let t = &mut r.training;
        if let OptimizerConfig::Adam(a) = &mut t.optimizer {
            a.lr *= self.lr_scale;
            if self.weight_decay > 0.0 || a.decoupled {
                a.weight_decay = self.weight_decay;
                a.decoupled = true;
            }
        }
        let batch = (t.batching.batch_size as f64 * self.batch_scale).round() as usize;
        t.batching.batch_size = batch.clamp(8, 512);
        t.batching.eval_batch_size = t.batching.eval_batch_size.max(t.batching.batch_size);
        t.train.epochs += self.extra_epochs;
        t.batching.adversarial = self.adversarial;
        t.vocab.min_freq = self.min_freq;
        if let EmbeddingInit::SkipGram { epochs } = t.embeddings {
            let passes = (epochs as f64 * self.skipgram_scale).round() as usize;
            t.embeddings = match passes {
                0 => EmbeddingInit::Random,
                p => EmbeddingInit::SkipGram { epochs: p },
            };
        }
        r
    }

    /// A short description (`gru×1 h64 e64 mean …`).
    pub fn describe(&self) -> String {
        format!(
            "{}×{} h{} e{} {} drop {:.1}/{:.1} lr×{:.2} batch×{} +{} epochs min {} sg×{} wd {}{}",
            self.cell.name(),
            self.layers,
            self.hidden,
            self.embed,
            self.pooling.name(),
            self.embed_dropout,
            self.fc_dropout,
            self.lr_scale,
            self.batch_scale,
            self.extra_epochs,
            self.min_freq,
            self.skipgram_scale,
            self.weight_decay,
            [
                (self.ngram_buckets > 0).then(|| format!(" bag {}", self.ngram_buckets)),
                (self.char_buckets > 0).then(|| format!(" chars {}", self.char_buckets)),
                (self.adversarial > 0.0).then(|| format!(" adv {}", self.adversarial)),
                (self.members > 1).then(|| format!(" members {}", self.members)),
            ]
            .into_iter()
            .flatten()
            .collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized() -> ClassifyRecipe {
        let mut r = ClassifyRecipe::new("t.csv".into()).strong();
        r.size_to(2_000, 90_000);
        r
    }

    #[test]
    fn a_trial_is_the_same_for_a_seed_and_differs_across_trials() {
        let s = sized();
        assert_eq!(Choices::draw(3, 0, &s), Choices::of(&s));
        assert_eq!(Choices::draw(3, 5, &s), Choices::draw(3, 5, &s));
        let drawn: Vec<Choices> = (1..20).map(|i| Choices::draw(3, i, &s)).collect();
        assert!(drawn.iter().any(|c| c != &drawn[0]));
        assert_ne!(Choices::draw(3, 5, &s), Choices::draw(4, 5, &s));
    }

    #[test]
    fn the_search_tries_every_cell_kind() {
        let s = sized();
        let drawn: Vec<CellKind> = (1..200).map(|i| Choices::draw(7, i, &s).cell).collect();
        for kind in [
            CellKind::Gru,
            CellKind::Lstm,
            CellKind::MinGru,
            CellKind::MinLstm,
        ] {
            assert!(drawn.contains(&kind), "{kind:?} never drawn");
        }
    }

    #[test]
    fn the_first_trial_is_the_recipe_as_it_is() {
        let mut s = sized();
        assert_eq!(Choices::of(&s).apply(&s), s);
        // a recipe the user changed stays changed in trial 0
        s.model.cell_override = Some(CellKind::Lstm);
        s.model.hidden_dim = 48;
        assert_eq!(Choices::draw(1, 0, &s).apply(&s), s);
    }
}
