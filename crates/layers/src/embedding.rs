//! `Embedding`: a lookup table of `[num_embeddings, dim]` rows, PyTorch's `nn.Embedding`.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{LayerError, ParamId, ParamStore, Result, Rng};

/// The shape and initialisation of an [`Embedding`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmbeddingConfig {
    /// Number of rows `V`.
    pub num_embeddings: usize,
    /// Row width `E`.
    pub dim: usize,
    /// A row that starts at zero and never gets a gradient (`nn.Embedding`'s `padding_idx`).
    pub padding_idx: Option<usize>,
    /// Rows are drawn from `N(0, 1) + init_shift` (PyTorch: 0; the lesson's LSTM models
    /// re-draw the table as `randn − 0.5`, shift −0.5).
    pub init_shift: f64,
}

impl EmbeddingConfig {
    /// `V` rows of width `E`, PyTorch's initialisation, no padding row.
    pub fn new(num_embeddings: usize, dim: usize) -> Self {
        EmbeddingConfig {
            num_embeddings,
            dim,
            padding_idx: None,
            init_shift: 0.0,
        }
    }

    /// The same with padding row `padding_idx`.
    pub fn with_padding_idx(self, padding_idx: usize) -> Self {
        EmbeddingConfig {
            padding_idx: Some(padding_idx),
            ..self
        }
    }
}

/// An embedding table; `padding_idx`'s row starts at zero and never gets a gradient.
#[derive(Clone, Debug)]
pub struct Embedding {
    /// The prefix of its parameter (`embedding`), naming it in errors.
    pub name: String,
    /// `[num_embeddings, dim]`.
    pub weight: ParamId,
    /// Number of rows `V`.
    pub num_embeddings: usize,
    /// Row width `E`.
    pub dim: usize,
    /// Row excluded from gradients.
    pub padding_idx: Option<usize>,
    /// Frozen: the table is looked up as a constant, so it gets no gradient (and an
    /// optimizer keeps no state for it).
    pub frozen: bool,
}

impl Embedding {
    /// Registers `{prefix}.weight` `[V, E]` drawn as `config` says; the padding row is zeroed.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        prefix: &str,
        config: EmbeddingConfig,
        rng: &mut Rng,
    ) -> Result<Self> {
        let EmbeddingConfig {
            num_embeddings,
            dim,
            padding_idx,
            init_shift: shift,
        } = config;
        if let Some(p) = padding_idx {
            if p >= num_embeddings {
                return Err(LayerError::Config(format!(
                    "padding_idx {p} must be within num_embeddings {num_embeddings}"
                )));
            }
        }
        let name = format!("{prefix}.weight");
        let weight = store.add_normal(&name, &[num_embeddings, dim], shift, rng)?;
        if let Some(p) = padding_idx {
            let mut values = store.get(weight)?.to_f64_vec()?;
            values[p * dim..(p + 1) * dim].fill(0.0);
            let t = recur_tensor::Tensor::from_f64(
                store.backend(),
                &[num_embeddings, dim],
                &values,
                store.dtype(),
            )?;
            store.set(weight, t)?;
        }
        Ok(Embedding {
            name: prefix.to_string(),
            weight,
            num_embeddings,
            dim,
            padding_idx,
            frozen: false,
        })
    }

    /// Looks up `ids` (any id ≥ `num_embeddings` is an error naming it) and returns
    /// `[shape.., E]`, e.g. `shape = [B, T]` gives `[B, T, E]`. The table's gradient comes
    /// back row-sparse (`Grads::rows`): only the looked-up rows.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        ids: &[usize],
        shape: &[usize],
    ) -> Result<Var> {
        let n: usize = shape.iter().product();
        if n != ids.len() {
            return Err(LayerError::Shape {
                layer: self.name.clone(),
                detail: format!("{} ids for shape {shape:?}", ids.len()),
            });
        }
        if let Some(&bad) = ids.iter().find(|&&i| i >= self.num_embeddings) {
            return Err(LayerError::Shape {
                layer: self.name.clone(),
                detail: format!(
                    "id {bad} is out of range for a table of {} rows",
                    self.num_embeddings
                ),
            });
        }
        if let Some(clock) = store.clock(self.weight).map_err(|e| LayerError::Store {
            layer: self.name.clone(),
            detail: e.to_string(),
        })? {
            let behind = clock.behind(ids);
            if !behind.is_empty() {
                return Err(LayerError::Store {
                    layer: self.name.clone(),
                    detail: format!(
                        "{} looked-up rows (first: {:?}) are behind the optimizer's lazy \
                         update; call opt.prepare_rows(&mut store, &ids) before the forward \
                         pass, or opt.sync(&mut store)",
                        behind.len(),
                        &behind[..behind.len().min(5)]
                    ),
                });
            }
        }
        let rows = if self.frozen {
            let w = tape.constant(store.get_of(self.weight, &self.name)?.clone());
            tape.gather_rows_skip(w, ids, self.padding_idx)?
        } else {
            let w = store.var_of(tape, self.weight, &self.name)?;
            tape.embedding(w, ids, self.padding_idx)?
        };
        let mut out_shape = shape.to_vec();
        out_shape.push(self.dim);
        Ok(tape.reshape(rows, &out_shape)?)
    }
}
