//! `Linear`: `y = x · Wᵀ + b`, PyTorch's `nn.Linear`.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{LayerError, ParamId, ParamStore, Result, Rng};

/// Whether a layer has bias terms (PyTorch's `bias=True` / `bias=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Bias {
    /// With bias terms (PyTorch's default).
    #[default]
    With,
    /// Without.
    Without,
}

impl Bias {
    /// `With` when `bias`, as PyTorch's flag reads.
    pub fn from_flag(bias: bool) -> Bias {
        if bias {
            Bias::With
        } else {
            Bias::Without
        }
    }
}

/// A fully connected layer with `weight [out, in]` and optional `bias [out]`.
#[derive(Clone, Debug)]
pub struct Linear {
    /// The prefix of its parameters (`fc`), naming it in errors.
    pub name: String,
    /// `[out, in]`.
    pub weight: ParamId,
    /// `[out]`.
    pub bias: Option<ParamId>,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
}

impl Linear {
    /// Registers `{prefix}.weight` and `{prefix}.bias`, both `U(-1/√in, 1/√in)` as PyTorch.
    pub fn new<B: Backend>(
        store: &mut ParamStore<B>,
        prefix: &str,
        in_features: usize,
        out_features: usize,
        bias: Bias,
        rng: &mut Rng,
    ) -> Result<Self> {
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let weight = store.add_uniform(
            &format!("{prefix}.weight"),
            &[out_features, in_features],
            bound,
            rng,
        )?;
        let bias = if bias == Bias::With {
            Some(store.add_uniform(&format!("{prefix}.bias"), &[out_features], bound, rng)?)
        } else {
            None
        };
        Ok(Linear {
            name: prefix.to_string(),
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// `x [.., in] → [.., out]`; another last dimension is an error naming the layer.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        x: Var,
    ) -> Result<Var> {
        let shape = tape.shape(x)?;
        if shape.last() != Some(&self.in_features) {
            return Err(LayerError::Shape {
                layer: self.name.clone(),
                detail: format!("expected input [*, {}], got {shape:?}", self.in_features),
            });
        }
        let w = store.var_of(tape, self.weight, &self.name)?;
        let b = self
            .bias
            .map(|b| store.var_of(tape, b, &self.name))
            .transpose()?;
        Ok(tape.linear(x, w, b)?)
    }
}
