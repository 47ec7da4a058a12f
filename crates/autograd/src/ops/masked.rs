//! Masks and what uses them: [`Mask`] (which elements count, broadcast like an operand;
//! [`Mask::lengths`] for each row's first steps), `masked_fill`, softmax and log-softmax
//! along any axis with an optional mask, and sums, means and maxima over each row's own
//! length. A slice with nothing left to normalise or reduce is an error, never NaN.
//! Softmaxes run in f64 on the host (they act on scores, which are small).

use recur_tensor::{Backend, Error, Result, Tensor};

use crate::ops::broadcast::check_broadcasts_to;
use crate::{Tape, Var};

/// Which elements count (`true`) and which are masked (`false`), in a shape that broadcasts
/// to the shape of what it masks (NumPy rules; [`Mask::unsqueeze`] adds an axis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    shape: Vec<usize>,
    keep: Vec<bool>,
}

impl Mask {
    /// A mask of `shape` (`keep` row-major, one per element).
    pub fn new(shape: &[usize], keep: Vec<bool>) -> Result<Mask> {
        let n: usize = shape.iter().product();
        if n != keep.len() {
            return Err(Error::shape(
                "mask",
                format!(
                    "{} values for a mask of shape {shape:?} ({n} elements)",
                    keep.len()
                ),
            ));
        }
        Ok(Mask {
            shape: shape.to_vec(),
            keep,
        })
    }

    /// `[B, T]`: row `b` keeps its first `lengths[b]` steps (each length in `1..=t`).
    pub fn lengths(lengths: &[usize], t: usize) -> Result<Mask> {
        if let Some((b, &l)) = lengths.iter().enumerate().find(|(_, &l)| l == 0 || l > t) {
            return Err(Error::shape(
                "mask",
                format!("row {b} has length {l}, outside 1..={t} (the time axis)"),
            ));
        }
        let keep = lengths
            .iter()
            .flat_map(|&l| (0..t).map(move |s| s < l))
            .collect();
        Mask::new(&[lengths.len(), t], keep)
    }

    /// Its shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Its values, row-major.
    pub fn keep(&self) -> &[bool] {
        &self.keep
    }

    /// The mask with a new axis of size 1 at `axis` (PyTorch's `unsqueeze`), e.g. `[B, T]`
    /// → `[B, T, 1]` to mask `[B, T, H]`.
    pub fn unsqueeze(mut self, axis: usize) -> Mask {
        let axis = axis.min(self.shape.len());
        self.shape.insert(axis, 1);
        self
    }

    /// Its values repeated to `shape` (which it must broadcast to).
    fn expanded(&self, op: &'static str, shape: &[usize]) -> Result<Vec<bool>> {
        if self.shape == shape {
            return Ok(self.keep.clone());
        }
        check_broadcasts_to(op, &self.shape, shape)?;
        // index into the mask for each output element: strides 0 on broadcast axes
        let rank = shape.len();
        let mut dims = vec![1; rank - self.shape.len()];
        dims.extend_from_slice(&self.shape);
        let mut strides = vec![0; rank];
        let mut s = 1;
        for i in (0..rank).rev() {
            strides[i] = if dims[i] == 1 { 0 } else { s };
            s *= dims[i];
        }
        let n: usize = shape.iter().product();
        let mut out = Vec::with_capacity(n);
        let mut idx = vec![0usize; rank];
        for _ in 0..n {
            let at: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
            out.push(self.keep[at]);
            for i in (0..rank).rev() {
                idx[i] += 1;
                if idx[i] < shape[i] {
                    break;
                }
                idx[i] = 0;
            }
        }
        Ok(out)
    }
}

/// `(outer, n, inner)` of `shape` around `axis`.
fn around(op: &'static str, shape: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    if axis >= shape.len() || shape[axis] == 0 {
        return Err(Error::shape(
            op,
            format!("axis {axis} is not a non-empty axis of {shape:?}"),
        ));
    }
    Ok((
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    ))
}

