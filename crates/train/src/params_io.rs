//! Parameters and optimizer state ↔ safetensors. Parameters are keyed by PyTorch
//! `state_dict` names; loading checks every key, shape and value (NaN and infinity are
//! refused, naming the tensor).

use std::collections::HashMap;
use std::path::Path;

use recur_layers::{Optimizer, ParamStore, StateValue};
use recur_tensor::{Backend, DType, HostData, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::run::files::{read_bounded, safetensors_bound};
use crate::{Result, TrainError};

fn bad(path: &Path, detail: impl std::fmt::Display) -> TrainError {
    TrainError::run_folder(path, detail.to_string())
}

/// Values of one tensor to store, in their own element type.
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U64(Vec<u64>),
}

impl Values {
    fn dtype(&self) -> Dtype {
        match self {
            Values::F32(_) => Dtype::F32,
            Values::F64(_) => Dtype::F64,
            Values::U64(_) => Dtype::U64,
        }
    }

    /// The values as little-endian bytes (borrowed on little-endian machines: no copy).
    fn le_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        #[cfg(target_endian = "little")]
        {
            let (ptr, len) = match self {
                Values::F32(v) => (v.as_ptr() as *const u8, v.len() * 4),
                Values::F64(v) => (v.as_ptr() as *const u8, v.len() * 8),
                Values::U64(v) => (v.as_ptr() as *const u8, v.len() * 8),
            };
            // SAFETY: f32, f64 and u64 have no padding and every byte of them is
            // initialised; the slice borrows `self`, which owns the vector.
            std::borrow::Cow::Borrowed(unsafe { std::slice::from_raw_parts(ptr, len) })
        }
        #[cfg(not(target_endian = "little"))]
        {
            std::borrow::Cow::Owned(match self {
                Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Values::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Values::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            })
        }
    }
}

/// `(name, shape, values)` → a safetensors file image.
fn serialize(entries: Vec<(String, Vec<usize>, Values)>) -> Result<Vec<u8>> {
    let bytes: Vec<_> = entries.iter().map(|(_, _, v)| v.le_bytes()).collect();
    let views = entries
        .iter()
        .zip(&bytes)
        .map(|((n, s, v), b)| Ok((n.clone(), TensorView::new(v.dtype(), s.clone(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| TrainError::Invalid(format!("serializing parameters: {e}")))?;
    let meta: Option<HashMap<String, String>> =
        Some([("format".to_string(), "pt".to_string())].into());
    safetensors::serialize(views, &meta)
        .map_err(|e| TrainError::Invalid(format!("serializing parameters: {e}")))
}

/// A tensor's values in its own dtype (f32 or f64).
fn tensor_values<B: Backend>(t: &Tensor<B>) -> Result<Values> {
    Ok(match t.dtype() {
        DType::F32 => Values::F32(t.to_f32_vec()?),
        DType::F64 => Values::F64(t.to_f64_vec()?),
    })
}

/// Every parameter of `store`, in its own dtype, as a safetensors image (what
/// `safetensors.torch.save_file(model.state_dict())` writes). Refused while an optimizer
/// has left rows behind (they would be saved stale): sync it first.
pub fn params_to_bytes<B: Backend>(store: &ParamStore<B>) -> Result<Vec<u8>> {
    let behind = store.behind();
    if !behind.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{} {} rows the optimizer has not brought up to date (lazy Adam): call \
             opt.sync(&mut store) before saving, or save with save_synced",
            behind.join(", "),
            if behind.len() == 1 { "has" } else { "have" }
        )));
    }
    let mut entries = Vec::with_capacity(store.len());
    for (_, name, value) in store.iter() {
        entries.push((
            name.to_string(),
            value.shape().to_vec(),
            tensor_values(value)?,
        ));
    }
    serialize(entries)
}

/// Writes every parameter to `path` (not atomically: run folders are committed as a unit
/// by [`crate::RunWriter`]).
pub fn save_params<B: Backend>(store: &ParamStore<B>, path: &Path) -> Result<()> {
    let bytes = params_to_bytes(store)?;
    std::fs::write(path, bytes).map_err(|e| TrainError::io(path, e))
}

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
    let mut unknown: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| store.id(n).is_none())
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
        let data = host_data(path, &name, &view)?;
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

/// An optimizer's exported state as a safetensors image: tensors in their dtype, counters
/// as U64.
pub fn state_to_bytes<B: Backend>(state: &[(String, StateValue<B>)]) -> Result<Vec<u8>> {
    let mut entries = Vec::with_capacity(state.len());
    for (name, value) in state {
        match value {
            StateValue::Tensor(t) => {
                entries.push((name.clone(), t.shape().to_vec(), tensor_values(t)?))
            }
            StateValue::Counters(c) => {
                entries.push((name.clone(), vec![c.len()], Values::U64(c.clone())))
            }
        }
    }
    serialize(entries)
}

/// Reads what [`state_to_bytes`] wrote, tensors onto `backend`.
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

/// Saving and loading a [`ParamStore`] as a safetensors file keyed by PyTorch `state_dict`
/// names (`use recur_train::ParamsFile` to call these as methods).
pub trait ParamsFile<B: Backend> {
    /// Writes every parameter to `path` (safetensors; not atomic: run folders are committed
    /// whole by [`crate::RunWriter`]). Refused while an optimizer has left rows behind: see
    /// [`ParamsFile::save_synced`].
    fn save(&self, path: impl AsRef<Path>) -> Result<()>;

    /// Brings every parameter up to date with `opt` ([`Optimizer::sync`]), then saves.
    fn save_synced(&mut self, opt: &mut dyn Optimizer<B>, path: impl AsRef<Path>) -> Result<()>;

    /// Loads `path` strictly: every parameter present with its shape and finite values, no
    /// other key (`load_state_dict(strict=True)`). On an error nothing is changed.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()>;

    /// Loads the parameters `path` has and reports the missing and unexpected keys
    /// (`load_state_dict(strict=False)`); shapes and values are still checked.
    fn load_non_strict(&mut self, path: impl AsRef<Path>) -> Result<LoadReport>;
}

impl<B: Backend> ParamsFile<B> for ParamStore<B> {
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_params(self, path.as_ref())
    }

    fn save_synced(&mut self, opt: &mut dyn Optimizer<B>, path: impl AsRef<Path>) -> Result<()> {
        opt.sync(self)?;
        save_params(self, path.as_ref())
    }

    fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        load_params(self, path.as_ref())
    }

    fn load_non_strict(&mut self, path: impl AsRef<Path>) -> Result<LoadReport> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        load_params_bytes_with(self, &bytes, path, false)
    }
}
