//! Validated tensor operations: each checks shapes, dtypes and indices, then calls the
//! backend kernel. Errors name the op and the shapes involved. This file: products,
//! elementwise ops, reductions and losses; `layout.rs`: copies that move elements;
//! `optim.rs`: the fused optimizer steps.

mod layout;
mod optim;

use crate::{Backend, BinaryOp, Error, GemmSpec, MatLayout, Result, Tensor, UnaryOp};

fn same_dtype<B: Backend>(op: &'static str, a: &Tensor<B>, b: &Tensor<B>) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DType {
            op,
            expected: a.dtype(),
            found: b.dtype(),
        });
    }
    Ok(())
}

fn same_shape<B: Backend>(op: &'static str, a: &Tensor<B>, b: &Tensor<B>) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(
            op,
            format!("{:?} vs {:?}", a.shape(), b.shape()),
        ));
    }
    same_dtype(op, a, b)
}

fn check_axis(op: &'static str, shape: &[usize], axis: usize) -> Result<()> {
    if axis >= shape.len() {
        return Err(Error::shape(
            op,
            format!("axis {axis} out of range for shape {shape:?}"),
        ));
    }
    Ok(())
}

/// `(outer, dim, inner)` of `shape` around `axis`.
fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

fn check_rows(op: &'static str, idx: &[usize], size: usize) -> Result<()> {
    if let Some(&bad) = idx.iter().find(|&&i| i >= size) {
        return Err(Error::Index {
            op,
            index: bad,
            size,
        });
    }
    Ok(())
}

/// `(rows, cols)` of a tensor seen as a matrix of its first axis by the rest.
fn rows_cols(shape: &[usize]) -> (usize, usize) {
    match shape.split_first() {
        Some((&r, rest)) => (r, rest.iter().product()),
        None => (1, 1),
    }
}

impl<B: Backend> Tensor<B> {
    fn require_rank(&self, op: &'static str, rank: usize) -> Result<()> {
        if self.rank() != rank {
            return Err(Error::shape(
                op,
                format!("expected rank {rank}, found shape {:?}", self.shape()),
            ));
        }
        Ok(())
    }

    /// Matrix product of 2-D tensors with optional transposes:
    /// `op(self)[m,k] · op(other)[k,n] → [m,n]`.
    pub fn matmul(&self, other: &Tensor<B>, trans_self: bool, trans_other: bool) -> Result<Self> {
        let op = "matmul";
        self.require_rank(op, 2)?;
        other.require_rank(op, 2)?;
        same_dtype(op, self, other)?;
        let (m, k) = dims2(self.shape(), trans_self);
        let (k2, n) = dims2(other.shape(), trans_other);
        if k != k2 {
            return Err(Error::shape(
                op,
                format!(
                    "inner dims differ: {:?}{} · {:?}{}",
                    self.shape(),
                    if trans_self { "ᵀ" } else { "" },
                    other.shape(),
                    if trans_other { "ᵀ" } else { "" }
                ),
            ));
        }
        // beta = 0: the product overwrites every element (NaNs included)
        let mut out = Tensor::output(self.backend(), &[m, n], self.dtype())?;
        let spec = GemmSpec {
            m,
            n,
            k,
            alpha: 1.0,
            beta: 0.0,
            a: layout2(self.shape(), trans_self),
            b: layout2(other.shape(), trans_other),
            c: MatLayout::row_major(0, n),
        };
        self.backend()
            .gemm(&spec, self.storage(), other.storage(), out.storage_mut())?;
        Ok(out)
    }