/// Softmax (or its log) of `x` along the middle axis of `(outer, n, inner)`, entries with
/// `keep == false` excluded (probability 0, log-probability −∞). A slice with no finite
/// kept entry is an error naming it.
fn softmax_host(
    op: &'static str,
    x: &[f64],
    (outer, n, inner): (usize, usize, usize),
    keep: Option<&[bool]>,
    log: bool,
) -> Result<Vec<f64>> {
    let mut y = vec![0.0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * n * inner + k * inner + i;
            let kept = |k: usize| keep.is_none_or(|m| m[at(k)]);
            let m = (0..n)
                .filter(|&k| kept(k))
                .map(|k| x[at(k)])
                .fold(f64::NEG_INFINITY, f64::max);
            if !m.is_finite() {
                return Err(Error::shape(
                    op,
                    format!(
                        "slice {} (outer {o}, inner {i}) has no finite entry left to normalise \
                         (every one masked or −∞)",
                        o * inner + i
                    ),
                ));
            }
            let sum: f64 = (0..n)
                .filter(|&k| kept(k))
                .map(|k| (x[at(k)] - m).exp())
                .sum();
            for k in 0..n {
                y[at(k)] = match (kept(k), log) {
                    (false, false) => 0.0,
                    (false, true) => f64::NEG_INFINITY,
                    (true, false) => (x[at(k)] - m).exp() / sum,
                    (true, true) => x[at(k)] - m - sum.ln(),
                };
            }
        }
    }
    Ok(y)
}

impl<B: Backend> Tape<B> {
    /// `a` with the elements `mask` leaves out set to `value` (PyTorch's
    /// `masked_fill(~mask, value)`; the mask broadcasts to `a`'s shape). Their gradient is 0.
    /// Runs on the device as `a · keep + fill` (keep 1 or 0, fill `value` where left out),
    /// the two made at the mask's own shape and broadcast, so the elements left out must be
    /// finite.
    pub fn masked_fill(&self, a: Var, mask: &Mask, value: f64) -> Result<Var> {
        let va = self.value(a)?;
        check_broadcasts_to("masked_fill", mask.shape(), va.shape())?;
        let (b, dtype) = (va.backend(), va.dtype());
        let ones: Vec<f64> = mask
            .keep()
            .iter()
            .map(|&k| f64::from(u8::from(k)))
            .collect();
        let kept = Tensor::from_f64(b, mask.shape(), &ones, dtype)?;
        let kept = self.mul(a, self.constant(kept))?;
        if value == 0.0 {
            return Ok(kept);
        }
        let fill: Vec<f64> = mask
            .keep()
            .iter()
            .map(|&k| if k { 0.0 } else { value })
            .collect();
        let fill = Tensor::from_f64(b, mask.shape(), &fill, dtype)?;
        self.add(kept, self.constant(fill))
    }

    /// `softmax(a, dim=axis)`, the elements `mask` leaves out (if given) excluded: weight 0.
    /// A slice with no kept finite entry is an error, not NaN.
    pub fn softmax(&self, a: Var, axis: usize, mask: Option<&Mask>) -> Result<Var> {
        self.softmax_impl("softmax", a, axis, mask, false)
    }

    /// `log_softmax(a, dim=axis)`, the elements `mask` leaves out (if given) at −∞ with no
    /// gradient. A slice with no kept finite entry is an error, not NaN.
    pub fn log_softmax(&self, a: Var, axis: usize, mask: Option<&Mask>) -> Result<Var> {
        self.softmax_impl("log_softmax", a, axis, mask, true)
    }

