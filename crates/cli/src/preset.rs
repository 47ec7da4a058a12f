//! `recur train --preset NAME`: recipes that set the flags a user did not give. `strong` is
//! the text-classification recipe chosen by validation on the training data only
//! (docs/results.md has each ingredient's measured effect).

use clap::parser::ValueSource;
use clap::ArgMatches;
use recur_layers::Pooling;
use recur_tensor::CellKind;
use recur_train::ScheduleKind;
use serde::{Deserialize, Serialize};

use crate::train::TrainArgs;

/// A named recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Skip-gram vectors of the training texts (10 passes; unless --embeddings is given)
    /// under a packed
    /// bidirectional GRU (E 64, H 64) with mean pooling over each text's own steps,
    /// embedding dropout 0.2 and output dropout 0.5, words seen at least 3 times, Adam at
    /// 8e-3 with a cosine schedule and clipping at 1.0, 3 epochs of batches of 128, the best
    /// epoch by a 10% validation split (unless --valid is given).
    Strong,
}

/// Sets `a`'s flags to `preset`'s values where the command line did not give them
/// (`matches`: the `train` subcommand's).
pub fn apply(preset: Preset, a: &mut TrainArgs, matches: &ArgMatches) {
    let given = |id: &str| {
        matches.try_get_raw(id).is_ok()
            && matches.value_source(id) == Some(ValueSource::CommandLine)
    };
    macro_rules! set {
        ($field:ident, $value:expr) => {
            if !given(stringify!($field)) {
                a.$field = $value;
            }
        };
    }
    match preset {
        Preset::Strong => {
            set!(cell, Some(CellKind::Gru));
            set!(packed, Some(true));
            set!(bidirectional, true);
            set!(pooling, Some(Pooling::Mean));
            set!(embed, 64);
            set!(hidden, 64);
            set!(embed_dropout, 0.2);
            set!(fc_dropout, 0.5);
            set!(min_freq, 3);
            set!(optimizer, "adam".to_string());
            set!(lr, 0.008);
            set!(lr_schedule, ScheduleKind::Cosine);
            set!(clip_grad_norm, Some(1.0));
            set!(epochs, 3);
            if !given("embeddings") {
                set!(pretrain_embeddings, true);
            }
            set!(batch_size, 128);
            if !given("valid") && !given("valid_fraction") {
                a.valid_fraction = Some(0.1);
            }
        }
    }
}

/// `recur train --task lm`: PyTorch's word_language_model defaults for the flags not given —
/// an LSTM of 2 layers of 200 (embedding 200), dropout 0.2, plain SGD at 20 with clipping at
/// 0.25, 20 streams, evaluation in 10, a record every 200 windows, 3 epochs.
pub fn apply_lm_defaults(a: &mut TrainArgs, matches: &ArgMatches) {
    let given = |id: &str| {
        matches.try_get_raw(id).is_ok()
            && matches.value_source(id) == Some(ValueSource::CommandLine)
    };
    macro_rules! set {
        ($field:ident, $value:expr) => {
            if !given(stringify!($field)) {
                a.$field = $value;
            }
        };
    }
    set!(cell, Some(CellKind::Lstm));
    set!(layers, 2);
    set!(hidden, 200);
    set!(embed, 200);
    set!(dropout, 0.2);
    set!(optimizer, "sgd".to_string());
    set!(lr, 20.0);
    set!(clip_grad_norm, Some(0.25));
    set!(batch_size, 20);
    set!(eval_batch_size, Some(10));
    set!(report_every, 200);
    set!(epochs, 3);
}
