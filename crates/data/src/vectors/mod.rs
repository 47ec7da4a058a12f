//! Pretrained word vectors for a vocabulary: GloVe text (no header), word2vec text
//! (`N D` header) and binary, fastText `.vec`, each optionally gzip-compressed. The file is
//! memory-mapped (or decompressed) block by block and each block parsed in parallel chunks;
//! only the vectors of vocabulary words are kept (an exact match first, else the
//! lower-cased word), so memory stays far below the file's size.

use std::path::Path;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use crate::{DataError, Result, Vocab};

mod parse;
mod source;

use parse::{bad_line, header, parse_binary, parse_text_block, Lookup, Part};
use source::Source;

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
                "unknown out-of-vocabulary init {s:?}: expected zeros or random"
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
    if part.words == 0 || dim == 0 {
        return Err(DataError::Invalid(format!(
            "{}: no word vector in it",
            path.display()
        )));
    }
    if dim != expected_dim {
        return Err(DataError::VectorWidth {
            path: path.into(),
            found: dim,
            expected: expected_dim,
        });
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
