//! `Linear`: `y = x · Wᵀ + b`, PyTorch's `nn.Linear`.

use recur_autograd::{Tape, Var};
use recur_tensor::Backend;

use crate::{ParamId, ParamStore, Result, Rng};

/// A fully connected layer with `weight [out, in]` and optional `bias [out]`.
#[derive(Clone, Debug)]
pub struct Linear {
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
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let weight = store.add_uniform(
            &format!("{prefix}.weight"),
            &[out_features, in_features],
            bound,
            rng,
        )?;
        let bias = if bias {
            Some(store.add_uniform(&format!("{prefix}.bias"), &[out_features], bound, rng)?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// `x [.., in] → [.., out]`.
    pub fn forward<B: Backend>(
        &self,
        tape: &Tape<B>,
        store: &ParamStore<B>,
        x: Var,
    ) -> Result<Var> {
        let w = store.var(tape, self.weight);
        let b = self.bias.map(|b| store.var(tape, b));
        Ok(tape.linear(x, w, b)?)
    }
}
