//! Parameters and optimizer state ↔ safetensors. Parameters are keyed by PyTorch
//! `state_dict` names; writing is here (f32/f64 as stored, or int8 rows), reading, which
//! checks every key, shape and value (NaN and infinity are refused, naming the tensor), is
//! in [`load`].

mod load;

use std::collections::HashMap;
use std::path::Path;

use recur_layers::{Int8Rows, Optimizer, ParamStore, StateValue};
use recur_tensor::{Backend, DType, Tensor};
use safetensors::tensor::{Dtype, TensorView};

use crate::{Result, TrainError};
pub use load::{
    is_int8, load_params, load_params_bytes, load_params_bytes_with, state_from_bytes, LoadReport,
    QUANTIZED,
};

/// Values of one tensor to store, in their own element type.
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U64(Vec<u64>),
    I8(Vec<i8>),
}

impl Values {
    fn dtype(&self) -> Dtype {
        match self {
            Values::F32(_) => Dtype::F32,
            Values::F64(_) => Dtype::F64,
            Values::U64(_) => Dtype::U64,
            Values::I8(_) => Dtype::I8,
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
                Values::I8(v) => (v.as_ptr() as *const u8, v.len()),
            };
            // SAFETY: f32, f64, u64 and i8 have no padding and every byte of them is
            // initialised; the slice borrows `self`, which owns the vector.
            std::borrow::Cow::Borrowed(unsafe { std::slice::from_raw_parts(ptr, len) })
        }
        #[cfg(not(target_endian = "little"))]
        {
            std::borrow::Cow::Owned(match self {
                Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Values::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Values::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Values::I8(v) => v.iter().map(|&x| x as u8).collect(),
            })
        }
    }
}

/// `(name, shape, values)` → a safetensors file image (with `extra` metadata).
fn serialize(
    entries: Vec<(String, Vec<usize>, Values)>,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let bytes: Vec<_> = entries.iter().map(|(_, _, v)| v.le_bytes()).collect();
    let views = entries
        .iter()
        .zip(&bytes)
        .map(|((n, s, v), b)| Ok((n.clone(), TensorView::new(v.dtype(), s.clone(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| TrainError::Invalid(format!("serializing parameters: {e}")))?;
    let mut meta: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    meta.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let meta = Some(meta);
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
    serialize(entries, &[])
}

/// Every parameter of `store` as [`params_to_bytes`] writes them, but each matrix (a 2-D
/// parameter: embeddings, recurrent and linear weights) as int8 rows (`name`, I8) and
/// their scales (`name.scale`, F32 `[rows]`), see [`Int8Rows`]; the file's metadata says
/// so ([`QUANTIZED`]). About a quarter of the f32 size.
pub fn params_to_bytes_int8<B: Backend>(store: &ParamStore<B>) -> Result<Vec<u8>> {
    if !store.behind().is_empty() {
        // refused as params_to_bytes refuses it, naming the rows left behind
        return params_to_bytes(store);
    }
    let mut entries = Vec::with_capacity(store.len() * 2);
    for (_, name, value) in store.iter() {
        let shape = value.shape().to_vec();
        if shape.len() == 2 && shape[1] > 1 {
            let q = Int8Rows::quantize(&value.to_f32_vec()?, shape[1]);
            entries.push((
                format!("{name}.scale"),
                vec![shape[0]],
                Values::F32(q.scale),
            ));
            entries.push((name.to_string(), shape, Values::I8(q.q)));
        } else {
            entries.push((name.to_string(), shape, Values::F32(value.to_f32_vec()?)));
        }
    }
    serialize(entries, &[QUANTIZED])
}

/// Writes every parameter to `path` (not atomically: run folders are committed as a unit
/// by [`crate::RunWriter`]).
pub fn save_params<B: Backend>(store: &ParamStore<B>, path: &Path) -> Result<()> {
    let bytes = params_to_bytes(store)?;
    std::fs::write(path, bytes).map_err(|e| TrainError::io(path, e))
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
    serialize(entries, &[])
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
