//! The vocabulary: the two orders the lesson has shipped with, and for new data one that
//! reserves `<pad>` = 0 and `<unk>` = 1 (save/load: `vocab_file.rs`).

use compact_str::CompactString;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::Tokenizer;

/// How tokens are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VocabOrder {
    /// Legacy `torchtext.vocab.Vocab(counter, min_freq)`: `<unk>` = 0, `<pad>` = 1, then
    /// tokens by descending count, ties by ascending token.
    #[default]
    Frequency,
    /// `torchtext.vocab.vocab(counter, min_freq)`: tokens in first-occurrence order, no
    /// specials (unknown words get id 0 = the corpus's first token).
    FirstSeen,
    /// `<pad>` = 0 (the embedding's `padding_idx`, so padding never collides with a token),
    /// `<unk>` = 1, then tokens by descending count, ties by ascending token.
    PadUnk,
    /// Language models: `<unk>` = 0, `<eos>` = 1 (the end of each document), then tokens in
    /// first-occurrence order (PyTorch's word_language_model `Dictionary`, with `<unk>`).
    Lm,
}

impl VocabOrder {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VocabOrder::Frequency => "frequency",
            VocabOrder::FirstSeen => "first-seen",
            VocabOrder::PadUnk => "pad-unk",
            VocabOrder::Lm => "lm",
        }
    }

    /// The id unknown tokens encode to.
    pub fn unk_id(self) -> usize {
        match self {
            VocabOrder::Frequency | VocabOrder::FirstSeen | VocabOrder::Lm => 0,
            VocabOrder::PadUnk => 1,
        }
    }

    /// The id reserved for padding (the embedding's `padding_idx`), if any. The lesson's
    /// orders pad with 0 without reserving it.
    pub fn padding_idx(self) -> Option<usize> {
        match self {
            VocabOrder::Frequency | VocabOrder::FirstSeen | VocabOrder::Lm => None,
            VocabOrder::PadUnk => Some(0),
        }
    }

    /// The special tokens that open the vocabulary.
    pub(crate) fn specials(self) -> &'static [&'static str] {
        match self {
            VocabOrder::Frequency => &["<unk>", "<pad>"],
            VocabOrder::FirstSeen => &[],
            VocabOrder::PadUnk => &["<pad>", "<unk>"],
            VocabOrder::Lm => &["<unk>", "<eos>"],
        }
    }
}

impl std::str::FromStr for VocabOrder {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            VocabOrder::Frequency,
            VocabOrder::FirstSeen,
            VocabOrder::PadUnk,
            VocabOrder::Lm,
        ]
        .into_iter()
        .find(|o| o.name() == s)
        .ok_or_else(|| {
            format!("unknown vocab order {s:?}: expected frequency, first-seen, pad-unk or lm")
        })
    }
}

/// How [`Vocab::from_texts_with`] builds a vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VocabOptions {
    /// The numbering.
    pub order: VocabOrder,
    /// Drop tokens seen fewer times.
    pub min_freq: usize,
    /// Keep at most this many tokens besides the specials: the most frequent, ties by first
    /// occurrence (`None`: all).
    pub max_size: Option<usize>,
    /// How texts become tokens.
    pub tokenizer: Tokenizer,
}

impl Default for VocabOptions {
    /// The lesson's: frequency order, every token, `basic_english`.
    fn default() -> Self {
        VocabOptions {
            order: VocabOrder::Frequency,
            min_freq: 1,
            max_size: None,
            tokenizer: Tokenizer::BasicEnglish,
        }
    }
}

/// The most tokens a vocabulary may have (`with_dummies` pads to at most this many).
pub const MAX_VOCAB: usize = 1 << 22;

/// Token ↔ id maps. Unknown tokens encode to [`Vocab::unk_id`] (0 in the lesson's orders, as
/// the lesson's `encode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    itos: Vec<String>,
    stoi: FxHashMap<String, usize>,
    unk: usize,
    order: VocabOrder,
}

/// Counts tokens, remembering first occurrences (a Python `Counter`'s insertion order):
/// token → (first-occurrence rank, count). Keys up to 24 bytes (nearly every token) live
/// inside the table's entries, so a lookup touches one cache line, not two.
#[derive(Default)]
struct Counter {
    index: FxHashMap<CompactString, (usize, usize)>,
}

impl Counter {
    fn add(&mut self, tok: &str) {
        match self.index.get_mut(tok) {
            Some(e) => e.1 += 1,
            None => {
                let rank = self.index.len();
                self.index.insert(CompactString::new(tok), (rank, 1));
            }
        }
    }

    /// Adds `n` occurrences of a token (merging counters).
    fn add_n(&mut self, tok: CompactString, n: usize) {
        let rank = self.index.len();
        self.index.entry(tok).or_insert((rank, 0)).1 += n;
    }

    /// `(token, count)` in first-occurrence order.
    fn into_entries(self) -> Vec<(CompactString, usize)> {
        let mut v: Vec<(usize, CompactString, usize)> = self
            .index
            .into_iter()
            .map(|(t, (rank, n))| (rank, t, n))
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v.into_iter().map(|(_, t, n)| (t, n)).collect()
    }

