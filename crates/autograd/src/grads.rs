//! Gradients after a backward pass: [`Grads`] (dense per leaf and parameter, row-sparse
//! per embedding table) and the row-sparse [`RowGrad`].

use std::collections::HashMap;

use recur_tensor::{Backend, Result, Tensor};

use crate::var::Var;

/// A row-sparse gradient of a `[R, C]` parameter: `values[i]` is the gradient of row
/// `rows[i]`; rows are distinct and every other row's gradient is exactly zero.
#[derive(Clone, Debug)]
pub struct RowGrad<B: Backend> {
    /// Distinct row indices, in order of first appearance.
    pub rows: Vec<usize>,
    /// `[len(rows), C]`.
    pub values: Tensor<B>,
    /// Rows of the full parameter `R`.
    pub total_rows: usize,
}

impl<B: Backend> RowGrad<B> {
    /// The dense `[R, C]` gradient (zeros outside `rows`).
    pub fn to_dense(&self) -> Result<Tensor<B>> {
        self.values
            .scatter_rows(self.total_rows, &self.rows, 0.0, true)
    }
}

/// Gradients of the leaves after [`Tape::backward`](crate::Tape::backward).
#[derive(Debug)]
pub struct Grads<B: Backend> {
    leaves: HashMap<Var, Tensor<B>>,
    params: HashMap<usize, Tensor<B>>,
    rows: HashMap<usize, RowGrad<B>>,
}

impl<B: Backend> Grads<B> {
    /// No gradients yet (what [`Tape::backward`](crate::Tape::backward) starts from).
    pub(crate) fn empty() -> Self {
        Grads {
            leaves: HashMap::new(),
            params: HashMap::new(),
            rows: HashMap::new(),
        }
    }

    /// Records the gradient of leaf `v` (and of its parameter, when it is one).
    pub(crate) fn set_leaf(&mut self, v: Var, param: Option<usize>, g: Tensor<B>) {
        if let Some(pid) = param {
            self.params.insert(pid, g.clone());
        }
        self.leaves.insert(v, g);
    }

    /// Adds a row-sparse gradient to parameter `id`'s (merging rows both name).
    pub(crate) fn add_rows(&mut self, id: usize, g: RowGrad<B>) -> Result<()> {
        let merged = match self.rows.remove(&id) {
            Some(prev) => merge_rows(prev, g)?,
            None => g,
        };
        self.rows.insert(id, merged);
        Ok(())
    }

    /// Gradient of a leaf made with [`Tape::leaf`](crate::Tape::leaf) or
    /// [`Tape::param`](crate::Tape::param) (`None`: it did not influence the loss).
    pub fn get(&self, v: Var) -> Option<&Tensor<B>> {
        self.leaves.get(&v)
    }

    /// Gradient of parameter `id` (as given to [`Tape::param`](crate::Tape::param)).
    pub fn param(&self, id: usize) -> Option<&Tensor<B>> {
        self.params.get(&id)
    }

    /// Moves out the gradient of parameter `id`.
    pub fn take_param(&mut self, id: usize) -> Option<Tensor<B>> {
        self.params.remove(&id)
    }

    /// The row-sparse gradient of parameter `id` (from
    /// [`Tape::embedding`](crate::Tape::embedding)).
    pub fn rows(&self, id: usize) -> Option<&RowGrad<B>> {
        self.rows.get(&id)
    }

    /// Moves out the row-sparse gradient of parameter `id`.
    pub fn take_rows(&mut self, id: usize) -> Option<RowGrad<B>> {
        self.rows.remove(&id)
    }

    /// Ids of the parameters that have a gradient (dense, row-sparse or both), ascending.
    pub fn param_ids(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .params
            .keys()
            .chain(self.rows.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Adds every parameter gradient of `other` to this one's (dense to dense, row-sparse
    /// rows merged): the gradient of the sum of two losses computed on two tapes.
    pub fn add_grads(&mut self, other: Grads<B>) -> Result<()> {
        let mut dense: Vec<(usize, Tensor<B>)> = other.params.into_iter().collect();
        dense.sort_by_key(|(id, _)| *id);
        for (id, g) in dense {
            match self.params.get_mut(&id) {
                Some(acc) => acc.axpy(1.0, &g)?,
                None => {
                    self.params.insert(id, g);
                }
            }
        }
        let mut rows: Vec<(usize, RowGrad<B>)> = other.rows.into_iter().collect();
        rows.sort_by_key(|(id, _)| *id);
        for (id, g) in rows {
            self.add_rows(id, g)?;
        }
        Ok(())
    }

    /// Sets the dense gradient of parameter `id` (replacing any).
    pub fn set_param(&mut self, id: usize, g: Tensor<B>) {
        self.params.insert(id, g);
    }

    /// Sets the row-sparse gradient of parameter `id` (replacing any).
    pub fn set_rows(&mut self, id: usize, g: RowGrad<B>) {
        self.rows.insert(id, g);
    }

    /// The gradient of parameter `id` as a dense tensor, whichever form it has.
    pub fn dense(&self, id: usize) -> Result<Option<Tensor<B>>> {
        match (self.params.get(&id), self.rows.get(&id)) {
            (Some(d), Some(r)) => {
                let mut d = d.clone();
                d.add_rows(&r.rows, &r.values)?;
                Ok(Some(d))
            }
            (Some(d), None) => Ok(Some(d.clone())),
            (None, Some(r)) => Ok(Some(r.to_dense()?)),
            (None, None) => Ok(None),
        }
    }
}

/// Adds two row-sparse gradients of one parameter.
fn merge_rows<B: Backend>(a: RowGrad<B>, b: RowGrad<B>) -> Result<RowGrad<B>> {
    let mut rows = a.rows.clone();
    let mut slot_of: HashMap<usize, usize> =
        rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    let slots: Vec<usize> = b
        .rows
        .iter()
        .map(|&r| {
            *slot_of.entry(r).or_insert_with(|| {
                rows.push(r);
                rows.len() - 1
            })
        })
        .collect();
    let n = rows.len();
    let mut values = a
        .values
        .scatter_rows(n, &(0..a.rows.len()).collect::<Vec<_>>(), 0.0, true)?;
    values.axpy(1.0, &b.values.scatter_rows(n, &slots, 0.0, true)?)?;
    Ok(RowGrad {
        rows,
        values,
        total_rows: a.total_rows,
    })
}
