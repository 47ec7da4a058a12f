//! `Embedding`: a lookup table of `[num_embeddings, dim]` rows, PyTorch's `nn.Embedding`.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{LayerError, ParamId, ParamStore, Result, Rng};

/// An embedding table; `padding_idx`'s row starts at zero and never gets a gradient.
#[derive(Clone, Debug)]
pub struct Embedding {
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
    /// Registers `{prefix}.weight` drawn from `N(0,1) + shift` (PyTorch: shift 0; the lesson's
    /// LSTM models re-draw it as `randn − 0.5`, shift −0.5). The padding row is zeroed.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        prefix: &str,
        num_embeddings: usize,
        dim: usize,
        padding_idx: Option<usize>,
        shift: f64,
        rng: &mut Rng,
    ) -> Result<Self> {
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
            let mut values = store.get(weight).to_f64_vec()?;
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
                layer: "embedding".into(),
                detail: format!("{} ids for shape {shape:?}", ids.len()),
            });
        }
        let rows = if self.frozen {
            let w = tape.constant(store.get(self.weight).clone());
            tape.gather_rows_skip(w, ids, self.padding_idx)?
        } else {
            let w = store.var(tape, self.weight);
            tape.embedding(w, ids, self.padding_idx)?
        };
        let mut out_shape = shape.to_vec();
        out_shape.push(self.dim);
        Ok(tape.reshape(rows, &out_shape)?)
    }
}
