//! The data of a classifier run, read as its recipe says: the training, validation and test
//! files read concurrently, classes from the labels or given names, the validation split,
//! the vocabulary of the training part, and every part encoded by the run's
//! [`TextEncoder`].

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use recur_data::{
    read_labelled, split_stratified, Classes, Dataset, Encoded, Example, LabelMap, RawDataset,
    ReadSpec, TextEncoder, Tokenizer, Vocab, VocabOptions,
};

use crate::engine::observer::Notice;
use crate::run::{ClassSpec, Fingerprint, TextSpec};
use crate::training::{ClassesFrom, ClassifyFiles, VocabPlan};
use crate::{Result, TrainError};

/// Everything a classifier run trains and evaluates on, encoded.
pub struct ClassifyData {
    /// The training examples.
    pub train: Arc<Encoded>,
    /// The validation examples.
    pub valid: Option<Encoded>,
    /// The test examples (reporting only).
    pub test: Option<Encoded>,
    /// The classes.
    pub classes: Classes,
    /// How texts were encoded (its vocabulary is of the training part only).
    pub encoder: TextEncoder,
    /// How the files were read (the format resolved from the training file).
    pub read: ReadSpec,
    /// Training examples of each class.
    pub class_counts: Vec<usize>,
}

impl ClassifyData {
    /// The classes as `config.json` records them.
    pub fn class_spec(&self) -> ClassSpec {
        ClassSpec {
            names: self.classes.names().to_vec(),
            labels: self.classes.map(),
        }
    }

    /// A hash of the encoded data and the vocabulary, to check a resume against.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut f = Fingerprint::default();
        let words = |e: &Encoded| -> Vec<u64> {
            let mut w = Vec::with_capacity(e.len() * 8);
            for (ids, &l) in e.ids.iter().zip(&e.labels) {
                w.push(l as u64);
                w.push(ids.len() as u64);
                w.extend(ids.iter().map(|&i| i as u64));
            }
            w
        };
        f.add(
            "the training data (rows, labels or their order)",
            words(&self.train),
        );
        if let Some(v) = &self.valid {
            f.add("the validation data", words(v));
        }
        if let Some(t) = &self.test {
            f.add("the test data", words(t));
        }
        f
    }
}

/// Reads `path` as `spec` says; an empty result is an error.
fn read_raw(path: &Path, spec: &ReadSpec, tokenizer: Tokenizer, skip: bool) -> Result<RawDataset> {
    let raw = read_labelled(path, spec, tokenizer, skip)?;
    if raw.examples.is_empty() && raw.skipped.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: no example",
            path.display()
        )));
    }
    Ok(raw)
}

/// Maps `raw`'s labels to `classes`, telling of skipped rows; an empty result is an error.
fn assign(
    classes: &Classes,
    raw: RawDataset,
    skip_bad_rows: bool,
    notice: &mut dyn FnMut(Notice),
) -> Result<Dataset> {
    let path = raw.path.clone();
    let d = classes.assign(raw, skip_bad_rows)?;
    if let Some(first) = d.skipped.first() {
        notice(Notice::Skipped {
            file: path.clone(),
            count: d.skipped.len(),
            first: first.to_string(),
        });
    }
    if d.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: no example left to use",
            path.display()
        )));
    }
    Ok(d)
}

