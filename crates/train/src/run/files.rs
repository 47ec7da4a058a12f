//! Reading run-folder files with bounds: [`read_bounded`] refuses a file past the size such
//! a file can have (an endless or runaway file is never read whole), and a safetensors
//! file's shapes are read from its header alone ([`file_shapes`]) and checked against a
//! config's ([`check_file_shapes`]) before anything is allocated for them.

use std::path::Path;

use crate::{Result, TrainError};

fn bad(path: &Path, detail: impl std::fmt::Display) -> TrainError {
    TrainError::run_folder(path, detail.to_string())
}

/// The most bytes a safetensors file of `elements` values (and `tensors` of them) holds:
/// f64 values and a generous header.
pub(crate) fn safetensors_bound(elements: usize, tensors: usize) -> u64 {
    (elements as u64).saturating_mul(8) + (tensors as u64 + 1) * 4096 + (1 << 20)
}

/// The largest safetensors header read (its JSON: names, dtypes, shapes, offsets).
const MAX_HEADER_BYTES: u64 = 64 << 20;

/// The tensors of the safetensors file `path` as its header lists them, `(name, shape)`
/// sorted by name, read without reading the data (so shapes are checked before anything
/// is allocated for them).
pub fn file_shapes(path: &Path) -> Result<Vec<(String, Vec<usize>)>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|e| bad(path, format!("not a safetensors file (no header: {e})")))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES {
        return Err(bad(
            path,
            format!("not a safetensors file: its header claims {n} bytes"),
        ));
    }
    let mut header = Vec::new();
    file.take(n)
        .read_to_end(&mut header)
        .map_err(|e| TrainError::io(path, e))?;
    if header.len() as u64 != n {
        return Err(bad(path, "truncated: the header is cut off"));
    }
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| bad(path, format!("not a safetensors file (header: {e})")))?;
    let serde_json::Value::Object(map) = v else {
        return Err(bad(
            path,
            "not a safetensors file (its header is not an object)",
        ));
    };
    let mut out = Vec::new();
    for (name, entry) in map {
        if name == "__metadata__" {
            continue;
        }
        let shape = entry["shape"]
            .as_array()
            .and_then(|dims| {
                dims.iter()
                    .map(|d| d.as_u64().map(|d| d as usize))
                    .collect()
            })
            .ok_or_else(|| bad(path, format!("key {name} has no shape")))?;
        out.push((name, shape));
    }
    out.sort();
    Ok(out)
}

/// Checks that the safetensors file `path` holds exactly `expected` (`(name, shape)`, what
/// `source` describes, e.g. config.json's model), before anything is allocated.
pub fn check_file_shapes(
    path: &Path,
    expected: &[(String, Vec<usize>)],
    source: &str,
) -> Result<()> {
    let found = file_shapes(path)?;
    for (name, shape) in expected {
        match found.iter().find(|(n, _)| n == name) {
            None => {
                return Err(bad(
                    path,
                    format!("has no {name}, which {source} needs ({shape:?})"),
                ))
            }
            Some((_, s)) if s != shape => {
                return Err(bad(
                    path,
                    format!("{name} is {s:?}, but {source} makes it {shape:?}"),
                ))
            }
            Some(_) => {}
        }
    }
    // an int8 file keeps each matrix's row scales as `name.scale [rows]`
    let is_scale = |n: &str, s: &[usize]| {
        n.strip_suffix(".scale").is_some_and(|base| {
            expected
                .iter()
                .any(|(e, shape)| e == base && shape.len() == 2 && s == [shape[0]])
        })
    };
    if let Some((name, _)) = found
        .iter()
        .find(|(n, s)| !expected.iter().any(|(e, _)| e == n) && !is_scale(n, s))
    {
        return Err(bad(
            path,
            format!("holds {name}, which {source} does not have"),
        ));
    }
    Ok(())
}

/// The bytes of `path`, refused when there are more than `max` (a file that grew past any
/// sane size for its kind, or an endless one, is not read whole).
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TrainError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(bad(
            path,
            format!("is over {} bytes, more than such a file ever holds", max),
        ));
    }
    Ok(bytes)
}
