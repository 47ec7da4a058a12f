//! Gradient clipping by the global norm, as `torch.nn.utils.clip_grad_norm_`.

use recur_autograd::Grads;
use recur_tensor::Backend;

use crate::Result;

/// PyTorch's `clip_grad_norm_(parameters, max_norm)` (L2) over every parameter gradient in
/// `grads`, row-sparse embedding gradients included (their untouched rows are zeros, so
/// they add nothing): `total = ‖(‖g₁‖, …, ‖gₙ‖)‖₂`; when `max_norm / (total + 1e-6) < 1`
/// every gradient is scaled by that factor. Returns `total` (non-finite when a gradient
/// is: the caller decides what to do with it; nothing is scaled then).
pub fn clip_grad_norm<B: Backend>(grads: &mut Grads<B>, max_norm: f64) -> Result<f64> {
    let ids = grads.param_ids();
    let mut norms_sq = 0.0;
    for &id in &ids {
        // a parameter with both a dense and a row-sparse part is one gradient: merge them
        if grads.param(id).is_some() && grads.rows(id).is_some() {
            if let (Some(mut d), Some(r)) = (grads.take_param(id), grads.take_rows(id)) {
                d.add_rows(&r.rows, &r.values)?;
                grads.set_param(id, d);
            }
        }
        let n_sq = match (grads.param(id), grads.rows(id)) {
            (Some(d), _) => d.sum_squares()?,
            (None, Some(r)) => r.values.sum_squares()?,
            (None, None) => 0.0,
        };
        // ‖g‖ per parameter, then the norm of the norms (PyTorch's order)
        let n = n_sq.sqrt();
        norms_sq += n * n;
    }
    let total = norms_sq.sqrt();
    if !total.is_finite() {
        return Ok(total);
    }
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for &id in &ids {
            if let Some(d) = grads.take_param(id) {
                grads.set_param(id, d.scale(coef)?);
            }
            if let Some(mut r) = grads.take_rows(id) {
                r.values = r.values.scale(coef)?;
                grads.set_rows(id, r);
            }
        }
    }
    Ok(total)
}
