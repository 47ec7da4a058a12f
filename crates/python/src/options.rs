//! `recur.train(**options)`: each option, named as the library names the setting, applied
//! to a [`ClassifyRecipe`]. An unknown name, or a value of the wrong type, is a
//! `ValueError`/`TypeError` naming the option and what it takes; the recipe then checks
//! the values together when it runs.

use std::str::FromStr;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use recur_data::{Tokenizer, VocabOrder};
use recur_layers::Pooling;
use recur_tensor::CellKind;
use recur_train::ScheduleKind;
use recur_train::{ClassesFrom, ClassifyRecipe, EmbeddingInit, Metric, OptimizerConfig};

/// One option: its name, what it takes, and how it sets the recipe.
struct Opt {
    name: &'static str,
    takes: &'static str,
    set: fn(&mut ClassifyRecipe, &Bound<'_, PyAny>) -> PyResult<()>,
}

/// `value` parsed by its `FromStr` (the names the command line takes too).
fn parse<T: FromStr<Err = E>, E: std::fmt::Display>(v: &Bound<'_, PyAny>) -> PyResult<T> {
    let s: String = v.extract()?;
    s.parse()
        .map_err(|e: E| PyValueError::new_err(e.to_string()))
}

/// Every option `recur.train` takes.
const OPTIONS: &[Opt] = &[
    Opt {
        name: "cell",
        takes: "'lstm', 'gru', 'rnn' or 'rnn-relu'",
        set: |r, v| {
            r.model.cell_override = Some(parse::<CellKind, _>(v)?);
            Ok(())
        },
    },
    Opt {
        name: "packed",
        takes: "bool: run sequences packed (no work on padding)",
        set: |r, v| {
            r.model.packed_override = Some(v.extract()?);
            Ok(())
        },
    },
    Opt {
        name: "pooling",
        takes: "'last', 'mean', 'max' or 'attention'",
        set: |r, v| {
            r.model.pooling_override = Some(parse::<Pooling, _>(v)?);
            Ok(())
        },
    },
    Opt {
        name: "embed_dim",
        takes: "int: the embedding width",
        set: |r, v| {
            r.model.embed_dim = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "hidden_dim",
        takes: "int: the recurrent layers' hidden size",
        set: |r, v| {
            r.model.hidden_dim = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "num_layers",
        takes: "int: stacked recurrent layers",
        set: |r, v| {
            r.model.num_layers = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "bidirectional",
        takes: "bool",
        set: |r, v| {
            r.model.bidirectional = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "dropout",
        takes: "float in [0, 1): between recurrent layers",
        set: |r, v| {
            r.model.dropout = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "embed_dropout",
        takes: "float in [0, 1): on the embeddings",
        set: |r, v| {
            r.model.embed_dropout = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "fc_dropout",
        takes: "float in [0, 1): before the output layer",
        set: |r, v| {
            r.model.fc_dropout = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "ngram_buckets",
        takes: "int: word-pair buckets of a TF-IDF bag mixed into the logits (0: none)",
        set: |r, v| {
            r.model.ngram_buckets = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "char_buckets",
        takes:
            "int: buckets of the bag's character n-grams of words (0: none; needs ngram_buckets)",
        set: |r, v| {
            r.model.char_buckets = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "members",
        takes: "int: recurrent members, each trained on its own loss, their logits averaged",
        set: |r, v| {
            r.model.members = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "adversarial",
        takes: "float: adversarial training, the move of each text's embedding (0: off)",
        set: |r, v| {
            r.training.batching.adversarial = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "tokenizer",
        takes: "'basic_english', 'whitespace', 'char', …",
        set: |r, v| {
            r.text.tokenizer = parse::<Tokenizer, _>(v)?;
            Ok(())
        },
    },
    Opt {
        name: "vocab_order",
        takes: "'pad-unk', 'frequency' or 'first-seen'",
        set: |r, v| {
            r.text.vocab_order = parse::<VocabOrder, _>(v)?;
            Ok(())
        },
    },
    Opt {
        name: "max_tokens",
        takes: "int or None: tokens kept per text (the first ones)",
        set: |r, v| {
            r.text.max_tokens = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "min_freq",
        takes: "int: words seen fewer times are left out of the vocabulary",
        set: |r, v| {
            r.training.vocab.min_freq = v.extract()?;
            given(r, |s| s.min_freq = false);
            Ok(())
        },
    },
    Opt {
        name: "max_vocab",
        takes: "int or None: the most frequent words kept",
        set: |r, v| {
            r.training.vocab.max_size = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "epochs",
        takes: "int",
        set: |r, v| {
            r.training.train.epochs = v.extract()?;
            given(r, |s| s.epochs = false);
            Ok(())
        },
    },
    Opt {
        name: "batch_size",
        takes: "int: examples per training batch (and per evaluation batch)",
        set: |r, v| {
            let b: usize = v.extract()?;
            r.training.batching.batch_size = b;
            r.training.batching.eval_batch_size = b;
            given(r, |s| s.batch_size = false);
            Ok(())
        },
    },
    Opt {
        name: "lr",
        takes: "float: the learning rate",
        set: |r, v| {
            let lr: f64 = v.extract()?;
            match &mut r.training.optimizer {
                OptimizerConfig::Adam(a) => a.lr = lr,
                OptimizerConfig::Sgd(s) => s.lr = lr,
            }
            given(r, |s| s.lr = false);
            Ok(())
        },
    },
    Opt {
        name: "weight_decay",
        takes: "float: L2 penalty (Adam's)",
        set: |r, v| {
            let wd: f64 = v.extract()?;
            match &mut r.training.optimizer {
                OptimizerConfig::Adam(a) => a.weight_decay = wd,
                OptimizerConfig::Sgd(s) => s.weight_decay = wd,
            }
            Ok(())
        },
    },
    Opt {
        name: "lr_schedule",
        takes: "'constant', 'linear', 'cosine' or 'plateau'",
        set: |r, v| {
            r.training.train.schedule.kind = parse::<ScheduleKind, _>(v)?;
            Ok(())
        },
    },
    Opt {
        name: "warmup_steps",
        takes: "int",
        set: |r, v| {
            r.training.train.schedule.warmup_steps = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "clip_grad_norm",
        takes: "float or None: the gradients' global L2 norm limit",
        set: |r, v| {
            r.training.train.clip_grad_norm = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "patience",
        takes: "int or None: stop after this many epochs without a better validation result",
        set: |r, v| {
            r.training.train.patience = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "metric",
        takes: "'accuracy', 'macro-f1' or 'loss': what chooses the best epoch",
        set: |r, v| {
            r.training.batching.metric = parse::<Metric, _>(v)?;
            given(r, |s| s.metric = false);
            Ok(())
        },
    },
    Opt {
        name: "valid_fraction",
        takes: "float in (0, 1): held out of the training data for validation",
        set: |r, v| {
            r.training.files.valid_fraction = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "member_folds",
        takes: "bool: with valid_fraction and two or more members, each member validates on a \
                fold of its own and trains on the rest",
        set: |r, v| {
            r.training.files.member_folds = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "pretrain_epochs",
        takes: "int or None: skip-gram passes over the training texts before training",
        set: |r, v| {
            let epochs: Option<usize> = v.extract()?;
            r.training.embeddings = match epochs {
                Some(epochs) => EmbeddingInit::SkipGram { epochs },
                None => EmbeddingInit::Random,
            };
            given(r, |s| s.skipgram_epochs = false);
            Ok(())
        },
    },
    Opt {
        name: "class_names",
        takes: "list of str: the classes in order",
        set: |r, v| {
            let names: Vec<String> = v.extract()?;
            r.training.files.classes = ClassesFrom::Names { names };
            Ok(())
        },
    },
    Opt {
        name: "skip_bad_rows",
        takes: "bool: skip (and count) malformed rows instead of failing",
        set: |r, v| {
            r.training.files.skip_bad_rows = v.extract()?;
            Ok(())
        },
    },
    Opt {
        name: "limit",
        takes: "int or None: stop after this many training samples",
        set: |r, v| {
            r.training.train.limit = v.extract()?;
            Ok(())
        },
    },
];

/// A setting the caller gave: the preset's size rule leaves it as given.
fn given(r: &mut ClassifyRecipe, keep: impl FnOnce(&mut recur_train::SizeRule)) {
    if let Some(rule) = r.training.size_rule.as_mut() {
        keep(rule);
    }
}

/// Applies `options` to `recipe`, each by its name.
pub fn apply(recipe: &mut ClassifyRecipe, options: &Bound<'_, PyDict>) -> PyResult<()> {
    for (key, value) in options.iter() {
        let name: String = key.extract()?;
        let Some(opt) = OPTIONS.iter().find(|o| o.name == name) else {
            let known: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
            return Err(PyValueError::new_err(format!(
                "unknown option {name:?}; the options are {}",
                known.join(", ")
            )));
        };
        (opt.set)(recipe, &value).map_err(|e| {
            let why = Python::attach(|py| e.value(py).to_string());
            PyValueError::new_err(format!("option {name}={value}: {why} ({})", opt.takes))
        })?;
    }
    Ok(())
}

/// The options `recur.train` takes and what each takes.
#[pyfunction]
pub fn option_names() -> Vec<(&'static str, &'static str)> {
    OPTIONS.iter().map(|o| (o.name, o.takes)).collect()
}
