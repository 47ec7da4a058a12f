//! Elementwise ops: add, sub, mul, scale and the activations.

use recur_tensor::{Backend, Result, UnaryOp};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `a + b` (same shape).
    pub fn add(&self, a: Var, b: Var) -> Result<Var> {
        let out = self.value(a)?.add(&self.value(b)?)?;
        // d(a+b) = (g, g)
        self.record1(out, &[a, b], |g| Ok(vec![Some(g.clone()), Some(g.clone())]))
    }

    /// `a - b` (same shape).
    pub fn sub(&self, a: Var, b: Var) -> Result<Var> {
        let out = self.value(a)?.sub(&self.value(b)?)?;
        // d(a−b) = (g, −g)
        self.record1(out, &[a, b], |g| {
            Ok(vec![Some(g.clone()), Some(g.scale(-1.0)?)])
        })
    }

    /// `a · b` elementwise (same shape).
    pub fn mul(&self, a: Var, b: Var) -> Result<Var> {
        let (va, vb) = (self.value(a)?, self.value(b)?);
        let out = va.mul(&vb)?;
        // d(a·b) = (g·b, g·a)
        self.record1(out, &[a, b], move |g| {
            Ok(vec![Some(g.mul(&vb)?), Some(g.mul(&va)?)])
        })
    }

    /// `alpha · a`.
    pub fn scale(&self, a: Var, alpha: f64) -> Result<Var> {
        let out = self.value(a)?.scale(alpha)?;
        // d(αa) = α·g
        self.record1(out, &[a], move |g| Ok(vec![Some(g.scale(alpha)?)]))
    }

    /// An activation applied elementwise.
    pub fn unary(&self, a: Var, op: UnaryOp) -> Result<Var> {
        let y = self.value(a)?.unary(op)?;
        let saved = y.clone();
        // the op's own derivative from its output (UnaryOp::backward, e.g. tanh: g·(1−y²))
        self.record1(y, &[a], move |g| {
            Ok(vec![Some(saved.unary_backward(op, g)?)])
        })
    }

    /// `1 / (1 + e^{-a})`.
    pub fn sigmoid(&self, a: Var) -> Result<Var> {
        self.unary(a, UnaryOp::Sigmoid)
    }

    /// `tanh(a)`.
    pub fn tanh(&self, a: Var) -> Result<Var> {
        self.unary(a, UnaryOp::Tanh)
    }

    /// `max(a, 0)`.
    pub fn relu(&self, a: Var) -> Result<Var> {
        self.unary(a, UnaryOp::Relu)
    }
}
