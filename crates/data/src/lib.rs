//! The AG News pipeline: files in, plain batches out (this crate knows nothing of tensors).
//!
//! [`download`] fetches and checks the CSV files; [`read_csv`] parses `class,title,description`
//! (or `class,text`) rows; [`basic_english`] is torchtext's tokenizer rule for rule;
//! [`Vocab`] numbers tokens as the lesson's torchtext versions did; [`collate`] pads a batch
//! with 0 as the lesson's `padify`; [`Loader`] shuffles with a seed and can prepare batches on
//! a background thread.

pub mod download;
mod error;
mod loader;
mod locate;
mod reader;
mod tokenizer;
mod vocab;

pub use error::{DataError, Result};
pub use loader::{collate, encode_dataset, Batch, Encoded, Loader, Prefetch};
pub use locate::{locate, DataFiles};
pub use reader::{read_csv, Dataset, Example, ReadOptions};
pub use tokenizer::{basic_english, ngrams};
pub use vocab::{write_atomic, Vocab, VocabOrder};

/// AG News class names, index = label − 1.
pub const AG_NEWS_CLASSES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];
