//! Language-model data, as PyTorch's `examples/word_language_model` reads it: documents
//! become one token stream with `<eos>` after each, numbered by a [`VocabOrder::Lm`]
//! vocabulary; the stream is cut into `B` parallel streams ([`Streams`], the example's
//! `batchify`) and read in windows of `bptt` steps (`get_batch`): the inputs are rows
//! `i..i+T` of the `[rows, B]` grid and the targets the rows one step later.

use std::path::Path;

use crate::lines::{too_long, utf8, Line, Lines, MAX_ROW_BYTES};
use crate::{
    read_labelled, DataError, ReadSpec, Result, Tokenizer, Vocab, VocabOptions, VocabOrder,
};

/// The end-of-document token.
pub const EOS: &str = "<eos>";

/// The documents of a file: one per non-empty line of a plain-text file (`.txt`, `.text`,
/// `.tokens`, `.raw`), else the texts of a labelled file read as `spec` says (labels ignored;
/// a row with no token by `tokenizer` is an error naming its line, or is skipped with
/// `skip_bad_rows`).
pub fn read_documents(
    path: &Path,
    spec: &ReadSpec,
    tokenizer: Tokenizer,
    skip_bad_rows: bool,
) -> Result<Vec<String>> {
    let plain = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "txt" | "text" | "tokens" | "raw"));
    if !plain {
        let raw = read_labelled(path, spec, tokenizer, skip_bad_rows)?;
        return Ok(raw.examples.into_iter().map(|e| e.text).collect());
    }
    let (input, ()) = crate::reader::open_text(path, |_| ())?;
    let mut lines = Lines::new(input, MAX_ROW_BYTES);
    let mut docs = Vec::new();
    while let Some((number, line)) = lines.next_line().map_err(|e| DataError::io(path, e))? {
        let bad = |detail: String| DataError::Row {
            path: path.into(),
            line: number,
            detail,
        };
        let text = match line {
            Line::TooLong => Err(too_long(MAX_ROW_BYTES)),
            Line::Text(t, _) => utf8(t).map(str::to_string),
        };
        match text {
            Ok(t) if t.trim().is_empty() => {}
            Ok(t) => docs.push(t),
            Err(_) if skip_bad_rows => {}
            Err(detail) => return Err(bad(detail)),
        }
    }
    if docs.is_empty() {
        return Err(DataError::Invalid(format!(
            "{}: no document (every line is empty)",
            path.display()
        )));
    }
    Ok(docs)
}

/// The vocabulary of `docs`: `<unk>`, `<eos>`, then the tokens seen at least `min_freq`
/// times in first-occurrence order (at most `max_size` of them: the most frequent).
pub fn lm_vocab(
    docs: &[&str],
    tokenizer: Tokenizer,
    min_freq: usize,
    max_size: Option<usize>,
) -> Vocab {
    Vocab::from_texts_with(
        docs,
        VocabOptions {
            order: VocabOrder::Lm,
            min_freq,
            max_size,
            tokenizer,
        },
    )
}

/// The token stream of `docs`: each document's ids, then `<eos>` (unknown tokens → `<unk>`).
pub fn lm_ids(docs: &[&str], tokenizer: Tokenizer, vocab: &Vocab) -> Vec<usize> {
    let eos = vocab.id(EOS).unwrap_or(vocab.unk_id());
    let mut ids = Vec::new();
    let mut buf = String::new();
    for doc in docs {
        tokenizer.tokens_into(doc, &mut buf, |t: &str| ids.push(vocab.id_or_unk(t)));
        ids.push(eos);
    }
    ids
}

/// A token stream cut into `batch` parallel streams: `grid[r · batch + s]` is token `r` of
/// stream `s` (stream `s` = tokens `s·rows .. (s+1)·rows` of the stream; the last
/// `len % batch` tokens are dropped, as `batchify` does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Streams {
    grid: Vec<usize>,
    rows: usize,
    batch: usize,
}

impl Streams {
    /// Cuts `ids` into `batch` streams; needs at least two tokens per stream.
    pub fn new(ids: &[usize], batch: usize) -> Result<Streams> {
        let rows = ids.len().checked_div(batch).unwrap_or(0);
        if batch == 0 || rows < 2 {
            return Err(DataError::Invalid(format!(
                "{} tokens cannot be cut into {batch} streams of at least 2 tokens: use a \
                 smaller batch size or more text",
                ids.len()
            )));
        }
        let mut grid = vec![0; rows * batch];
        for s in 0..batch {
            for r in 0..rows {
                grid[r * batch + s] = ids[s * rows + r];
            }
        }
        Ok(Streams { grid, rows, batch })
    }

    /// Tokens per stream.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of streams `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The start rows of the windows of `bptt` steps (`0, bptt, 2·bptt, …` while a target
    /// row remains).
    pub fn starts(&self, bptt: usize) -> impl Iterator<Item = usize> {
        (0..self.rows - 1).step_by(bptt.max(1))
    }

    /// The window at row `start`: `T = min(bptt, rows − 1 − start)` steps of inputs `[T, B]`
    /// and their targets (the next token of each), both time-major.
    pub fn window(&self, start: usize, bptt: usize) -> (Vec<usize>, Vec<usize>) {
        let t = bptt.min(self.rows - 1 - start);
        let b = self.batch;
        let inputs = self.grid[start * b..(start + t) * b].to_vec();
        let targets = self.grid[(start + 1) * b..(start + 1 + t) * b].to_vec();
        (inputs, targets)
    }

    /// Predicted tokens in all windows: `(rows − 1) · B`.
    pub fn predictions(&self) -> usize {
        (self.rows - 1) * self.batch
    }
}
