//! A vocabulary file: one token per line in id order, written atomically and read back
//! strictly (no empty line, no duplicate, the order's special tokens first).

use std::collections::HashMap;
use std::path::Path;

use crate::{DataError, Result, Vocab, VocabOrder};

impl Vocab {
    /// Writes one token per line in id order (atomically: temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = self.itos().join("\n");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Reads a file written by [`Vocab::save`] with unknown → 0 (the lesson's orders);
    /// refuses empty lines and duplicates.
    pub fn load(path: &Path) -> Result<Vocab> {
        Self::load_as(path, VocabOrder::Frequency)
    }

    /// Reads a file written by [`Vocab::save`] for a vocabulary numbered by `order`: checks
    /// that its special tokens open it, and encodes unknown tokens as `order` says.
    pub fn load_as(path: &Path, order: VocabOrder) -> Result<Vocab> {
        let vocab = Self::load_lines(path, order)?;
        if matches!(order, VocabOrder::PadUnk | VocabOrder::Lm) {
            let specials = order.specials();
            if vocab.itos().len() < specials.len() || vocab.itos()[..specials.len()] != *specials {
                return Err(DataError::Vocab {
                    path: path.into(),
                    detail: format!(
                        "a {} vocabulary starts with {}",
                        order.name(),
                        specials.join(", ")
                    ),
                });
            }
        }
        Ok(vocab)
    }

    fn load_lines(path: &Path, order: VocabOrder) -> Result<Vocab> {
        let text = read_text(path, MAX_VOCAB_FILE_BYTES)?;
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
        Ok(Self::from_itos(itos, order))
    }
}

/// The most bytes a vocabulary file may have (a few million tokens).
pub const MAX_VOCAB_FILE_BYTES: u64 = 1 << 30;

/// The text of `path`, refused past `max` bytes (an endless or runaway file is not read
/// whole) or when it is not UTF-8.
pub fn read_text(path: &Path, max: u64) -> Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(DataError::Invalid(format!(
            "{}: over {max} bytes, more than such a file holds",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|e| DataError::Invalid(format!("{}: not valid UTF-8 ({e})", path.display())))
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
