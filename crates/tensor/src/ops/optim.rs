//! Validated fused optimizer steps (Adam dense, lazy and sparse rows; SGD) on a parameter
//! tensor and its state tensors.

use super::{check_rows, same_dtype, same_shape};
use crate::{AdamHyper, Backend, Error, Result, SgdHyper, Tensor};

impl<B: Backend> Tensor<B> {
    /// One fused Adam step on `self` (a parameter) with moments `m`, `v`.
    pub fn adam_step(
        &mut self,
        g: &Tensor<B>,
        m: &mut Tensor<B>,
        v: &mut Tensor<B>,
        hyper: &AdamHyper,
    ) -> Result<()> {
        same_shape("adam_step", self, g)?;
        same_shape("adam_step", self, m)?;
        same_shape("adam_step", self, v)?;
        let backend = self.backend().clone();
        backend.adam_step(
            self.storage_mut(),
            g.storage(),
            m.storage_mut(),
            v.storage_mut(),
            hyper,
        )
    }

    /// Catch-up Adam on rows `rows` of a `[R, C]` table (see [`Backend::adam_rows_catch_up`]);
    /// `g` is `[len(rows), C]`, `last` has one entry per table row.
    #[allow(clippy::too_many_arguments)]
    pub fn adam_rows_catch_up(
        &mut self,
        g: &Tensor<B>,
        m: &mut Tensor<B>,
        v: &mut Tensor<B>,
        rows: &[usize],
        last: &mut [u64],
        hyper: &AdamHyper,
    ) -> Result<()> {
        let op = "adam_rows_catch_up";
        self.require_rank(op, 2)?;
        same_shape(op, self, m)?;
        same_shape(op, self, v)?;
        same_dtype(op, self, g)?;
        let (r, c) = (self.shape()[0], self.shape()[1]);
        if g.shape() != [rows.len(), c] || last.len() != r {
            return Err(Error::shape(
                op,
                format!(
                    "table {:?}, grad {:?}, {} rows, {} step marks",
                    self.shape(),
                    g.shape(),
                    rows.len(),
                    last.len()
                ),
            ));
        }
        check_rows(op, rows, r)?;
        let mut sorted = rows.to_vec();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::invalid(op, "rows must be distinct"));
        }
        if let Some(&bad) = rows.iter().find(|&&row| last[row] >= hyper.step) {
            return Err(Error::invalid(
                op,
                format!(
                    "row {bad} was already updated at step {} >= {}",
                    last[bad], hyper.step
                ),
            ));
        }
        let backend = self.backend().clone();
        backend.adam_rows_catch_up(
            self.storage_mut(),
            g.storage(),
            m.storage_mut(),
            v.storage_mut(),
            c,
            rows,
            last,
            hyper,
        )
    }

    /// PyTorch `SparseAdam` on rows `rows` of a `[R, C]` table (see
    /// [`Backend::sparse_adam_rows`]); `g` is `[len(rows), C]`, rows distinct.
    pub fn sparse_adam_rows(
        &mut self,
        g: &Tensor<B>,
        m: &mut Tensor<B>,
        v: &mut Tensor<B>,
        rows: &[usize],
        hyper: &AdamHyper,
    ) -> Result<()> {
        let op = "sparse_adam_rows";
        self.require_rank(op, 2)?;
        same_shape(op, self, m)?;
        same_shape(op, self, v)?;
        same_dtype(op, self, g)?;
        let (r, c) = (self.shape()[0], self.shape()[1]);
        if g.shape() != [rows.len(), c] {
            return Err(Error::shape(
                op,
                format!(
                    "table {:?}, grad {:?}, {} rows",
                    self.shape(),
                    g.shape(),
                    rows.len()
                ),
            ));
        }
        check_rows(op, rows, r)?;
        let backend = self.backend().clone();
        backend.sparse_adam_rows(
            self.storage_mut(),
            g.storage(),
            m.storage_mut(),
            v.storage_mut(),
            c,
            rows,
            hyper,
        )
    }

    /// One SGD step on `self`; `buf` is the momentum buffer when momentum ≠ 0.
    pub fn sgd_step(
        &mut self,
        g: &Tensor<B>,
        buf: Option<&mut Tensor<B>>,
        hyper: &SgdHyper,
    ) -> Result<()> {
        same_shape("sgd_step", self, g)?;
        if let Some(b) = &buf {
            same_shape("sgd_step", self, b)?;
        }
        let backend = self.backend().clone();
        backend.sgd_step(
            self.storage_mut(),
            g.storage(),
            buf.map(|b| b.storage_mut()),
            hyper,
        )
    }
}
