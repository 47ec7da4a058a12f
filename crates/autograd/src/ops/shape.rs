//! Shape ops: reshape, transpose, narrow/cat, row gather/scatter (embeddings, packing),
//! sums and means along an axis.

use recur_tensor::{Backend, Error, Result, Tensor};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// The same elements with another shape.
    pub fn reshape(&self, a: Var, shape: &[usize]) -> Result<Var> {
        let va = self.value(a)?;
        let old = va.shape().to_vec();
        let out = va.reshape(shape)?;
        // a reshape's gradient is the gradient reshaped back
        self.record1(out, &[a], move |g| Ok(vec![Some(g.reshape(&old)?)]))
    }

    /// Swaps the first two axes (`[B,T,..] ↔ [T,B,..]`).
    pub fn transpose01(&self, a: Var) -> Result<Var> {
        let out = self.value(a)?.transpose01()?;
        // the gradient is transposed back
        self.record1(out, &[a], |g| Ok(vec![Some(g.transpose01()?)]))
    }

    /// Elements `start..start+len` along `axis`.
    pub fn narrow(&self, a: Var, axis: usize, start: usize, len: usize) -> Result<Var> {
        let va = self.value(a)?;
        let dim = va.shape().get(axis).copied().unwrap_or(0);
        let out = va.narrow(axis, start, len)?;
        // the gradient lands in the narrowed range, zeros elsewhere
        self.record1(out, &[a], move |g| {
            Ok(vec![Some(g.unnarrow(axis, start, dim)?)])
        })
    }

    /// Concatenation along `axis`.
    pub fn cat(&self, parts: &[Var], axis: usize) -> Result<Var> {
        let values: Vec<Tensor<B>> = parts
            .iter()
            .map(|&p| self.value(p))
            .collect::<Result<_>>()?;
        let refs: Vec<&Tensor<B>> = values.iter().collect();
        let out = Tensor::cat(&refs, axis)?;
        let sizes: Vec<usize> = values.iter().map(|v| v.shape()[axis]).collect();
        // each part's gradient is its slice of g
        self.record1(out, parts, move |g| {
            let mut start = 0;
            sizes
                .iter()
                .map(|&len| {
                    let part = g.narrow(axis, start, len)?;
                    start += len;
                    Ok(Some(part))
                })
                .collect()
        })
    }

    /// Rows `idx` of `a` (first axis); an embedding lookup when `a` is the table.
    pub fn gather_rows(&self, a: Var, idx: &[usize]) -> Result<Var> {
        let va = self.value(a)?;
        let rows = va.shape().first().copied().unwrap_or(0);
        let out = va.gather_rows(idx)?;
        let idx = idx.to_vec();
        // d table = scatter-add of g into the gathered rows (repeats accumulate)
        self.record1(out, &[a], move |g| {
            Ok(vec![Some(g.scatter_rows(rows, &idx, 0.0, true)?)])
        })
    }

    /// A `[rows, ..]` variable filled with `fill` whose row `idx[i]` is `a[i]` (distinct
    /// indices); pads packed data back into a batch.
    pub fn scatter_rows(&self, a: Var, rows: usize, idx: &[usize], fill: f64) -> Result<Var> {
        let out = self.value(a)?.scatter_rows(rows, idx, fill, false)?;
        let idx = idx.to_vec();
        // only the scattered rows came from a: gather them back from g
        self.record1(out, &[a], move |g| Ok(vec![Some(g.gather_rows(&idx)?)]))
    }

    /// Sum over `axis` (removed).
    pub fn sum_axis(&self, a: Var, axis: usize) -> Result<Var> {
        let va = self.value(a)?;
        let n = va.shape().get(axis).copied().unwrap_or(0);
        let out = va.sum_axis(axis)?;
        // every summed element receives g
        self.record1(out, &[a], move |g| {
            Ok(vec![Some(g.broadcast_axis(axis, n)?)])
        })
    }

    /// Mean over `axis` (removed), e.g. over the time axis of `[B, T, H]`.
    pub fn mean_axis(&self, a: Var, axis: usize) -> Result<Var> {
        let n = self.value(a)?.shape().get(axis).copied().unwrap_or(0);
        if n == 0 {
            return Err(Error::shape("mean_axis", format!("axis {axis} is empty")));
        }
        let s = self.sum_axis(a, axis)?;
        // mean = sum / n
        self.scale(s, 1.0 / n as f64)
    }

    /// Maximum over `axis` (removed), e.g. over the time axis of `[B, T, H]` → `[B, H]`.
    /// The gradient goes to the first maximal element of each slice (as `torch.max(dim)`);
    /// it is a gather of those elements, so it runs on any backend.
    pub fn max_axis(&self, a: Var, axis: usize) -> Result<Var> {
        let shape = self.shape(a)?;
        let n = shape.get(axis).copied().unwrap_or(0);
        if n == 0 {
            return Err(Error::shape(
                "max_axis",
                format!("axis {axis} of shape {shape:?} is missing or empty"),
            ));
        }
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let values = self.value(a)?.to_f64_vec()?;
        let mut idx = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |step: usize| (o * n + step) * inner + i;
                let best = (1..n).fold(0, |best, step| {
                    if values[at(step)] > values[at(best)] {
                        step
                    } else {
                        best
                    }
                });
                idx.push(at(best));
            }
        }
        let flat = self.reshape(a, &[outer * n * inner, 1])?;
        let picked = self.gather_rows(flat, &idx)?;
        let mut out_shape = shape.clone();
        out_shape.remove(axis);
        self.reshape(picked, &out_shape)
    }

    /// Sum of every element → shape `[]`.
    pub fn sum_all(&self, a: Var) -> Result<Var> {
        let n = self.value(a)?.numel();
        let flat = self.reshape(a, &[n])?;
        self.sum_axis(flat, 0)
    }
}

impl<B: Backend> Tape<B> {
    /// Rows `idx` of `a` where rows equal to `skip` get no gradient (an embedding's
    /// `padding_idx`).
    pub fn gather_rows_skip(&self, a: Var, idx: &[usize], skip: Option<usize>) -> Result<Var> {
        let Some(skip) = skip else {
            return self.gather_rows(a, idx);
        };
        let va = self.value(a)?;
        let rows = va.shape().first().copied().unwrap_or(0);
        let out = va.gather_rows(idx)?;
        let (keep_pos, keep_idx): (Vec<usize>, Vec<usize>) = idx
            .iter()
            .enumerate()
            .filter(|&(_, &i)| i != skip)
            .map(|(p, &i)| (p, i))
            .unzip();
        // like gather_rows, with the skipped rows' gradient dropped
        self.record1(out, &[a], move |g| {
            let kept = g.gather_rows(&keep_pos)?;
            if keep_idx.is_empty() {
                let mut shape = g.shape().to_vec();
                shape[0] = rows;
                return Ok(vec![Some(Tensor::zeros(g.backend(), &shape, g.dtype())?)]);
            }
            Ok(vec![Some(kept.scatter_rows(rows, &keep_idx, 0.0, true)?)])
        })
    }
}
