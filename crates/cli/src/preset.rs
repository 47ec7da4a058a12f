//! Defaults that depend on what is trained: `recur train --preset NAME` (recipes that set
//! the classifier flags a user did not give; `strong` is the text-classification recipe
//! chosen by validation on the training data only, docs/results.md has each ingredient's
//! measured effect) and the language model's defaults (PyTorch's word_language_model).

use clap::parser::ValueSource;
use clap::ArgMatches;
use recur_layers::Pooling;
use recur_tensor::CellKind;
use recur_train::{ScheduleKind, SizeRule};

use crate::args::{Preset, TrainArgs};

/// Whether flag `id` was given on the command line (`matches`: the `train` subcommand's).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches.try_get_raw(id).is_ok() && matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// Sets `target` to `value` unless flag `id` was given.
macro_rules! set {
    ($matches:expr, $id:literal, $target:expr, $value:expr) => {
        if !given($matches, $id) {
            $target = $value;
        }
    };
}

/// Sets `a`'s flags to `preset`'s values where the command line did not give them.
pub fn apply(preset: Preset, a: &mut TrainArgs, m: &ArgMatches) {
    let (c, k) = (&mut a.common, &mut a.classify);
    match preset {
        Preset::Strong => {
            set!(m, "cell", c.cell, Some(CellKind::Gru));
            set!(m, "packed", k.packed, Some(true));
            set!(m, "bidirectional", k.bidirectional, true);
            set!(m, "pooling", k.pooling, Some(Pooling::Mean));
            set!(m, "embed", c.embed, 64);
            set!(m, "hidden", c.hidden, 64);
            set!(m, "embed_dropout", k.embed_dropout, 0.2);
            set!(m, "fc_dropout", k.fc_dropout, 0.5);
            set!(
                m,
                "ngram_buckets",
                k.ngram_buckets,
                recur_train::STRONG_BAG_BUCKETS
            );
            set!(
                m,
                "char_buckets",
                k.char_buckets,
                recur_train::STRONG_CHAR_BUCKETS
            );
            set!(m, "members", k.members, recur_train::STRONG_MEMBERS);
            set!(
                m,
                "adversarial",
                k.adversarial,
                recur_train::STRONG_ADVERSARIAL
            );
            set!(m, "min_freq", c.min_freq, 3);
            set!(m, "optimizer", c.optimizer, "adam".to_string());
            set!(m, "lr", c.lr, 0.008);
            set!(m, "lr_schedule", k.lr_schedule, ScheduleKind::Cosine);
            set!(m, "clip_grad_norm", c.clip_grad_norm, Some(1.0));
            set!(m, "epochs", c.epochs, 3);
            if !given(m, "embeddings") && !given(m, "init_encoder") {
                set!(m, "pretrain_embeddings", k.pretrain_embeddings, true);
            }
            set!(m, "batch_size", c.batch_size, 128);
            if !given(m, "valid") {
                set!(m, "valid_fraction", k.valid_fraction, Some(0.1));
                set!(m, "member_folds", k.member_folds, Some(true));
            }
            k.size_rule = Some(SizeRule {
                batch_size: !given(m, "batch_size"),
                lr: !given(m, "lr"),
                epochs: !given(m, "epochs"),
                min_freq: !given(m, "min_freq"),
                skipgram_epochs: !given(m, "pretrain_epochs"),
                metric: !given(m, "metric"),
                members: !given(m, "members"),
            });
        }
    }
}

/// `recur train --task lm`: PyTorch's word_language_model defaults for the flags not given —
/// an LSTM of 2 layers of 200 (embedding 200), dropout 0.2, plain SGD at 20 with clipping at
/// 0.25, 20 streams, evaluation in 10, a record every 200 windows, 3 epochs.
pub fn apply_lm_defaults(a: &mut TrainArgs, m: &ArgMatches) {
    let c = &mut a.common;
    set!(m, "cell", c.cell, Some(CellKind::Lstm));
    set!(m, "layers", c.layers, 2);
    set!(m, "hidden", c.hidden, 200);
    set!(m, "embed", c.embed, 200);
    set!(m, "dropout", c.dropout, 0.2);
    set!(m, "optimizer", c.optimizer, "sgd".to_string());
    set!(m, "lr", c.lr, 20.0);
    set!(m, "clip_grad_norm", c.clip_grad_norm, Some(0.25));
    set!(m, "batch_size", c.batch_size, 20);
    set!(m, "eval_batch_size", c.eval_batch_size, Some(10));
    set!(m, "report_every", c.report_every, 200);
    set!(m, "epochs", c.epochs, 3);
}

/// The flags given on the command line that `args` (a group's flags, by id) holds.
pub fn given_among(m: &ArgMatches, ids: &[String]) -> Vec<String> {
    ids.iter().filter(|id| given(m, id)).cloned().collect()
}