/// Reads, splits and encodes a classifier's data. `vocab`: a vocabulary to use as it is (a
/// language model's, for a classifier started from it) instead of one built from the
/// training texts.
pub fn load(
    files: &ClassifyFiles,
    read: &ReadSpec,
    text: &TextSpec,
    plan: &VocabPlan,
    vocab: Option<Vocab>,
    seed: u64,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifyData> {
    let t0 = Instant::now();
    if files.valid.is_some() && files.valid_fraction.is_some() {
        return Err(TrainError::setting(
            "valid_fraction",
            "excludes a validation file: give one of them",
        ));
    }
    let (tokenizer, skip) = (text.tokenizer, files.skip_bad_rows);
    let opt = |p: &Option<std::path::PathBuf>| {
        p.as_deref()
            .map(|p| read_raw(p, read, tokenizer, skip))
            .transpose()
    };
    let (train_raw, (valid_raw, test_raw)) = rayon::join(
        || read_raw(&files.train, read, tokenizer, skip),
        || rayon::join(|| opt(&files.valid), || opt(&files.test)),
    );
    let (train_raw, valid_raw, test_raw) = (train_raw?, valid_raw?, test_raw?);
    let read = ReadSpec {
        format: Some(train_raw.format),
        ..read.clone()
    };
    let labels = || train_raw.examples.iter().map(|e| e.label.as_str());
    let classes = match &files.classes {
        ClassesFrom::Names { names } => Classes::infer(labels(), Some(names))?,
        ClassesFrom::AgNews => {
            let ag = ClassSpec::ag_news();
            let LabelMap::Integer { base } = ag.labels else {
                return Err(TrainError::Invalid("AG News labels are integers".into()));
            };
            Classes::integer(ag.names, base)
        }
        ClassesFrom::Labels => Classes::infer(labels(), None)?,
    };
    let train_set = assign(&classes, train_raw, skip, notice)?;
    let (train_examples, valid_examples): (Vec<Example>, Option<Vec<Example>>) =
        match (valid_raw, files.valid_fraction) {
            (Some(v), _) => (
                train_set.examples,
                Some(assign(&classes, v, skip, notice)?.examples),
            ),
            (None, Some(f)) => {
                let (t, v) =
                    split_stratified(train_set.examples, classes.len(), f, seed).map_err(|e| {
                        TrainError::Invalid(format!("splitting {}: {e}", files.train.display()))
                    })?;
                (t, Some(v))
            }
            (None, None) => (train_set.examples, None),
        };
    let test_set = test_raw
        .map(|t| assign(&classes, t, skip, notice))
        .transpose()?;
    let mut vocab = match vocab {
        Some(v) => v,
        None => {
            let texts: Vec<&str> = train_examples.iter().map(|e| e.text.as_str()).collect();
            Vocab::from_texts_with(
                &texts,
                VocabOptions {
                    order: text.vocab_order,
                    min_freq: plan.min_freq,
                    max_size: plan.max_size,
                    tokenizer,
                },
            )
        }
    };
    let natural = vocab.len();
    if let Some(pad) = plan.pad_to {
        vocab = vocab.with_dummies(pad);
    }
    let encoder = TextEncoder::new(tokenizer, vocab, text.max_tokens);
    let mut encode = |examples: &[Example], part: &'static str| {
        let (e, count) = encoder.encode_examples(examples);
        if let (true, Some(max_tokens)) = (count > 0, text.max_tokens) {
            notice(Notice::Truncated {
                part,
                count,
                max_tokens,
            });
        }
        e
    };
    let train = Arc::new(encode(&train_examples, "training"));
    let valid = valid_examples.as_deref().map(|v| encode(v, "validation"));
    let test = test_set.as_ref().map(|t| encode(&t.examples, "test"));
    let mut class_counts = vec![0usize; classes.len()];
    for &l in &train.labels {
        class_counts[l] += 1;
    }
    notice(Notice::ClassifyData {
        train_file: files.train.clone(),
        rows: [
            train.len(),
            valid.as_ref().map_or(0, Encoded::len),
            test.as_ref().map_or(0, Encoded::len),
        ],
        vocab: (encoder.vocab.len(), natural),
        order: encoder.vocab.order(),
        classes: classes
            .names()
            .iter()
            .cloned()
            .zip(class_counts.iter().copied())
            .collect(),
        seconds: t0.elapsed().as_secs_f64(),
    });
    Ok(ClassifyData {
        train,
        valid,
        test,
        classes,
        encoder,
        read,
        class_counts,
    })
}

/// The labelled examples of `path`, read as `spec` says and mapped to `classes` (a file to
/// evaluate a run on); skipped rows are told to `notice`.
pub fn read_examples(
    path: &Path,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    classes: &Classes,
    skip_bad_rows: bool,
    notice: &mut dyn FnMut(Notice),
) -> Result<Dataset> {
    let raw = read_raw(path, spec, tokenizer, skip_bad_rows)?;
    assign(classes, raw, skip_bad_rows, notice)
}