    /// Raw strided GEMM into `self` (see [`GemmSpec`]); every layout is bounds-checked.
    pub fn gemm_into(&mut self, spec: &GemmSpec, a: &Tensor<B>, b: &Tensor<B>) -> Result<()> {
        let op = "gemm";
        same_dtype(op, self, a)?;
        same_dtype(op, self, b)?;
        for (name, l, r, c, len) in [
            ("a", spec.a, spec.m, spec.k, a.numel()),
            ("b", spec.b, spec.k, spec.n, b.numel()),
            ("c", spec.c, spec.m, spec.n, self.numel()),
        ] {
            if l.end(r, c) > len {
                return Err(Error::shape(
                    op,
                    format!("{name}: a [{r}, {c}] matrix at {l:?} does not fit in {len} elements"),
                ));
            }
        }
        let backend = self.backend().clone();
        backend.gemm(spec, a.storage(), b.storage(), self.storage_mut())
    }

    /// `x · wᵀ + b` for `x [R, I]`, `w [O, I]`, `b [O]` → `[R, O]`.
    pub fn linear(&self, w: &Tensor<B>, b: Option<&Tensor<B>>) -> Result<Self> {
        let mut out = self.matmul(w, false, true)?;
        if let Some(b) = b {
            out.add_bias_rows(b)?;
        }
        Ok(out)
    }

    /// `self[r, :] += bias` for `self [R, C]`, `bias [C]`.
    pub fn add_bias_rows(&mut self, bias: &Tensor<B>) -> Result<()> {
        let op = "add_bias_rows";
        same_dtype(op, self, bias)?;
        let cols = *self.shape().last().unwrap_or(&1);
        if bias.shape() != [cols] {
            return Err(Error::shape(
                op,
                format!(
                    "bias {:?} does not match last dim of {:?}",
                    bias.shape(),
                    self.shape()
                ),
            ));
        }
        let backend = self.backend().clone();
        backend.add_bias_rows(self.storage_mut(), cols, bias.storage())
    }

    /// `op(self)` elementwise.
    pub fn unary(&self, op: UnaryOp) -> Result<Self> {
        let s = self.backend().unary(op, self.storage())?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }

    /// Gradient of `op` from its output `self` and the output gradient `grad`.
    pub fn unary_backward(&self, op: UnaryOp, grad: &Tensor<B>) -> Result<Self> {
        same_shape(op.name(), self, grad)?;
        let s = self
            .backend()
            .unary_backward(op, self.storage(), grad.storage())?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }

    /// `self op other` elementwise (same shape).
    pub fn binary(&self, op: BinaryOp, other: &Tensor<B>) -> Result<Self> {
        same_shape(op.name(), self, other)?;
        let s = self.backend().binary(op, self.storage(), other.storage())?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }

    /// `self + other`.
    pub fn add(&self, other: &Tensor<B>) -> Result<Self> {
        self.binary(BinaryOp::Add, other)
    }

    /// `self - other`.
    pub fn sub(&self, other: &Tensor<B>) -> Result<Self> {
        self.binary(BinaryOp::Sub, other)
    }

    /// `self · other` elementwise.
    pub fn mul(&self, other: &Tensor<B>) -> Result<Self> {
        self.binary(BinaryOp::Mul, other)
    }

    /// `alpha · self`.
    pub fn scale(&self, alpha: f64) -> Result<Self> {
        let s = self.backend().scale(self.storage(), alpha)?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }

    /// `self += alpha · x` (same shape).
    pub fn axpy(&mut self, alpha: f64, x: &Tensor<B>) -> Result<()> {
        same_shape("axpy", self, x)?;
        let backend = self.backend().clone();
        backend.axpy(alpha, x.storage(), self.storage_mut())
    }

    /// `Σ x²` over every element, in f64 (the square of the L2 norm).
    pub fn sum_squares(&self) -> Result<f64> {
        self.backend().sum_squares(self.storage())
    }

    /// Sum over `axis` (the axis is removed).
    pub fn sum_axis(&self, axis: usize) -> Result<Self> {
        check_axis("sum_axis", self.shape(), axis)?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let s = self.backend().sum_axis(self.storage(), outer, n, inner)?;
        let mut shape = self.shape().to_vec();
        shape.remove(axis);
        Ok(self.with_storage(shape, s))
    }

