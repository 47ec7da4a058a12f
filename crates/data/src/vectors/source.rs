//! Reading a vectors file block by block: memory-mapped when plain, decompressed as it goes
//! when gzip.

use std::io::Read;
use std::path::Path;

use crate::{DataError, Result};

/// Bytes per parsed block (cut at a line end).
pub(super) const BLOCK: usize = 64 << 20;

/// A vectors file read block by block: memory-mapped when plain (parsed pages are given
/// back to the kernel), decompressed as it goes when gzip, so memory stays bounded.
pub(super) enum Source {
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
    pub(super) fn open(path: &Path) -> Result<Source> {
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
    pub(super) fn next_block(&mut self, path: &Path) -> Result<Option<&[u8]>> {
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
    pub(super) fn read_all(self, path: &Path) -> Result<Vec<u8>> {
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
