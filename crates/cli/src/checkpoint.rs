//! Parameters ↔ `model.safetensors`, keyed by PyTorch `state_dict` names. Loading checks
//! every key and shape against the model and names the offender on any mismatch.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use recur_data::write_atomic;
use recur_layers::ParamStore;
use recur_tensor::{Backend, DType, HostData, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

/// Writes every parameter (f32 little-endian, as `safetensors.torch.save_file` would) to
/// `path`, atomically.
pub fn save_params<B: Backend>(store: &ParamStore<B>, path: &Path) -> Result<()> {
    let mut buffers = Vec::with_capacity(store.len());
    for (_, name, value) in store.iter() {
        let bytes: Vec<u8> = value
            .to_f32_vec()?
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        buffers.push((name.to_string(), value.shape().to_vec(), bytes));
    }
    let views = buffers
        .iter()
        .map(|(n, s, b)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let meta: Option<HashMap<String, String>> =
        Some([("format".to_string(), "pt".to_string())].into());
    let bytes = safetensors::serialize(views, &meta)?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Loads `path` into `store`: every parameter must be present with its exact shape, and no
/// other key may be there. F32 and F64 files are accepted.
pub fn load_params<B: Backend>(store: &mut ParamStore<B>, path: &Path) -> Result<()> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading checkpoint {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        anyhow!(
            "{}: not a readable safetensors file (truncated or corrupt?): {e}",
            path.display()
        )
    })?;
    let mut unknown: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| store.id(n).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        bail!(
            "{}: unknown key(s) {} (the model expects {})",
            path.display(),
            unknown.join(", "),
            store
                .iter()
                .map(|(_, n, _)| n)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let ids: Vec<_> = store
        .iter()
        .map(|(id, name, v)| (id, name.to_string(), v.shape().to_vec()))
        .collect();
    for (id, name, shape) in ids {
        let view = st.tensor(&name).map_err(|_| {
            anyhow!(
                "{}: missing key {name} (expected shape {shape:?})",
                path.display()
            )
        })?;
        if view.shape() != shape.as_slice() {
            bail!(
                "{}: key {name} has shape {:?}, the model expects {shape:?}",
                path.display(),
                view.shape()
            );
        }
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
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            other => bail!(
                "{}: key {name} has dtype {other:?}; only F32 and F64 are supported",
                path.display()
            ),
        };
        let data = match store.dtype() {
            DType::F32 => HostData::F32(data.to_f32()),
            DType::F64 => HostData::F64(data.to_f64()),
        };
        let t = Tensor::from_host(store.backend(), &shape, data)?;
        store.set(id, t)?;
    }
    Ok(())
}
