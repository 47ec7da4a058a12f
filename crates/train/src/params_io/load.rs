//! Reading parameters and optimizer state from safetensors images: every key, shape and
//! value checked (NaN and infinity refused, naming the tensor), int8 matrices dequantized
//! with their row scales, nothing changed in the store until all of it was read.

use std::path::Path;

use recur_layers::{Int8Rows, ParamStore, StateValue};
use recur_tensor::{Backend, DType, HostData, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::run::files::{read_bounded, safetensors_bound};
use crate::{Result, TrainError};

fn bad(path: &Path, detail: impl std::fmt::Display) -> TrainError {
    TrainError::run_folder(path, detail.to_string())
}

/// The metadata key of a safetensors file whose matrices are int8 rows, and its value.
pub const QUANTIZED: (&str, &str) = ("recur.quantized", "int8-per-row");

/// The values of one stored tensor as host data, refusing NaN and infinity.
fn host_data(path: &Path, name: &str, view: &TensorView<'_>) -> Result<HostData> {
    let data = match view.dtype() {
        Dtype::F32 => HostData::F32(
            view.data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Dtype::F64 => HostData::F64(
            view.data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        other => {
            return Err(bad(
                path,
                format!("key {name} has dtype {other:?}; only F32 and F64 are supported"),
            ))
        }
    };
    let finite = match &data {
        HostData::F32(v) => v.iter().position(|x| !x.is_finite()),
        HostData::F64(v) => v.iter().position(|x| !x.is_finite()),
    };
    if let Some(i) = finite {
        return Err(TrainError::NonFinite(format!(
            "{}: key {name} holds a non-finite value (element {i})",
            path.display()
        )));
    }
    Ok(data)
}

/// The values of the int8 matrix `name` (`[rows, cols]`), dequantized with its scales
/// `name.scale` (F32 `[rows]`, finite).
fn int8_data(
    path: &Path,
    name: &str,
    view: &TensorView<'_>,
    st: &SafeTensors<'_>,
) -> Result<HostData> {
    let shape = view.shape();
    if shape.len() != 2 {
        return Err(bad(
            path,
            format!("key {name} is int8 but not a matrix ({shape:?})"),
        ));
    }
    let scale_key = format!("{name}.scale");
    let scale = st.tensor(&scale_key).map_err(|_| {
        bad(
            path,
            format!("key {name} is int8 but {scale_key} (its row scales) is missing"),
        )
    })?;
    if scale.shape() != [shape[0]] || scale.dtype() != Dtype::F32 {
        return Err(bad(
            path,
            format!(
                "{scale_key} must be F32 [{}] (one scale per row of {name}), found {:?} {:?}",
                shape[0],
                scale.dtype(),
                scale.shape()
            ),
        ));
    }
    let HostData::F32(scale) = host_data(path, &scale_key, &scale)? else {
        return Err(bad(path, format!("{scale_key} is not F32")));
    };
    let q = Int8Rows {
        q: view.data().iter().map(|&b| b as i8).collect(),
        scale,
        cols: shape[1],
    };
    Ok(HostData::F32(q.dequantize()))
}

/// Whether the safetensors image `bytes` holds int8 matrices ([`QUANTIZED`]).
pub fn is_int8(bytes: &[u8]) -> bool {
    SafeTensors::read_metadata(bytes).is_ok_and(|(_, m)| {
        m.metadata()
            .as_ref()
            .and_then(|m| m.get(QUANTIZED.0))
            .is_some_and(|v| v == QUANTIZED.1)
    })
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| {
        bad(
            path,
            format!("not a readable safetensors file (truncated or corrupt?): {e}"),
        )
    })
}

/// What a non-strict load left out, as PyTorch's `load_state_dict(strict=False)` reports:
/// parameters the file did not have (they keep their values) and keys of the file the
/// model does not have (ignored). Both are empty after a strict load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Parameters of the store absent from the file, in registration order.
    pub missing: Vec<String>,
    /// Keys of the file that are not parameters of the store, sorted.
    pub unexpected: Vec<String>,
}

impl LoadReport {
    /// True when every parameter was loaded and no key was left over.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "missing keys: [{}], unexpected keys: [{}]",
            self.missing.join(", "),
            self.unexpected.join(", ")
        )
    }
}

