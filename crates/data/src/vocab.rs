//! The vocabulary, in both orders the lesson has shipped with, plus save/load.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::path::Path;

use crate::{DataError, Result};

/// How tokens are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VocabOrder {
    /// Legacy `torchtext.vocab.Vocab(counter, min_freq)`: `<unk>` = 0, `<pad>` = 1, then
    /// tokens by descending count, ties by ascending token.
    #[default]
    Frequency,
    /// `torchtext.vocab.vocab(counter, min_freq)`: tokens in first-occurrence order, no
    /// specials (unknown words get id 0 = the corpus's first token).
    FirstSeen,
}

impl VocabOrder {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VocabOrder::Frequency => "frequency",
            VocabOrder::FirstSeen => "first-seen",
        }
    }
}

/// Token ↔ id maps. Unknown tokens encode to 0, as the lesson's `encode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    itos: Vec<String>,
    stoi: FxHashMap<String, usize>,
}

/// Counts tokens, remembering first occurrences (a Python `Counter`'s insertion order):
/// token → (first-occurrence rank, count).
#[derive(Default)]
struct Counter {
    index: FxHashMap<String, (usize, usize)>,
}

impl Counter {
    fn add(&mut self, tok: &str) {
        match self.index.get_mut(tok) {
            Some(e) => e.1 += 1,
            None => {
                let rank = self.index.len();
                self.index.insert(tok.to_string(), (rank, 1));
            }
        }
    }

    /// Adds `n` occurrences of an owned token (merging counters).
    fn add_n(&mut self, tok: String, n: usize) {
        let rank = self.index.len();
        self.index.entry(tok).or_insert((rank, 0)).1 += n;
    }

    /// `(token, count)` in first-occurrence order.
    fn into_entries(self) -> Vec<(String, usize)> {
        let mut v: Vec<(usize, String, usize)> = self
            .index
            .into_iter()
            .map(|(t, (rank, n))| (rank, t, n))
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v.into_iter().map(|(_, t, n)| (t, n)).collect()
    }
}

impl Vocab {
    /// Builds a vocabulary from token lists (each list one text, already n-grammed if
    /// wanted): tokens with `count ≥ min_freq`, numbered by `order`.
    pub fn build<'a, I, T>(texts: I, order: VocabOrder, min_freq: usize) -> Vocab
    where
        I: IntoIterator<Item = T>,
        T: IntoIterator<Item = &'a str>,
    {
        let mut counter = Counter::default();
        for text in texts {
            for tok in text {
                counter.add(tok);
            }
        }
        Self::from_counts(counter.into_entries(), order, min_freq)
    }

    /// Builds a vocabulary straight from raw texts with [`crate::basic_english`] (unigrams),
    /// without materialising token lists. Large corpora are counted in parallel chunks whose
    /// counts are merged in chunk order, which keeps first-occurrence order exact.
    pub fn from_texts(texts: &[&str], order: VocabOrder, min_freq: usize) -> Vocab {
        use rayon::prelude::*;
        let count = |chunk: &[&str]| {
            let mut counter = Counter::default();
            let mut buf = String::new();
            for text in chunk {
                crate::tokenizer::basic_english_buf(text, &mut buf, &mut |t| counter.add(t));
            }
            counter
        };
        let threads = rayon::current_num_threads().max(1);
        let counter = if texts.len() < 2_000 || threads == 1 {
            count(texts)
        } else {
            let parts: Vec<Counter> = texts
                .par_chunks(texts.len().div_ceil(threads))
                .map(count)
                .collect();
            let mut merged = Counter::default();
            for part in parts {
                for (tok, n) in part.into_entries() {
                    merged.add_n(tok, n);
                }
            }
            merged
        };
        Self::from_counts(counter.into_entries(), order, min_freq)
    }

    /// Builds from `(token, count)` in first-occurrence order.
    pub fn from_counts(counts: Vec<(String, usize)>, order: VocabOrder, min_freq: usize) -> Vocab {
        let itos = match order {
            VocabOrder::FirstSeen => counts
                .into_iter()
                .filter(|(_, c)| *c >= min_freq)
                .map(|(t, _)| t)
                .collect(),
            VocabOrder::Frequency => {
                let min_freq = min_freq.max(1);
                let specials = ["<unk>", "<pad>"];
                let mut sorted: Vec<(String, usize)> = counts
                    .into_iter()
                    .filter(|(t, c)| *c >= min_freq && !specials.contains(&t.as_str()))
                    .collect();
                sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                specials
                    .iter()
                    .map(|s| s.to_string())
                    .chain(sorted.into_iter().map(|(t, _)| t))
                    .collect()
            }
        };
        Self::from_itos(itos)
    }

    fn from_itos(itos: Vec<String>) -> Vocab {
        let stoi = itos
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Vocab { itos, stoi }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.itos.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.itos.is_empty()
    }

    /// Tokens in id order.
    pub fn itos(&self) -> &[String] {
        &self.itos
    }

    /// Id of a token, if known.
    pub fn id(&self, token: &str) -> Option<usize> {
        self.stoi.get(token).copied()
    }

    /// Ids of `tokens`, unknown → 0.
    pub fn encode<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        tokens
            .into_iter()
            .map(|t| self.id(t).unwrap_or(0))
            .collect()
    }

    /// Writes one token per line in id order (atomically: temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = self.itos.join("\n");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Reads a file written by [`Vocab::save`]; refuses empty lines and duplicates.
    pub fn load(path: &Path) -> Result<Vocab> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let mut itos = Vec::new();
        let mut seen = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                return Err(DataError::Vocab {
                    path: path.into(),
                    detail: format!("line {} is empty", i + 1),
                });
            }
            if let Some(first) = seen.insert(line.to_string(), i + 1) {
                return Err(DataError::Vocab {
                    path: path.into(),
                    detail: format!("token {line:?} on line {} duplicates line {first}", i + 1),
                });
            }
            itos.push(line.to_string());
        }
        if itos.is_empty() {
            return Err(DataError::Vocab {
                path: path.into(),
                detail: "no token".into(),
            });
        }
        Ok(Self::from_itos(itos))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// crash never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}
