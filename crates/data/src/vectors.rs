//! Pretrained word vectors for a vocabulary: GloVe text (no header), word2vec text
//! (`N D` header) and binary, fastText `.vec`, each optionally gzip-compressed. The file is
//! memory-mapped (or decompressed) block by block and each block parsed in parallel chunks;
//! only the vectors of vocabulary words are kept (an exact match first, else the
//! lower-cased word), so memory stays far below the file's size.

use std::io::Read;
use std::path::Path;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::{DataError, Result, Vocab};

/// How vocabulary words without a vector are initialised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OovInit {
    /// Zero vectors.
    Zeros,
    /// Normal draws with the loaded vectors' mean and standard deviation (the default).
    #[default]
    Random,
}

impl std::str::FromStr for OovInit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "zeros" => Ok(OovInit::Zeros),
            "random" => Ok(OovInit::Random),
            _ => Err(format!(
                "unknown --oov-init {s:?}: expected zeros or random"
            )),
        }
    }
}

/// An embedding table built from a vectors file for a vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub struct PretrainedTable {
    /// `[V, D]` row-major, row `i` for vocabulary id `i`.
    pub table: Vec<f32>,
    /// `D`.
    pub dim: usize,
    /// Vocabulary words found exactly.
    pub exact: usize,
    /// Vocabulary words found only lower-cased.
    pub lowercase: usize,
    /// Vectors in the file.
    pub file_words: usize,
    /// Mean and standard deviation of every value in the file.
    pub mean: f64,
    /// See `mean`.
    pub std: f64,
}

impl PretrainedTable {
    /// Vocabulary words with a vector.
    pub fn found(&self) -> usize {
        self.exact + self.lowercase
    }
}

/// Statistics and matches of one parsed chunk.
#[derive(Default)]
struct Part {
    /// `(vocab id, exact, file order, vector)`.
    hits: Vec<(usize, bool, u64, Vec<f32>)>,
    sum: f64,
    sum_sq: f64,
    values: u64,
    words: u64,
}

impl Part {
    fn merge(mut self, other: Part) -> Part {
        self.hits.extend(other.hits);
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.values += other.values;
        self.words += other.words;
        self
    }

    fn add(&mut self, vocab: &Lookup, word: &str, order: u64, values: &[f32]) {
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
struct Lookup<'a> {
    vocab: &'a Vocab,
    lower: FxHashMap<String, usize>,
}

impl<'a> Lookup<'a> {
    fn new(vocab: &'a Vocab) -> Self {
        let mut lower = FxHashMap::default();
        for (i, t) in vocab.itos().iter().enumerate() {
            lower.entry(t.to_lowercase()).or_insert(i);
        }
        Lookup { vocab, lower }
    }

