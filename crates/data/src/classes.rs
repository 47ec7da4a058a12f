//! Labels → classes. Integer labels keep their meaning (`1..=K` → `0..K−1`, or `0..K−1` as
//! they are when the training labels include 0); any other labels are names, each a class,
//! sorted unless an order is given. The mapping is saved with a run so that `eval` maps a
//! test file's labels the same way.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::LabelError;
use crate::{DataError, Dataset, Example, RawDataset, RawExample, Result};

/// How a label as written becomes a class index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LabelMap {
    /// Integer labels: class = label − `base`.
    Integer {
        /// The label of class 0 (1 for AG News).
        base: usize,
    },
    /// Each label is a class name.
    Names,
}

impl Default for LabelMap {
    /// AG News's integer classes from 1.
    fn default() -> Self {
        LabelMap::Integer { base: 1 }
    }
}

/// The classes of a task: their names (index = class) and how labels map to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classes {
    names: Vec<String>,
    map: LabelMap,
    index: FxHashMap<String, usize>,
}

/// The most classes a task may have.
pub const MAX_CLASSES: usize = 100_000;

fn is_integer_label(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Classes {
    /// Rebuilds classes from their names and mapping (as saved in a run).
    pub fn new(names: Vec<String>, map: LabelMap) -> Result<Classes> {
        if names.is_empty() {
            return Err(DataError::Invalid("no class".into()));
        }
        if names.len() > MAX_CLASSES {
            return Err(DataError::Invalid(format!(
                "{} classes, over the limit of {MAX_CLASSES}",
                names.len()
            )));
        }
        let mut index = FxHashMap::default();
        for (i, n) in names.iter().enumerate() {
            if let Some(first) = index.insert(n.clone(), i) {
                return Err(DataError::Invalid(format!(
                    "class name {n:?} is given twice (classes {} and {})",
                    first + 1,
                    i + 1
                )));
            }
        }
        Ok(Classes { names, map, index })
    }

    /// Integer classes `base..base + names.len()` named `names`.
    pub fn integer(names: Vec<String>, base: usize) -> Classes {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Classes {
            names,
            map: LabelMap::Integer { base },
            index,
        }
    }

    /// Infers the classes from training labels. When every label is a non-negative integer
    /// they are class numbers: base 0 if some label is 0, else 1; `K` = the largest label
    /// − base + 1 (or `names.len()`), named by `names` or by the numbers themselves.
    /// Otherwise every distinct label is a class, in `names`' order when given (a label not
    /// in it is refused by [`Classes::assign`] with its line), else sorted.
    pub fn infer<'a>(
        labels: impl IntoIterator<Item = &'a str>,
        names: Option<&[String]>,
    ) -> Result<Classes> {
        let seen: rustc_hash::FxHashSet<&str> = labels.into_iter().collect();
        let mut distinct: Vec<&str> = seen.into_iter().collect();
        distinct.sort_unstable();
        if distinct.is_empty() {
            return Err(DataError::Invalid("no label to infer classes from".into()));
        }
        let ints: Option<Vec<usize>> = distinct.iter().map(|l| is_integer_label(l)).collect();
        if let Some(ints) = ints {
            let base = if ints.contains(&0) { 0 } else { 1 };
            let max = ints.iter().copied().max().unwrap_or(base);
            // integer labels are class numbers: a few labels far apart would make classes
            // that no example has, which is a mistake, not a task
            let count = max - base + 1;
            let empty = count - ints.len();
            if names.is_none() && (count > MAX_CLASSES || (empty > 64 && empty > ints.len())) {
                return Err(DataError::Invalid(format!(
                    "the integer labels run up to {max}, which makes {count} classes of which \
                     only {} have an example: integer labels are class numbers {base}..=K; for \
                     labels that are names, name the classes",
                    ints.len()
                )));
            }
            let names = match names {
                Some(n) => n.to_vec(),
                None => (base..=max).map(|c| c.to_string()).collect(),
            };
            let classes = Classes::new(names, LabelMap::Integer { base })?;
            return Ok(classes);
        }
        let names = match names {
            Some(n) => n.to_vec(),
            None => distinct.into_iter().map(str::to_string).collect(),
        };
        Classes::new(names, LabelMap::Names)
    }

    /// Class names, index = class.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of classes `K`.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there is no class (never, for classes built by this type).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How labels map to classes.
    pub fn map(&self) -> LabelMap {
        self.map
    }

    /// The class of a label as written, or why it has none.
    pub fn class_of(&self, label: &str) -> std::result::Result<usize, LabelError> {
        let k = self.names.len();
        match self.map {
            LabelMap::Integer { base } => {
                let (first, last) = (base, base + k - 1);
                match label.trim().parse::<i64>() {
                    Ok(c) if c >= base as i64 && ((c - base as i64) as usize) < k => {
                        Ok((c - base as i64) as usize)
                    }
                    Ok(label) => Err(LabelError::OutOfRange { label, first, last }),
                    Err(_) => Err(LabelError::NotInteger {
                        label: label.to_string(),
                        first,
                        last,
                    }),
                }
            }
            LabelMap::Names => self
                .index
                .get(label)
                .copied()
                .ok_or_else(|| LabelError::Unknown {
                    label: label.to_string(),
                    names: self.names.clone(),
                }),
        }
    }

    /// Maps every row of `raw` to its class. A label without a class is an error naming
    /// file and line, or is skipped and recorded with `skip_bad_rows` (the skipped rows of
    /// both steps stay in file order).
    pub fn assign(&self, raw: RawDataset, skip_bad_rows: bool) -> Result<Dataset> {
        let mut skipped = raw.skipped;
        let mut examples = Vec::with_capacity(raw.examples.len());
        for RawExample { label, text, line } in raw.examples {
            match self.class_of(&label) {
                Ok(c) => examples.push(Example {
                    label: c,
                    text,
                    line,
                }),
                Err(why) => {
                    let err = DataError::Row {
                        path: raw.path.clone(),
                        line,
                        detail: why.to_string(),
                    };
                    if !skip_bad_rows {
                        return Err(err);
                    }
                    skipped.push(err);
                }
            }
        }
        skipped.sort_by_key(|e| match e {
            DataError::Row { line, .. } => *line,
            _ => 0,
        });
        Ok(Dataset {
            path: raw.path,
            examples,
            skipped,
        })
    }
}
