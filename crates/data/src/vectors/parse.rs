//! Parsing vectors files: text lines and word2vec's binary records, each matched to the
//! vocabulary ([`Lookup`]: exact, then lower-cased) and summed into a [`Part`].

use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::{DataError, Result, Vocab};

/// Statistics and matches of one parsed chunk.
#[derive(Default)]
pub(super) struct Part {
    /// `(vocab id, exact, file order, vector)`.
    pub(super) hits: Vec<(usize, bool, u64, Vec<f32>)>,
    pub(super) sum: f64,
    pub(super) sum_sq: f64,
    pub(super) values: u64,
    pub(super) words: u64,
}

impl Part {
    pub(super) fn merge(mut self, other: Part) -> Part {
        self.hits.extend(other.hits);
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.values += other.values;
        self.words += other.words;
        self
    }

    pub(super) fn add(&mut self, vocab: &Lookup, word: &str, order: u64, values: &[f32]) {
        for &v in values {
            self.sum += v as f64;
            self.sum_sq += (v as f64) * (v as f64);
        }
        self.values += values.len() as u64;
        self.words += 1;
        if let Some((id, exact)) = vocab.find(word) {
            self.hits.push((id, exact, order, values.to_vec()));
        }
    }
}

/// Vocabulary lookups: exact, and lower-cased (for words the file has in another case).
pub(super) struct Lookup<'a> {
    vocab: &'a Vocab,
    lower: FxHashMap<String, usize>,
}

impl<'a> Lookup<'a> {
    pub(super) fn new(vocab: &'a Vocab) -> Self {
        let mut lower = FxHashMap::default();
        for (i, t) in vocab.itos().iter().enumerate() {
            lower.entry(t.to_lowercase()).or_insert(i);
        }
        Lookup { vocab, lower }
    }

    /// The vocabulary id a file word fills: `(id, true)` on an exact match, `(id, false)`
    /// when only its lower-cased form is a vocabulary word.
    pub(super) fn find(&self, word: &str) -> Option<(usize, bool)> {
        if let Some(id) = self.vocab.id(word) {
            return Some((id, true));
        }
        if word.bytes().any(|b| b.is_ascii_uppercase()) || !word.is_ascii() {
            let l = word.to_lowercase();
            if let Some(&id) = self.lower.get(&l) {
                if self.vocab.itos()[id] == l {
                    return Some((id, false));
                }
            }
        }
        None
    }
}

pub(super) fn bad_line(path: &Path, line: u64, detail: impl Into<String>) -> DataError {
    DataError::Row {
        path: path.into(),
        line,
        detail: detail.into(),
    }
}

/// Parses one text line `word v1 … vD` (the word may hold spaces: the last `dim` fields are
/// the vector) into `out`, with `fields` as scratch space; returns the word's bytes.
pub(super) fn parse_text_line<'l>(
    line: &'l [u8],
    dim: usize,
    out: &mut Vec<f32>,
    fields: &mut Vec<(usize, usize)>,
) -> std::result::Result<&'l [u8], String> {
    fields.clear();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
            i += 1;
        }
        if i > start {
            fields.push((start, i));
        }
    }
    if fields.len() < dim + 1 {
        return Err(format!(
            "expected a word and {dim} numbers, found {} fields",
            fields.len()
        ));
    }
    let first_num = fields.len() - dim;
    if first_num > 1
        && fast_float2::parse::<f32, _>(&line[fields[first_num - 1].0..fields[first_num - 1].1])
            .is_ok()
    {
        return Err(format!("more than {dim} numbers after the word"));
    }
    out.clear();
    for &(a, b) in &fields[first_num..] {
        let field = &line[a..b];
        let v: f32 = fast_float2::parse(field)
            .map_err(|_| format!("{:?} is not a number", String::from_utf8_lossy(field)))?;
        out.push(v);
    }
    Ok(&line[fields[0].0..fields[first_num - 1].1])
}

/// Text vectors in `block` (whole lines; the first has 1-based number `first_line`).
pub(super) fn parse_text_block(
    block: &[u8],
    first_line: u64,
    dim: usize,
    vocab: &Lookup,
    path: &Path,
) -> Result<Part> {
    // cut the block into chunks at line ends, one per task
    let tasks = rayon::current_num_threads() * 4;
    let target = block.len().div_ceil(tasks.max(1)).max(1 << 16);
    let mut cuts = vec![0usize];
    while let Some(&last) = cuts.last() {
        if last >= block.len() {
            break;
        }
        let at = (last + target).min(block.len());
        let end = block[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(block.len(), |i| at + i + 1);
        cuts.push(end);
    }
    let chunks: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    // line number of each chunk's first line
    let newlines: Vec<u64> = chunks
        .par_iter()
        .map(|&(a, b)| block[a..b].iter().filter(|&&c| c == b'\n').count() as u64)
        .collect();
    let mut starts = Vec::with_capacity(chunks.len());
    let mut at = first_line;
    for n in &newlines {
        starts.push(at);
        at += n;
    }
    chunks
        .par_iter()
        .zip(starts)
        .map(|(&(a, b), start)| {
            let mut part = Part::default();
            let mut values = Vec::with_capacity(dim);
            let mut fields = Vec::with_capacity(dim + 1);
            for (i, raw) in block[a..b].split(|&c| c == b'\n').enumerate() {
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                if raw.iter().all(|c| c.is_ascii_whitespace()) {
                    continue;
                }
                let line = start + i as u64;
                let word = parse_text_line(raw, dim, &mut values, &mut fields)
                    .map_err(|d| bad_line(path, line, d))?;
                let word = std::str::from_utf8(word).map_err(|e| {
                    bad_line(path, line, format!("the word is not valid UTF-8: {e}"))
                })?;
                part.add(vocab, word, line, &values);
            }
            Ok(part)
        })
        .try_reduce(Part::default, |a, b| Ok(a.merge(b)))
}

/// `N D` when `line` is a word2vec / fastText header.
pub(super) fn header(line: &[u8]) -> Option<(u64, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut it = text.split_whitespace();
    let (n, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    it.next().is_none().then_some((n, d))
}

/// Binary word2vec: `N D\n`, then per word `word ` and `D` little-endian f32.
pub(super) fn parse_binary(bytes: &[u8], vocab: &Lookup, path: &Path) -> Result<(Part, usize)> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad_line(path, 1, "no header line (expected `N D`)"))?;
    let (n, dim) = header(&bytes[..nl])
        .ok_or_else(|| bad_line(path, 1, "binary vectors need an `N D` header"))?;
    let mut part = Part::default();
    let mut at = nl + 1;
    let mut values = vec![0f32; dim];
    for i in 0..n {
        while at < bytes.len() && (bytes[at] == b'\n' || bytes[at] == b' ') {
            at += 1;
        }
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b' ')
            .map(|p| at + p)
            .ok_or_else(|| bad_line(path, i + 2, format!("vector {} of {n} is cut off", i + 1)))?;
        let word = std::str::from_utf8(&bytes[at..end])
            .map_err(|_| bad_line(path, i + 2, format!("word {} is not valid UTF-8", i + 1)))?;
        let data = bytes
            .get(end + 1..end + 1 + 4 * dim)
            .ok_or_else(|| bad_line(path, i + 2, format!("vector {} of {n} is cut off", i + 1)))?;
        for (v, c) in values.iter_mut().zip(data.chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        part.add(vocab, word, i, &values);
        at = end + 1 + 4 * dim;
    }
    Ok((part, dim))
}