    /// [`Counter::into_entries`] with owned `String` tokens.
    fn into_string_entries(self) -> Vec<(String, usize)> {
        self.into_entries()
            .into_iter()
            .map(|(t, n)| (t.into_string(), n))
            .collect()
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
        Self::from_counts(counter.into_string_entries(), order, min_freq)
    }

    /// Builds a vocabulary straight from raw texts with [`crate::basic_english`] (unigrams):
    /// [`Vocab::from_texts_with`] with the lesson's options and `order`, `min_freq`.
    pub fn from_texts(texts: &[&str], order: VocabOrder, min_freq: usize) -> Vocab {
        Self::from_texts_with(
            texts,
            VocabOptions {
                order,
                min_freq,
                ..VocabOptions::default()
            },
        )
    }

    /// Builds a vocabulary straight from raw texts, without materialising token lists.
    /// Large corpora are counted in parallel chunks whose counts are merged in chunk order,
    /// which keeps first-occurrence order exact.
    pub fn from_texts_with(texts: &[&str], options: VocabOptions) -> Vocab {
        use rayon::prelude::*;
        let tokenizer = options.tokenizer;
        let count = |chunk: &[&str]| {
            let mut counter = Counter::default();
            let mut buf = String::new();
            for text in chunk {
                tokenizer.tokens_into(text, &mut buf, |t: &str| counter.add(t));
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
        Self::from_counts_limited(
            counter.into_string_entries(),
            options.order,
            options.min_freq,
            options.max_size,
        )
    }

    /// Builds from `(token, count)` in first-occurrence order.
    pub fn from_counts(counts: Vec<(String, usize)>, order: VocabOrder, min_freq: usize) -> Vocab {
        Self::from_counts_limited(counts, order, min_freq, None)
    }

    /// [`Vocab::from_counts`] keeping at most `max_size` tokens besides the specials: the most
    /// frequent, ties by first occurrence, then numbered by `order`.
    pub fn from_counts_limited(
        counts: Vec<(String, usize)>,
        order: VocabOrder,
        min_freq: usize,
        max_size: Option<usize>,
    ) -> Vocab {
        let specials = order.specials();
        let min_freq = if specials.is_empty() {
            min_freq
        } else {
            min_freq.max(1)
        };
        let mut kept: Vec<(usize, String, usize)> = counts
            .into_iter()
            .enumerate()
            .filter(|(_, (t, c))| *c >= min_freq && !specials.contains(&t.as_str()))
            .map(|(rank, (t, c))| (rank, t, c))
            .collect();
        let by_count = |a: &(usize, String, usize), b: &(usize, String, usize)| {
            b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0))
        };
        if let Some(max) = max_size.filter(|&m| m < kept.len()) {
            kept.sort_by(by_count);
            kept.truncate(max);
            kept.sort_by_key(|e| e.0);
        }
        if !matches!(order, VocabOrder::FirstSeen | VocabOrder::Lm) {
            kept.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        }
        let itos = specials
            .iter()
            .map(|s| s.to_string())
            .chain(kept.into_iter().map(|(_, t, _)| t))
            .collect();
        Self::from_itos(itos, order)
    }

    pub(crate) fn from_itos(itos: Vec<String>, order: VocabOrder) -> Vocab {
        let unk = order.unk_id();
        let stoi = itos
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Vocab {
            itos,
            stoi,
            unk,
            order,
        }
    }

    /// This vocabulary with unused `<dummyI>` tokens appended up to `size` tokens (benchmarks
    /// the cost of a large embedding); ids and the unknown id are unchanged. At most
    /// [`MAX_VOCAB`] tokens.
    pub fn with_dummies(self, size: usize) -> Vocab {
        let size = size.min(MAX_VOCAB);
        let mut itos = self.itos;
        let n = itos.len();
        itos.extend((n..size).map(|i| format!("<dummy{i}>")));
        Self::from_itos(itos, self.order)
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

    /// The tokens in id order with the special tokens that open the vocabulary (`<pad>`,
    /// `<unk>`, …) as empty strings: the words a text can hold.
    pub fn words(&self) -> Vec<&str> {
        let specials = self.order.specials();
        self.itos
            .iter()
            .enumerate()
            .map(|(i, t)| match specials.get(i) {
                Some(s) if s == t => "",
                _ => t.as_str(),
            })
            .collect()
    }

    /// Id of a token, if known.
    pub fn id(&self, token: &str) -> Option<usize> {
        self.stoi.get(token).copied()
    }

    /// How its tokens are numbered (which ids the specials have).
    pub fn order(&self) -> VocabOrder {
        self.order
    }

    /// The id unknown tokens encode to.
    pub fn unk_id(&self) -> usize {
        self.unk
    }

    /// Id of a token, unknown → [`Vocab::unk_id`].
    pub fn id_or_unk(&self, token: &str) -> usize {
        self.stoi.get(token).copied().unwrap_or(self.unk)
    }

    /// Ids of `tokens`, unknown → [`Vocab::unk_id`].
    pub fn encode<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        tokens.into_iter().map(|t| self.id_or_unk(t)).collect()
    }
}
