//! A classifier's files read concurrently, their labels mapped to classes (from the labels
//! or given names) and the validation part split off: one part, or a fold per member
//! ([`ClassifySplit`]), before the texts are encoded (`data.rs`).

use std::path::Path;
use std::time::Instant;

use recur_data::{
    read_labelled, Classes, Dataset, Example, LabelMap, RawDataset, ReadSpec, StratifiedFolds,
    Tokenizer,
};

use crate::engine::observer::Notice;
use crate::run::ClassSpec;
use crate::training::{ClassesFrom, ClassifyFiles};
use crate::{Result, TrainError};

/// Reads `path` as `spec` says; an empty result is an error.
pub(crate) fn read_raw(
    path: &Path,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    skip: bool,
) -> Result<RawDataset> {
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
pub(crate) fn assign(
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
    pub(crate) train: Vec<Example>,
    pub(crate) valid: Option<Vec<Example>>,
    /// Validation folds of `train` (which then holds every row), one per member.
    pub(crate) folds: Option<StratifiedFolds>,
    pub(crate) test: Option<Dataset>,
    pub(crate) classes: Classes,
    pub(crate) read: ReadSpec,
    pub(crate) train_file: std::path::PathBuf,
    pub(crate) started: Instant,
}

impl ClassifySplit {
    /// Training examples (the validation part taken out; with member folds, a member's).
    pub fn train_rows(&self) -> usize {
        self.train.len() - self.folds.as_ref().map_or(0, StratifiedFolds::fold_len)
    }

    /// Tokens of the training examples' texts by `tokenizer` (with member folds, those of
    /// the first member's training rows).
    pub fn train_tokens(&self, tokenizer: Tokenizer) -> usize {
        let held = self.folds.as_ref().map(|f| f.mask(0));
        let mut buf = String::new();
        self.train
            .iter()
            .enumerate()
            .filter(|(i, _)| !held.as_ref().is_some_and(|h| h[*i]))
            .map(|(_, e)| {
                let mut n = 0;
                tokenizer.tokens_into(&e.text, &mut buf, |_| n += 1);
                n
            })
            .sum()
    }

    /// Validation examples (0 without validation; with member folds, a member's fold).
    pub fn valid_rows(&self) -> usize {
        match &self.folds {
            Some(f) => f.fold_len(),
            None => self.valid.as_ref().map_or(0, Vec::len),
        }
    }

    /// The split of one member: with member folds, the training rows outside fold 0 and
    /// fold 0 for validation (the split a run without folds draws); else as it is.
    pub(crate) fn one_member(mut self) -> ClassifySplit {
        if let Some(folds) = self.folds.take() {
            let (mut train, mut valid) = (Vec::new(), Vec::with_capacity(folds.fold_len()));
            for (e, v) in std::mem::take(&mut self.train)
                .into_iter()
                .zip(folds.mask(0))
            {
                if v {
                    valid.push(e);
                } else {
                    train.push(e);
                }
            }
            (self.train, self.valid) = (train, Some(valid));
        }
        self
    }

    /// Refuses a split that cannot judge a recipe: no validation part, or a class with
    /// no validation or no training example (`train`: the training file, to name it).
    pub fn check_validation(&self, train: &Path) -> Result<()> {
        let labels = |examples: &[Example]| examples.iter().map(|e| e.label).collect();
        // with member folds, fold 0 (every fold has as many of each class)
        let (train_labels, valid_labels): (Vec<usize>, Vec<usize>) =
            match (&self.folds, &self.valid) {
                (Some(folds), _) => {
                    let in_fold = folds.mask(0);
                    let part = |held: bool| {
                        (self.train.iter().zip(&in_fold))
                            .filter(|&(_, &f)| f == held)
                            .map(|(e, _)| e.label)
                            .collect()
                    };
                    (part(false), part(true))
                }
                (None, Some(valid)) => (labels(&self.train), labels(valid)),
                (None, None) => {
                    return Err(TrainError::Invalid(
                        "a validation split is needed to judge recipes: give a validation file \
                         or a fraction of the training file"
                            .into(),
                    ))
                }
            };
        let n = self.classes.len();
        let count = |labels: &[usize]| {
            let mut c = vec![0usize; n];
            for &l in labels {
                if let Some(slot) = c.get_mut(l) {
                    *slot += 1;
                }
            }
            c
        };
        let (in_train, in_valid) = (count(&train_labels), count(&valid_labels));
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
                valid_labels.len()
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
    let (valid, folds) = match (valid_raw, files.valid_fraction) {
        (Some(v), _) => (Some(assign(&classes, v, skip, notice)?.examples), None),
        (None, Some(f)) => {
            let labels: Vec<usize> = train_set.examples.iter().map(|e| e.label).collect();
            let folds = StratifiedFolds::new(&labels, classes.len(), f, seed).map_err(|e| {
                TrainError::Invalid(format!("splitting {}: {e}", files.train.display()))
            })?;
            (None, Some(folds))
        }
        (None, None) => (None, None),
    };
    let test = test_raw
        .map(|t| assign(&classes, t, skip, notice))
        .transpose()?;
    let split = ClassifySplit {
        train: train_set.examples,
        valid,
        folds,
        test,
        classes,
        read,
        train_file: files.train.clone(),
        started,
    };
    Ok(match files.member_folds {
        true => split,
        false => split.one_member(),
    })
}
