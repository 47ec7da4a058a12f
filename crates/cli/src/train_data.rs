//! The data of a training run: the training, validation and test files read as the flags
//! say, classes inferred from the training labels, the validation split, and the
//! vocabulary, all encoded.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use recur_data::{
    encode_dataset, locate, split_stratified, Classes, Dataset, Encoded, RawDataset, ReadSpec,
    Tokenizer, Vocab, VocabOptions, VocabOrder, AG_NEWS_CLASSES,
};

use crate::data_args::{assign, read_raw};
use crate::train::TrainArgs;

/// Everything a training run reads, encoded.
pub struct TrainData {
    /// The training examples.
    pub train: Arc<Encoded>,
    /// The validation examples (`--valid` or `--valid-fraction`).
    pub valid: Option<Encoded>,
    /// The test examples (reporting only).
    pub test: Option<Encoded>,
    /// The classes.
    pub classes: Classes,
    /// The vocabulary (of the training part only).
    pub vocab: Vocab,
    /// Its numbering.
    pub vocab_order: VocabOrder,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// How the files were read (format resolved from the training file).
    pub spec: ReadSpec,
}

/// Reads `path`, or nothing when there is no path.
fn read_opt(
    path: Option<&Path>,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    skip: bool,
) -> Result<Option<RawDataset>> {
    path.map(|p| read_raw(p, spec, tokenizer, skip)).transpose()
}

/// Resolves the files, reads them concurrently and encodes them.
pub fn load(a: &TrainArgs) -> Result<TrainData> {
    let t_load = Instant::now();
    // `--train FILE` is your own data; otherwise the AG News folder (`--data`, $RECUR_DATA_DIR
    // or datasets/ag_news) with its class names and the lesson's vocabulary.
    let ag_news = a.train.is_none();
    let (train_file, test_file) = if let Some(t) = &a.train {
        let test = match (&a.test, &a.data) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(dir)) => Some(dir.join("test.csv")),
            (None, None) => None,
        };
        (t.clone(), test)
    } else {
        let files = locate(a.data.as_deref(), None, a.test.as_deref())?;
        if let Some(note) = &files.note {
            eprintln!("note: {note}");
        }
        (files.train, Some(files.test))
    };
    let test_file = test_file.filter(|_| !a.no_eval);
    if let Some(t) = &test_file {
        if !t.is_file() {
            bail!("test file {} not found", t.display());
        }
    }
    if a.valid.is_some() && a.valid_fraction.is_some() {
        bail!("--valid and --valid-fraction exclude each other: give one");
    }
    let spec = a.data_args.spec_over(&ReadSpec::default());
    // a classifier started from a language model reads texts as the model did
    let encoder = a
        .init_encoder
        .as_deref()
        .map(crate::lm::encoder_vocab)
        .transpose()?;
    let tokenizer = match &encoder {
        Some((t, _)) => {
            if let Some(given) = a.data_args.tokenizer.filter(|g| g != t) {
                bail!(
                    "--init-encoder's language model reads texts with the {t} tokenizer, not \
                    {given}"
                );
            }
            *t
        }
        None => a.data_args.tokenizer.unwrap_or_default(),
    };
    let skip = a.data_args.skip_bad_rows;
    let (train_raw, (valid_raw, test_raw)) = rayon::join(
        || read_raw(&train_file, &spec, tokenizer, skip),
        || {
            rayon::join(
                || read_opt(a.valid.as_deref(), &spec, tokenizer, skip),
                || read_opt(test_file.as_deref(), &spec, tokenizer, skip),
            )
        },
    );
    let (train_raw, valid_raw, test_raw) = (train_raw?, valid_raw?, test_raw?);
    let spec = ReadSpec {
        format: Some(train_raw.format),
        ..spec
    };

    let classes = match &a.class_names {
        Some(names) => Classes::infer(
            train_raw.examples.iter().map(|e| e.label.as_str()),
            Some(&names.0),
        )?,
        None if ag_news => {
            Classes::integer(AG_NEWS_CLASSES.iter().map(|s| s.to_string()).collect(), 1)
        }
        None => Classes::infer(train_raw.examples.iter().map(|e| e.label.as_str()), None)?,
    };
    let train_set = assign(&classes, train_raw, skip)?;
    let (train_examples, valid_examples) = match (valid_raw, a.valid_fraction) {
        (Some(v), _) => (
            train_set.examples,
            Some(assign(&classes, v, skip)?.examples),
        ),
        (None, Some(f)) => {
            let (t, v) = split_stratified(train_set.examples, classes.len(), f, a.seed)
                .with_context(|| format!("splitting {}", train_file.display()))?;
            (t, Some(v))
        }
        (None, None) => (train_set.examples, None),
    };
    let test_set = test_raw.map(|t| assign(&classes, t, skip)).transpose()?;

    let vocab_order = match &encoder {
        Some(_) => VocabOrder::Lm,
        None => a.vocab_order.unwrap_or(if ag_news {
            VocabOrder::Frequency
        } else {
            VocabOrder::PadUnk
        }),
    };
    let mut vocab = match encoder {
        Some((_, vocab)) => vocab,
        None => {
            let texts: Vec<&str> = train_examples.iter().map(|e| e.text.as_str()).collect();
            Vocab::from_texts_with(
                &texts,
                VocabOptions {
                    order: vocab_order,
                    min_freq: a.min_freq,
                    max_size: a.max_vocab,
                    tokenizer,
                },
            )
        }
    };
    let natural = vocab.len();
    if let Some(pad) = a.vocab_pad {
        vocab = vocab.with_dummies(pad);
    }
    let encode = |examples: &[recur_data::Example], what: &str| {
        let mut e = encode_dataset(examples, &vocab, tokenizer);
        if a.max_tokens > 0 {
            let cut = e.truncate(a.max_tokens);
            if cut > 0 {
                eprintln!(
                    "{cut} {what} texts cut to their first {} tokens (--max-tokens)",
                    a.max_tokens
                );
            }
        }
        e
    };
    let train = Arc::new(encode(&train_examples, "training"));
    let valid = valid_examples.as_deref().map(|v| encode(v, "validation"));
    let test = test_set.as_ref().map(|t| encode(&t.examples, "test"));
    report(
        &train_file,
        &train,
        valid.as_ref(),
        test_set.as_ref(),
        &classes,
        &vocab,
        vocab_order,
        natural,
        t_load,
    );
    Ok(TrainData {
        train,
        valid,
        test,
        classes,
        vocab,
        vocab_order,
        tokenizer,
        spec,
    })
}