    fn softmax_impl(
        &self,
        op: &'static str,
        a: Var,
        axis: usize,
        mask: Option<&Mask>,
        log: bool,
    ) -> Result<Var> {
        let va = self.value(a)?;
        let shape = va.shape().to_vec();
        let dims = around(op, &shape, axis)?;
        let keep = mask.map(|m| m.expanded(op, &shape)).transpose()?;
        let y = softmax_host(op, &va.to_f64_vec()?, dims, keep.as_deref(), log)?;
        let out = Tensor::from_f64(va.backend(), &shape, &y, va.dtype())?;
        let (outer, n, inner) = dims;
        // softmax: dx = y ⊙ (g − Σ_k g·y); log_softmax: dx = g − softmax ⊙ Σ_k g (kept k)
        self.record1(out, &[a], move |g| {
            let g = g.to_f64_vec()?;
            let mut dx = vec![0.0; y.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| o * n * inner + k * inner + i;
                    let kept = |k: usize| keep.as_ref().is_none_or(|m| m[at(k)]);
                    if log {
                        let gs: f64 = (0..n).filter(|&k| kept(k)).map(|k| g[at(k)]).sum();
                        for k in (0..n).filter(|&k| kept(k)) {
                            dx[at(k)] = g[at(k)] - y[at(k)].exp() * gs;
                        }
                    } else {
                        let dot: f64 = (0..n).map(|k| g[at(k)] * y[at(k)]).sum();
                        for k in 0..n {
                            dx[at(k)] = y[at(k)] * (g[at(k)] - dot);
                        }
                    }
                }
            }
            let t = Tensor::from_f64(va.backend(), &shape, &dx, va.dtype())?;
            Ok(vec![Some(t)])
        })
    }

    /// Sum of `a [B, T, …]` over each row's first `lengths[b]` steps → `[B, …]` (the steps
    /// past a row's length, padding, left out).
    pub fn sum_lengths(&self, a: Var, lengths: &[usize]) -> Result<Var> {
        let kept = self.keep_lengths(a, lengths, 0.0)?;
        self.sum_axis(kept, 1)
    }

    /// Mean of `a [B, T, …]` over each row's first `lengths[b]` steps → `[B, …]`.
    pub fn mean_lengths(&self, a: Var, lengths: &[usize]) -> Result<Var> {
        let sum = self.sum_lengths(a, lengths)?;
        self.div_lengths(sum, lengths)
    }

    /// `a [B, …]` with row `b` divided by `lengths[b]` (a sum over each row's steps made a
    /// mean) → `[B, …]`.
    pub fn div_lengths(&self, a: Var, lengths: &[usize]) -> Result<Var> {
        let v = self.value(a)?;
        let shape = v.shape();
        if shape.first() != Some(&lengths.len()) || lengths.contains(&0) {
            return Err(Error::shape(
                "div_lengths",
                format!(
                    "expected [B={}, …] and lengths of at least 1, got {shape:?}",
                    lengths.len()
                ),
            ));
        }
        let mut per_row = vec![1; shape.len()];
        per_row[0] = lengths.len();
        let inv: Vec<f64> = lengths.iter().map(|&l| 1.0 / l as f64).collect();
        let inv = Tensor::from_f64(v.backend(), &per_row, &inv, v.dtype())?;
        self.mul(a, self.constant(inv))
    }

    /// Maximum of `a [B, T, …]` over each row's first `lengths[b]` steps → `[B, …]` (the
    /// gradient goes to the first maximal kept element).
    pub fn max_lengths(&self, a: Var, lengths: &[usize]) -> Result<Var> {
        let kept = self.keep_lengths(a, lengths, f64::NEG_INFINITY)?;
        self.max_axis(kept, 1)
    }

    /// `a [B, T, …]` with the steps past each row's length set to `fill`.
    fn keep_lengths(&self, a: Var, lengths: &[usize], fill: f64) -> Result<Var> {
        let shape = self.shape(a)?;
        if shape.len() < 2 || shape[0] != lengths.len() {
            return Err(Error::shape(
                "lengths",
                format!(
                    "expected [B={}, T, …] for {} lengths, got {shape:?}",
                    lengths.len(),
                    lengths.len()
                ),
            ));
        }
        let mut mask = Mask::lengths(lengths, shape[1])?;
        for _ in 2..shape.len() {
            let r = mask.shape().len();
            mask = mask.unsqueeze(r);
        }
        self.masked_fill(a, &mask, fill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_broadcast_over_new_axes() {
        let m = Mask::lengths(&[2, 1], 3).unwrap().unsqueeze(2);
        let e = m.expanded("t", &[2, 3, 2]).unwrap();
        assert_eq!(
            e,
            [true, true, true, true, false, false, true, true, false, false, false, false]
        );
        assert!(Mask::lengths(&[0], 3).is_err());
        assert!(m.expanded("t", &[2, 4, 2]).is_err());
    }

    #[test]
    fn a_slice_with_nothing_kept_is_an_error() {
        let keep = [false, false];
        let e = softmax_host("softmax", &[1.0, 2.0], (1, 2, 1), Some(&keep), false);
        assert!(e.unwrap_err().to_string().contains("no finite entry"));
        let e = softmax_host("softmax", &[f64::NEG_INFINITY; 2], (1, 2, 1), None, false);
        assert!(e.is_err());
    }
}