/// Loads a safetensors image (read from `path`, named in messages) into `store`: every
/// parameter must be present with its exact shape and finite values, and no other key may
/// be there. F32 and F64 files are accepted and converted to the store's dtype.
pub fn load_params_bytes<B: Backend>(
    store: &mut ParamStore<B>,
    bytes: &[u8],
    path: &Path,
) -> Result<()> {
    load_params_bytes_with(store, bytes, path, true).map(|_| ())
}

/// [`load_params_bytes`], or with `strict = false` only the parameters the file has
/// (shapes and values still checked; nothing is changed on an error), reporting the rest.
pub fn load_params_bytes_with<B: Backend>(
    store: &mut ParamStore<B>,
    bytes: &[u8],
    path: &Path,
    strict: bool,
) -> Result<LoadReport> {
    let st = parse(path, bytes)?;
    // `name.scale` belongs to an int8 parameter `name`
    let is_scale = |n: &str| {
        n.strip_suffix(".scale").is_some_and(|base| {
            store.id(base).is_some() && st.tensor(base).is_ok_and(|t| t.dtype() == Dtype::I8)
        })
    };
    let mut unknown: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| store.id(n).is_none() && !is_scale(n))
        .cloned()
        .collect();
    unknown.sort();
    if strict && !unknown.is_empty() {
        let expected: Vec<&str> = store.iter().map(|(_, n, _)| n).collect();
        return Err(bad(
            path,
            format!(
                "unknown key(s) {} (the model expects {})",
                unknown.join(", "),
                expected.join(", ")
            ),
        ));
    }
    let ids: Vec<_> = store
        .iter()
        .map(|(id, name, v)| (id, name.to_string(), v.shape().to_vec()))
        .collect();
    let mut report = LoadReport {
        missing: Vec::new(),
        unexpected: unknown,
    };
    let mut loaded = Vec::with_capacity(ids.len());
    for (id, name, shape) in ids {
        let Ok(view) = st.tensor(&name) else {
            if strict {
                return Err(bad(
                    path,
                    format!("missing key {name} (expected shape {shape:?})"),
                ));
            }
            report.missing.push(name);
            continue;
        };
        if view.shape() != shape.as_slice() {
            return Err(bad(
                path,
                format!(
                    "key {name} has shape {:?}, the model expects {shape:?}",
                    view.shape()
                ),
            ));
        }
        let data = if view.dtype() == Dtype::I8 {
            int8_data(path, &name, &view, &st)?
        } else {
            host_data(path, &name, &view)?
        };
        let data = match store.dtype() {
            DType::F32 => HostData::F32(data.to_f32()),
            DType::F64 => HostData::F64(data.to_f64()),
        };
        loaded.push((id, Tensor::from_host(store.backend(), &shape, data)?));
    }
    // every tensor was read and checked: only now is the store changed
    for (id, t) in loaded {
        store.set(id, t)?;
    }
    Ok(report)
}

/// [`load_params_bytes`] on the file at `path`.
pub fn load_params<B: Backend>(store: &mut ParamStore<B>, path: &Path) -> Result<()> {
    let elements: usize = store.iter().map(|(_, _, t)| t.numel()).sum();
    let max = safetensors_bound(elements, store.len());
    let bytes = read_bounded(path, max)?;
    load_params_bytes(store, &bytes, path)
}

/// Reads what [`super::state_to_bytes`] wrote, tensors onto `backend`.
pub fn state_from_bytes<B: Backend>(
    backend: &B,
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<(String, StateValue<B>)>> {
    let st = parse(path, bytes)?;
    let mut out = Vec::new();
    let mut names: Vec<&String> = st.names();
    names.sort();
    for name in names {
        let view = st
            .tensor(name)
            .map_err(|e| bad(path, format!("key {name}: {e}")))?;
        let value = if view.dtype() == Dtype::U64 {
            StateValue::Counters(
                view.data()
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            )
        } else {
            let data = host_data(path, name, &view)?;
            StateValue::Tensor(Tensor::from_host(backend, view.shape(), data)?)
        };
        out.push((name.clone(), value));
    }
    Ok(out)
}
