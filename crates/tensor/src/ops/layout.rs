//! Validated copies that move elements: slices along an axis and their inverse,
//! concatenation, the first-two-axes transpose, row gathers and scatters.

use super::{check_axis, check_rows, distinct, rows_cols, same_dtype, split_at_axis};
use crate::{Backend, Error, Result, Tensor};

impl<B: Backend> Tensor<B> {
    /// Elements `start..start+len` along `axis` (a copy).
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Self> {
        check_axis("narrow", self.shape(), axis)?;
        let (outer, dim, inner) = split_at_axis(self.shape(), axis);
        if start + len > dim {
            return Err(Error::shape(
                "narrow",
                format!(
                    "range {start}..{} out of axis {axis} of {:?}",
                    start + len,
                    self.shape()
                ),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = len;
        let mut out = Tensor::zeros(self.backend(), &shape, self.dtype())?;
        self.backend().copy_block(
            self.storage(),
            outer,
            inner,
            dim,
            start,
            out.storage_mut(),
            len,
            0,
            len,
        )?;
        Ok(out)
    }

    /// Places `self` at `start` along `axis` in a zero tensor whose axis has size `dim`
    /// (the backward of [`Tensor::narrow`]).
    pub fn unnarrow(&self, axis: usize, start: usize, dim: usize) -> Result<Self> {
        check_axis("unnarrow", self.shape(), axis)?;
        let (outer, len, inner) = split_at_axis(self.shape(), axis);
        if start + len > dim {
            return Err(Error::shape(
                "unnarrow",
                format!(
                    "{:?} at {start} does not fit in size {dim} on axis {axis}",
                    self.shape()
                ),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = dim;
        let mut out = Tensor::zeros(self.backend(), &shape, self.dtype())?;
        self.backend().copy_block(
            self.storage(),
            outer,
            inner,
            len,
            0,
            out.storage_mut(),
            dim,
            start,
            len,
        )?;
        Ok(out)
    }

    /// Concatenation along `axis`; all other dims must agree.
    pub fn cat(parts: &[&Tensor<B>], axis: usize) -> Result<Self> {
        let first = parts
            .first()
            .ok_or_else(|| Error::shape("cat", "no tensor to concatenate"))?;
        check_axis("cat", first.shape(), axis)?;
        let mut total = 0;
        for p in parts {
            same_dtype("cat", first, p)?;
            let ok = p.rank() == first.rank()
                && p.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(d, (a, b))| d == axis || a == b);
            if !ok {
                return Err(Error::shape(
                    "cat",
                    format!("{:?} vs {:?} on axis {axis}", first.shape(), p.shape()),
                ));
            }
            total += p.shape()[axis];
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = total;
        let (outer, _, inner) = split_at_axis(&shape, axis);
        let mut out = Tensor::zeros(first.backend(), &shape, first.dtype())?;
        let backend = first.backend().clone();
        let mut at = 0;
        for p in parts {
            let len = p.shape()[axis];
            backend.copy_block(
                p.storage(),
                outer,
                inner,
                len,
                0,
                out.storage_mut(),
                total,
                at,
                len,
            )?;
            at += len;
        }
        Ok(out)
    }

    /// Swaps the first two axes: `[d0, d1, ...] → [d1, d0, ...]`.
    pub fn transpose01(&self) -> Result<Self> {
        if self.rank() < 2 {
            return Err(Error::shape(
                "transpose01",
                format!("rank < 2: {:?}", self.shape()),
            ));
        }
        let (d0, d1) = (self.shape()[0], self.shape()[1]);
        let inner = self.shape()[2..].iter().product();
        let s = self.backend().transpose01(self.storage(), d0, d1, inner)?;
        let mut shape = self.shape().to_vec();
        shape.swap(0, 1);
        Ok(self.with_storage(shape, s))
    }

    /// Rows `idx` of `self` seen as `[R, rest...]` → `[len(idx), rest...]`.
    pub fn gather_rows(&self, idx: &[usize]) -> Result<Self> {
        if self.rank() == 0 {
            return Err(Error::shape("gather_rows", "scalar input"));
        }
        let (rows, cols) = rows_cols(self.shape());
        check_rows("gather_rows", idx, rows)?;
        let s = self.backend().gather_rows(self.storage(), cols, idx)?;
        let mut shape = self.shape().to_vec();
        shape[0] = idx.len();
        Ok(self.with_storage(shape, s))
    }

    /// A `[rows, rest...]` tensor filled with `fill` whose row `idx[i]` is `self[i]`
    /// (`accumulate`: repeated indices add, over a zero fill).
    pub fn scatter_rows(
        &self,
        rows: usize,
        idx: &[usize],
        fill: f64,
        accumulate: bool,
    ) -> Result<Self> {
        let op = "scatter_rows";
        if self.rank() == 0 || self.shape()[0] != idx.len() {
            return Err(Error::shape(
                op,
                format!("{} indices for source {:?}", idx.len(), self.shape()),
            ));
        }
        check_rows(op, idx, rows)?;
        let (_, cols) = rows_cols(self.shape());
        let mut shape = self.shape().to_vec();
        shape[0] = rows;
        let mut out = Tensor::full(self.backend(), &shape, self.dtype(), fill)?;
        let backend = self.backend().clone();
        if accumulate {
            backend.scatter_add_rows(out.storage_mut(), cols, idx, self.storage())?;
        } else {
            if !distinct(idx, rows) {
                return Err(Error::invalid(
                    op,
                    "indices must be distinct without accumulate",
                ));
            }
            backend.scatter_rows(out.storage_mut(), cols, idx, self.storage())?;
        }
        Ok(out)
    }

    /// `self[idx[i], ...] += src[i, ...]` in place (repeated indices accumulate): a
    /// row-sparse update added to a dense tensor.
    pub fn add_rows(&mut self, idx: &[usize], src: &Tensor<B>) -> Result<()> {
        let op = "add_rows";
        same_dtype(op, self, src)?;
        if self.rank() == 0
            || src.rank() != self.rank()
            || src.shape()[0] != idx.len()
            || src.shape()[1..] != self.shape()[1..]
        {
            return Err(Error::shape(
                op,
                format!(
                    "{} indices into {:?} need rows of shape [{}, ...{:?}], got {:?}",
                    idx.len(),
                    self.shape(),
                    idx.len(),
                    &self.shape()[1.min(self.rank())..],
                    src.shape()
                ),
            ));
        }
        check_rows(op, idx, self.shape()[0])?;
        let (_, cols) = rows_cols(self.shape());
        let backend = self.backend().clone();
        backend.scatter_add_rows(self.storage_mut(), cols, idx, src.storage())
    }
}