    /// Mean over `axis` (the axis is removed).
    pub fn mean_axis(&self, axis: usize) -> Result<Self> {
        check_axis("mean_axis", self.shape(), axis)?;
        let n = self.shape()[axis];
        if n == 0 {
            return Err(Error::shape(
                "mean_axis",
                format!("axis {axis} of {:?} is empty", self.shape()),
            ));
        }
        self.sum_axis(axis)?.scale(1.0 / n as f64)
    }

    /// Inserts `axis` of size `n`, repeating `self` along it (backward of a sum).
    pub fn broadcast_axis(&self, axis: usize, n: usize) -> Result<Self> {
        if axis > self.rank() {
            return Err(Error::shape(
                "broadcast_axis",
                format!("axis {axis} out of range for shape {:?}", self.shape()),
            ));
        }
        let outer = self.shape()[..axis].iter().product();
        let inner = self.shape()[axis..].iter().product();
        let s = self
            .backend()
            .broadcast_axis(self.storage(), outer, n, inner)?;
        let mut shape = self.shape().to_vec();
        shape.insert(axis, n);
        Ok(self.with_storage(shape, s))
    }

    /// Log-softmax over the last axis.
    pub fn log_softmax(&self) -> Result<Self> {
        let cols = *self
            .shape()
            .last()
            .ok_or_else(|| Error::shape("log_softmax", "scalar input"))?;
        let s = self.backend().log_softmax(self.storage(), cols)?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }

    fn check_labels(&self, op: &'static str, labels: &[usize]) -> Result<usize> {
        self.require_rank(op, 2)?;
        let (rows, cols) = (self.shape()[0], self.shape()[1]);
        if labels.len() != rows {
            return Err(Error::shape(
                op,
                format!(
                    "{} labels for {rows} rows of {:?}",
                    labels.len(),
                    self.shape()
                ),
            ));
        }
        if rows == 0 {
            return Err(Error::shape(op, "empty batch"));
        }
        check_rows(op, labels, cols)?;
        Ok(cols)
    }

    /// Mean negative log-likelihood of `labels` under row log-probabilities `self [R, K]`.
    pub fn nll_mean(&self, labels: &[usize]) -> Result<f64> {
        let cols = self.check_labels("nll_loss", labels)?;
        self.backend().nll_mean(self.storage(), cols, labels)
    }

    /// Cross-entropy of logits `self [R, K]`: the mean loss over rows and its gradient scaled
    /// by `scale` (`scale · (softmax − onehot(labels))`), in one pass.
    pub fn cross_entropy_with_grad(&self, labels: &[usize], scale: f64) -> Result<(f64, Self)> {
        let cols = self.check_labels("cross_entropy", labels)?;
        let (loss, g) =
            self.backend()
                .cross_entropy_with_grad(self.storage(), cols, labels, scale)?;
        Ok((loss, self.with_storage(self.shape().to_vec(), g)))
    }

    /// `scale · (softmax − onehot(labels))` from log-probabilities `self [R, K]`.
    pub fn cross_entropy_backward(&self, labels: &[usize], scale: f64) -> Result<Self> {
        let cols = self.check_labels("cross_entropy_backward", labels)?;
        let s = self
            .backend()
            .cross_entropy_backward(self.storage(), cols, labels, scale)?;
        Ok(self.with_storage(self.shape().to_vec(), s))
    }
}

fn distinct(idx: &[usize], size: usize) -> bool {
    let mut seen = vec![false; size];
    idx.iter().all(|&i| !std::mem::replace(&mut seen[i], true))
}

fn dims2(shape: &[usize], trans: bool) -> (usize, usize) {
    if trans {
        (shape[1], shape[0])
    } else {
        (shape[0], shape[1])
    }
}

fn layout2(shape: &[usize], trans: bool) -> MatLayout {
    let l = MatLayout::row_major(0, shape[1]);
    if trans {
        l.t()
    } else {
        l
    }
}
