//! The lesson's AG News reader ([`read_csv`]): the generic reader with AG News's shape and
//! its integer classes.

use std::path::Path;

use crate::reader::{read_labelled_first, Dataset};
use crate::{Classes, Format, ReadSpec, Result, Tokenizer};

/// How [`read_csv`] reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Classes are `1..=num_classes` in the file.
    pub num_classes: usize,
    /// Skip malformed rows (reported in [`Dataset::skipped`]) instead of failing.
    pub skip_bad_rows: bool,
    /// Read at most this many good rows, the first ones (`None`: all).
    pub max_rows: Option<usize>,
}

impl Default for ReadOptions {
    /// AG News's four classes; a malformed row is an error.
    fn default() -> Self {
        ReadOptions {
            num_classes: 4,
            skip_bad_rows: false,
            max_rows: None,
        }
    }
}

/// Reads an AG News-shaped CSV (no header, integer class `1..=num_classes` in column 1,
/// every other column joined, e.g. `class,title,description`), tokenized with
/// `basic_english`: [`crate::read_labelled`] with the default [`ReadSpec`], classes mapped by
/// [`Classes::integer`].
pub fn read_csv(path: &Path, options: ReadOptions) -> Result<Dataset> {
    let spec = ReadSpec {
        format: Some(Format::Csv),
        ..ReadSpec::default()
    };
    let raw = read_labelled_first(
        path,
        &spec,
        Tokenizer::BasicEnglish,
        options.skip_bad_rows,
        options.max_rows,
    )?;
    let names = (1..=options.num_classes).map(|c| c.to_string()).collect();
    Classes::integer(names, 1).assign(raw, options.skip_bad_rows)
}
