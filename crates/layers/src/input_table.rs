//! A classifier's inference table ([`InputTable`]): the first recurrent layer's input
//! projection of every vocabulary row, gathered by token id instead of embedding the
//! tokens and multiplying them, exact or quantized to int8 rows.

use recur_tensor::{Backend, DType, HostData, Tensor};

use crate::{Int8Rows, Result};

/// The first layer's input projection of every vocabulary row, one `[V, G·H]` table per
/// direction of each recurrent member
/// ([`Classifier::input_table`](crate::Classifier::input_table)), exact or as int8 rows
/// ([`InputTable::into_int8`]).
#[derive(Clone, Debug)]
pub struct InputTable<B: Backend> {
    /// `members[m][d]`: member `m`'s direction `d`.
    pub(crate) members: Vec<Vec<TableRows<B>>>,
}

/// One direction's table.
#[derive(Clone, Debug)]
pub(crate) enum TableRows<B: Backend> {
    /// As computed.
    Exact(Tensor<B>),
    /// Quantized per row.
    Int8(Int8Rows),
}

impl<B: Backend> InputTable<B> {
    /// The table with each row quantized to int8 (a quarter of the memory, and of the
    /// bytes each lookup moves); lookups give `q · scale`.
    pub fn into_int8(self) -> Result<InputTable<B>> {
        let quantize = |d: TableRows<B>| match d {
            TableRows::Exact(t) => {
                let cols = t.shape().get(1).copied().unwrap_or(1);
                Ok(TableRows::Int8(Int8Rows::quantize(&t.to_f32_vec()?, cols)))
            }
            q => Ok(q),
        };
        let members = self
            .members
            .into_iter()
            .map(|dirs| dirs.into_iter().map(quantize).collect::<Result<_>>())
            .collect::<Result<_>>()?;
        Ok(InputTable { members })
    }

    /// The rows `ids` of member `m`'s direction `d` table, `[ids.len(), G·H]`.
    pub(crate) fn gather(
        &self,
        (m, d): (usize, usize),
        ids: &[usize],
        like: &Tensor<B>,
    ) -> Result<Tensor<B>> {
        match &self.members[m][d] {
            TableRows::Exact(t) => Ok(t.gather_rows(ids)?),
            TableRows::Int8(q) => {
                let mut out = Vec::with_capacity(ids.len() * q.cols);
                q.gather_into(ids, &mut out);
                let data = match like.dtype() {
                    DType::F32 => HostData::F32(out),
                    DType::F64 => HostData::F64(out.into_iter().map(f64::from).collect()),
                };
                Ok(Tensor::from_host(
                    like.backend(),
                    &[ids.len(), q.cols],
                    data,
                )?)
            }
        }
    }
}