/// Prints the sizes, the classes and the vocabulary; warns about classes with no training
/// example.
#[allow(clippy::too_many_arguments)]
fn report(
    train_file: &Path,
    train: &Encoded,
    valid: Option<&Encoded>,
    test: Option<&Dataset>,
    classes: &Classes,
    vocab: &Vocab,
    order: VocabOrder,
    natural: usize,
    t_load: Instant,
) {
    eprintln!(
        "{} train rows ({}), {} validation rows, {} test rows, vocab {} tokens ({}{}), {:.2}s",
        train.len(),
        train_file.display(),
        valid.map_or(0, Encoded::len),
        test.map_or(0, Dataset::len),
        vocab.len(),
        order.name(),
        if vocab.len() != natural {
            format!(", {natural} natural")
        } else {
            String::new()
        },
        t_load.elapsed().as_secs_f64()
    );
    let mut counts = vec![0usize; classes.len()];
    for &l in &train.labels {
        counts[l] += 1;
    }
    let listed: Vec<String> = classes
        .names()
        .iter()
        .zip(&counts)
        .map(|(n, c)| format!("{n} {c}"))
        .collect();
    eprintln!(
        "{} classes (train rows): {}",
        classes.len(),
        listed.join(", ")
    );
    let empty: Vec<&str> = classes
        .names()
        .iter()
        .zip(&counts)
        .filter(|(_, &c)| c == 0)
        .map(|(n, _)| n.as_str())
        .collect();
    if !empty.is_empty() {
        eprintln!(
            "warning: no training example of class {} (integer labels are class numbers; \
                --class-names can name them)",
            empty.join(", ")
        );
    }
}
