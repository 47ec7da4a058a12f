//! Labelled text files in, plain batches out (this crate knows nothing of tensors).
//!
//! [`read_labelled`] reads CSV, TSV, JSONL and fastText files as a [`ReadSpec`] says
//! (format, label and text columns, header); [`Classes`] maps labels (integers or names) to
//! class indices; [`split_stratified`] draws a validation split; [`Tokenizer`] is torchtext's
//! `basic_english` rule for rule, or whitespace, or characters; [`Vocab`] numbers tokens as
//! the lesson's torchtext versions did or with reserved `<pad>`/`<unk>`; [`collate`] pads a
//! batch with 0 as the lesson's `padify`; [`Loader`] shuffles with a seed and can prepare
//! batches on a background thread; [`load_vectors`] reads pretrained word vectors (GloVe,
//! word2vec, fastText `.vec`, gzip) for a vocabulary. `download` (the default-on `download`
//! feature) fetches and checks AG News; [`read_csv`] is its reader.
//!
//! ```
//! use recur_data::{collate, Encoded, Tokenizer, Vocab, VocabOrder};
//!
//! let texts = ["Stocks fell sharply.", "The striker scored twice!"];
//! let vocab = Vocab::from_texts(&texts, VocabOrder::Frequency, 1);
//! let tokens = Tokenizer::BasicEnglish.tokenize(texts[0]);
//! assert_eq!(tokens, ["stocks", "fell", "sharply", "."]);
//! let data = Encoded {
//!     labels: vec![1, 0],
//! ids: texts.iter().map(|t|
//! vocab.encode(Tokenizer::BasicEnglish.tokenize(t).iter().map(String::as_str))).collect(),
//! };
//! let batch = collate(&data, &[0, 1])?; // padded with 0 to [B=2, T=5]
//! assert_eq!((batch.len(), batch.max_len, batch.lengths.clone()), (2, 5, vec![4, 5]));
//! # Ok::<(), recur_data::DataError>(())
//! ```

mod ag_news;
mod classes;
mod delimited;
#[cfg(feature = "download")]
pub mod download;
mod encoder;
mod error;
mod fasttext;
mod jsonl;
mod lines;
mod lm;
mod loader;
mod locate;
mod reader;
mod rows;
mod spec;
mod split;
mod texts;
mod tokenizer;
mod vectors;
mod vocab;
mod vocab_file;

pub use ag_news::{read_csv, ReadOptions};
pub use classes::{Classes, LabelMap, MAX_CLASSES};
pub use encoder::TextEncoder;
pub use error::{DataError, LabelError, Result};
pub use lines::{Line, Lines, MAX_ROW_BYTES};
pub use lm::{lm_ids, lm_vocab, read_documents, Streams, EOS};
pub use loader::{collate, Batch, Encoded, Loader, LoaderConfig, Prefetch};
pub use locate::{locate, DataFiles};
pub use reader::{read_labelled, read_labelled_first, Dataset, Example};
pub use rows::{RawDataset, RawExample, TextRow, MAX_TEXT_BYTES};
pub use spec::{Column, Format, ReadSpec, LABEL_PREFIX};
pub use split::{split_stratified, StratifiedFolds};
pub use texts::{read_texts, read_texts_from, TextLayout, TextOptions, TextsRead};
pub use tokenizer::{basic_english, ngrams, Tokenizer};
pub use vectors::{load_vectors, OovInit, PretrainedTable};
pub use vocab::{Vocab, VocabOptions, VocabOrder, MAX_VOCAB};
pub use vocab_file::{read_text, write_atomic, MAX_VOCAB_FILE_BYTES};

/// AG News class names, index = label − 1.
pub const AG_NEWS_CLASSES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];
