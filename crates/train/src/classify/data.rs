//! The data of a classifier run, read as its recipe says (`split.rs`), then the vocabulary of
//! the training part and every part encoded by the run's [`TextEncoder`].

use std::path::Path;
use std::sync::Arc;

use recur_data::{
    Classes, Dataset, Encoded, Example, ReadSpec, StratifiedFolds, TextEncoder, Tokenizer, Vocab,
    VocabOptions,
};

use crate::classify::split::{assign, read_raw, read_split, ClassifySplit};
use crate::engine::observer::Notice;
use crate::run::{ClassSpec, Fingerprint, TextSpec};
use crate::training::{ClassifyFiles, VocabPlan};
use crate::Result;

/// Everything a classifier run trains and evaluates on, encoded.
pub struct ClassifyData {
    /// The training examples (with member folds: every row of the training file).
    pub train: Arc<Encoded>,
    /// The validation examples.
    pub valid: Option<Encoded>,
    /// Or validation folds of `train`, one per recurrent member, which trains on the rest.
    pub folds: Option<StratifiedFolds>,
    /// The test examples (reporting only).
    pub test: Option<Encoded>,
    /// The classes.
    pub classes: Classes,
    /// How texts were encoded (its vocabulary is of the training part only; with member
    /// folds, of every training text).
    pub encoder: TextEncoder,
    /// How the files were read (the format resolved from the training file).
    pub read: ReadSpec,
    /// Training examples of each class (with member folds: a member's).
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

/// Encodes `split` as `text` says, with the vocabulary `plan` builds from its training
/// texts, or `vocab` as it is (a language model's, for a classifier started from it).
/// `members`: the model's recurrent members; member folds are kept for two or more, and one
/// member validates on fold 0 as a run without folds does.
pub fn encode(
    split: ClassifySplit,
    text: &TextSpec,
    plan: &VocabPlan,
    vocab: Option<Vocab>,
    members: usize,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifyData> {
    let split = match members {
        0 | 1 => split.one_member(),
        _ => split,
    };
    let ClassifySplit {
        train: train_examples,
        valid: valid_examples,
        folds,
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
    // a member's training rows: with member folds, those outside fold 0
    let in_fold = folds.as_ref().map(|f| f.mask(0));
    let mut class_counts = vec![0usize; classes.len()];
    for (i, &l) in train.labels.iter().enumerate() {
        if !in_fold.as_ref().is_some_and(|m| m[i]) {
            class_counts[l] += 1;
        }
    }
    let fold_rows = folds.as_ref().map_or(0, StratifiedFolds::fold_len);
    notice(Notice::ClassifyData {
        train_file,
        rows: [
            train.len() - fold_rows,
            valid.as_ref().map_or(fold_rows, Encoded::len),
            test.as_ref().map_or(0, Encoded::len),
        ],
        folds: folds.as_ref().map_or(0, |_| members),
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
        folds,
        test,
        classes,
        encoder,
        read,
        class_counts,
    })
}

/// Reads, splits and encodes a classifier's data (`read_split`, then `encode`).
/// `vocab`: a vocabulary to use as it is instead of one built from the training texts;
/// `members`: the model's recurrent members (member folds need two or more).
#[allow(clippy::too_many_arguments)]
pub fn load(
    files: &ClassifyFiles,
    read: &ReadSpec,
    text: &TextSpec,
    plan: &VocabPlan,
    vocab: Option<Vocab>,
    members: usize,
    seed: u64,
    notice: &mut dyn FnMut(Notice),
) -> Result<ClassifyData> {
    let split = read_split(files, read, text.tokenizer, seed, notice)?;
    encode(split, text, plan, vocab, members, notice)
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
