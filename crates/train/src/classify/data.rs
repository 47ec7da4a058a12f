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

/// A classifier's files read, their labels mapped to classes and the validation part split
/// off: what a recipe sized by its data looks at before the texts are encoded.
pub struct ClassifySplit {
    train: Vec<Example>,
    valid: Option<Vec<Example>>,
    test: Option<Dataset>,
    classes: Classes,
    read: ReadSpec,
    train_file: std::path::PathBuf,
    started: Instant,
}

impl ClassifySplit {
    /// Training examples (the validation part taken out).
    pub fn train_rows(&self) -> usize {
        self.train.len()
    }

    /// Validation examples (0 without validation).
    pub fn valid_rows(&self) -> usize {
        self.valid.as_ref().map_or(0, Vec::len)
    }

    /// Refuses a split that cannot judge a recipe: no validation part, or a class with
    /// no validation or no training example (`train`: the training file, to name it).
    pub fn check_validation(&self, train: &Path) -> Result<()> {
        let Some(valid) = &self.valid else {
            return Err(TrainError::Invalid(
                "a validation split is needed to judge recipes: give a validation file or a \
                 fraction of the training file"
                    .into(),
            ));
        };
        let n = self.classes.len();
        let count = |examples: &[Example]| {
            let mut c = vec![0usize; n];
            for e in examples {
                if let Some(slot) = c.get_mut(e.label) {
                    *slot += 1;
                }
            }
            c
        };
        let (in_train, in_valid) = (count(&self.train), count(valid));
        let names = self.classes.names();
        let missing = |counts: &[usize]| -> Vec<String> {
            (0..n)
                .filter(|&c| counts[c] == 0)
                .map(|c| names.get(c).cloned().unwrap_or_else(|| c.to_string()))
                .collect()
        };
        let (no_train, no_valid) = (missing(&in_train), missing(&in_valid));
        if !no_train.is_empty() {
            return Err(TrainError::Invalid(format!(
                "{}: classes {} have no training example left: the training set is too small \
                 to carve a validation part from",
                train.display(),
                no_train.join(", ")
            )));
        }
        if !no_valid.is_empty() {
            return Err(TrainError::Invalid(format!(
                "the validation data has no example of classes {} ({} rows): a search would \
                 not be judged on them; give a validation file with every class or more \
                 training rows",
                no_valid.join(", "),
                valid.len()
            )));
        }
        Ok(())
    }
}

/// Reads a classifier's files, maps their labels to classes and splits the validation part
/// off the training file when asked (stratified, drawn from `seed`).
pub fn read_split(
    files: &ClassifyFiles,
    read: &ReadSpec,
    tokenizer: Tokenizer,
    seed: u64,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifySplit> {
    let started = Instant::now();
    if files.valid.is_some() && files.valid_fraction.is_some() {
        return Err(TrainError::setting(
            "valid_fraction",
            "excludes a validation file: give one of them",
        ));
    }
    let skip = files.skip_bad_rows;
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
    let (train, valid): (Vec<Example>, Option<Vec<Example>>) =
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
    let test = test_raw
        .map(|t| assign(&classes, t, skip, notice))
        .transpose()?;
    Ok(ClassifySplit {
        train,
        valid,
        test,
        classes,
        read,
        train_file: files.train.clone(),
        started,
    })
}

/// Encodes `split` as `text` says, with the vocabulary `plan` builds from its training
/// texts, or `vocab` as it is (a language model's, for a classifier started from it).
pub fn encode(
    split: ClassifySplit,
    text: &TextSpec,
    plan: &VocabPlan,
    vocab: Option<Vocab>,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifyData> {
    let ClassifySplit {
        train: train_examples,
        valid: valid_examples,
        test: test_set,
        classes,
        read,
        train_file,
        started,
    } = split;
    let tokenizer = text.tokenizer;
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
        train_file,
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
        seconds: started.elapsed().as_secs_f64(),
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

/// Reads, splits and encodes a classifier's data (`read_split`, then `encode`).
/// `vocab`: a vocabulary to use as it is instead of one built from the training texts.
pub fn load(
    files: &ClassifyFiles,
    read: &ReadSpec,
    text: &TextSpec,
    plan: &VocabPlan,
    vocab: Option<Vocab>,
    seed: u64,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifyData> {
    let split = read_split(files, read, text.tokenizer, seed, notice)?;
    encode(split, text, plan, vocab, notice)
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
