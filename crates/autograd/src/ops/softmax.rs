//! Row-wise softmax, `torch.softmax(x, dim=-1)` for `x [R, C]` (attention weights).

use recur_tensor::{Backend, Result, Tensor};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `softmax(x)[r, c] = exp(x[r, c] − m_r) / Σ_j exp(x[r, j] − m_r)` with `m_r` the row
    /// maximum, for `x [R, C]` → `[R, C]`. `−∞` entries get weight 0 (masking); a row with
    /// no finite entry is an error (not NaN). Computed in f64 on the host (attention scores
    /// are small). [`Tape::softmax`] takes any axis and a mask.
    pub fn softmax_rows(&self, x: Var) -> Result<Var> {
        let vx = self.value(x)?;
        let shape = vx.shape().to_vec();
        if shape.len() != 2 || shape[1] == 0 {
            return Err(recur_tensor::Error::shape(
                "softmax_rows",
                format!("expected a non-empty [R, C] input, got {shape:?}"),
            ));
        }
        let mut y = vx.to_f64_vec()?;
        for (r, row) in y.chunks_mut(shape[1]).enumerate() {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !m.is_finite() {
                return Err(recur_tensor::Error::shape(
                    "softmax_rows",
                    format!("row {r} has no finite entry to normalise (every one −∞ or NaN)"),
                ));
            }
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = (*v - m).exp();
                sum += *v;
            }
            for v in row.iter_mut() {
                *v /= sum;
            }
        }
        let y = Tensor::from_f64(vx.backend(), &shape, &y, vx.dtype())?;
        let saved = y.clone();
        // dx = y ⊙ (g − Σ_c g·y)   (the Jacobian of softmax applied to g)
        self.record1(y, &[x], move |g| {
            let dot = g.mul(&saved)?.sum_axis(1)?.broadcast_axis(1, shape[1])?;
            Ok(vec![Some(g.sub(&dot)?.mul(&saved)?)])
        })
    }
}