    /// The vocabulary id a file word fills: `(id, true)` on an exact match, `(id, false)`
    /// when only its lower-cased form is a vocabulary word.
    fn find(&self, word: &str) -> Option<(usize, bool)> {
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

fn bad_line(path: &Path, line: u64, detail: impl Into<String>) -> DataError {
    DataError::Row {
        path: path.into(),
        line,
        detail: detail.into(),
    }
}

/// Parses one text line `word v1 … vD` (the word may hold spaces: the last `dim` fields are
/// the vector) into `out`, with `fields` as scratch space; returns the word's bytes.
fn parse_text_line<'l>(
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
fn parse_text_block(
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

/// Bytes per parsed block (cut at a line end).
const BLOCK: usize = 64 << 20;

/// A vectors file read block by block: memory-mapped when plain (parsed pages are given
/// back to the kernel), decompressed as it goes when gzip, so memory stays bounded.
enum Source {
    Mapped {
        map: memmap2::Mmap,
        at: usize,
    },
    Gzip {
        reader: Box<dyn Read>,
        buf: Vec<u8>,
        done: usize,
        eof: bool,
    },
}

impl Source {
    fn open(path: &Path) -> Result<Source> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut magic = [0u8; 2];
        let gz = (&file).read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        if gz {
            let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
            let reader = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
            return Ok(Source::Gzip {
                reader: Box::new(reader),
                buf: Vec::new(),
                done: 0,
                eof: false,
            });
        }
        // SAFETY: the file is only read; recur does not write vector files while reading.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DataError::io(path, e))?;
        Ok(Source::Mapped { map, at: 0 })
    }

    /// The next block of whole lines (`None` at the end); the previous block is released.
    fn next_block(&mut self, path: &Path) -> Result<Option<&[u8]>> {
        match self {
            Source::Mapped { map, at } => {
                if *at > 0 {
                    let page = 4096;
                    let prev_end = *at / page * page;
                    // SAFETY: the mapping is read-only and file-backed: dropping parsed
                    // pages only means they are read again from the file if touched.
                    let _ = unsafe {
                        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, prev_end)
                    };
                }
                if *at >= map.len() {
                    return Ok(None);
                }
                let start = *at;
                let end = (start + BLOCK).min(map.len());
                let end = map[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(map.len(), |i| end + i + 1);
                *at = end;
                Ok(Some(&map[start..end]))
            }
            Source::Gzip {
                reader,
                buf,
                done,
                eof,
            } => {
                buf.drain(..*done);
                *done = 0;
                while !*eof && buf.len() < BLOCK {
                    let old = buf.len();
                    buf.resize(old + (1 << 20), 0);
                    let n = reader
                        .read(&mut buf[old..])
                        .map_err(|e| DataError::io(path, e))?;
                    buf.truncate(old + n);
                    *eof = n == 0;
                }
                if buf.is_empty() {
                    return Ok(None);
                }
                let cut = if *eof {
                    buf.len()
                } else {
                    match buf.iter().rposition(|&b| b == b'\n') {
                        Some(i) => i + 1,
                        None => buf.len(),
                    }
                };
                *done = cut;
                Ok(Some(&buf[..cut]))
            }
        }
    }

    /// Everything left, in memory (binary vectors are read in one go).
    fn read_all(self, path: &Path) -> Result<Vec<u8>> {
        match self {
            Source::Mapped { map, .. } => Ok(map.to_vec()),
            Source::Gzip {
                mut reader,
                mut buf,
                ..
            } => {
                reader
                    .read_to_end(&mut buf)
                    .map_err(|e| DataError::io(path, e))?;
                Ok(buf)
            }
        }
    }
}

/// `N D` when `line` is a word2vec / fastText header.
fn header(line: &[u8]) -> Option<(u64, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut it = text.split_whitespace();
    let (n, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    it.next().is_none().then_some((n, d))
}

/// Binary word2vec: `N D\n`, then per word `word ` and `D` little-endian f32.
fn parse_binary(bytes: &[u8], vocab: &Lookup, path: &Path) -> Result<(Part, usize)> {
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

/// Loads the vectors of `path` for `vocab` (see the module doc). `binary` reads word2vec's
/// binary format (auto: a `.bin` or `.bin.gz` name). A dimension other than `expected_dim`
/// is an error naming both; a malformed line names its line number. Words without a vector
/// are set by `oov` (random: drawn from `seed`); `padding_idx`'s row is zero.
pub fn load_vectors(
    path: &Path,
    vocab: &Vocab,
    expected_dim: usize,
    oov: OovInit,
    padding_idx: Option<usize>,
    seed: u64,
) -> Result<PretrainedTable> {
    let name = path.to_string_lossy();
    let binary = name.ends_with(".bin") || name.ends_with(".bin.gz");
    let mut source = Source::open(path)?;
    let lookup = Lookup::new(vocab);
    let (part, dim) = if binary {
        match source {
            Source::Mapped { ref map, .. } => parse_binary(map, &lookup, path)?,
            gz => parse_binary(&gz.read_all(path)?, &lookup, path)?,
        }
    } else {
        let mut part = Part::default();
        let mut dim = None;
        let mut line = 1u64;
        while let Some(block) = source.next_block(path)? {
            let mut body = block;
            if dim.is_none() {
                let first_nl = block
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(block.len());
                let first = &block[..first_nl];
                dim = Some(match header(first) {
                    Some((_, d)) => {
                        body = &block[(first_nl + 1).min(block.len())..];
                        line = 2;
                        d
                    }
                    None => {
                        let text = std::str::from_utf8(first)
                            .map_err(|_| bad_line(path, 1, "not valid UTF-8"))?;
                        let fields = text.split_whitespace().count();
                        if fields < 2 {
                            return Err(bad_line(path, 1, "expected a word and its numbers"));
                        }
                        fields - 1
                    }
                });
            }
            let d = dim.unwrap_or(0);
            part = part.merge(parse_text_block(body, line, d, &lookup, path)?);
            line += body.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        (part, dim.unwrap_or(0))
    };
    if dim != expected_dim {
        return Err(DataError::Invalid(format!(
            "{}: the vectors have {dim} dimensions but --embed is {expected_dim}; pass --embed \
                {dim}",
            path.display()
        )));
    }
    if part.words == 0 {
        return Err(DataError::Invalid(format!("{}: no vector", path.display())));
    }
    let mean = part.sum / part.values as f64;
    let std = (part.sum_sq / part.values as f64 - mean * mean)
        .max(0.0)
        .sqrt();
    let v = vocab.len();
    let mut table = vec![0f32; v * dim];
    // exact matches win over lower-cased ones; among equals the file's first
    let mut hits = part.hits;
    hits.sort_by_key(|h| (h.0, !h.1, h.2));
    let mut filled = vec![None; v];
    for (id, exact, _, values) in hits {
        if filled[id].is_none() {
            table[id * dim..(id + 1) * dim].copy_from_slice(&values);
            filled[id] = Some(exact);
        }
    }
    if oov == OovInit::Random && std > 0.0 {
        let normal = Normal::new(mean, std)
            .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for (id, f) in filled.iter().enumerate() {
            if f.is_none() {
                for x in &mut table[id * dim..(id + 1) * dim] {
                    *x = normal.sample(&mut rng) as f32;
                }
            }
        }
    }
    if let Some(p) = padding_idx.filter(|&p| p < v) {
        table[p * dim..(p + 1) * dim].fill(0.0);
    }
    Ok(PretrainedTable {
        table,
        dim,
        exact: filled.iter().filter(|f| **f == Some(true)).count(),
        lowercase: filled.iter().filter(|f| **f == Some(false)).count(),
        file_words: part.words as usize,
        mean,
        std,
    })
}
