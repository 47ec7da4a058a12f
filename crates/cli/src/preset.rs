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
