//! Elementwise ops: add, sub, mul, div (with NumPy/PyTorch broadcasting: operands of
//! different shapes are broadcast to a common one, see `broadcast.rs`), scale and the
//! activations.

use recur_tensor::{Backend, BinaryOp, Result, UnaryOp};

use crate::{Tape, Var};

impl<B: Backend> Tape<B> {
    /// `a + b`, broadcast (NumPy/PyTorch rules) when the shapes differ.
    pub fn add(&self, a: Var, b: Var) -> Result<Var> {
        let (a, b) = self.broadcast_pair("add", a, b)?;
        let out = self.value(a)?.add(&self.value(b)?)?;
        // d(a+b) = (g, g)
        self.record1(out, &[a, b], |g| Ok(vec![Some(g.clone()), Some(g.clone())]))
    }

    /// `a - b`, broadcast when the shapes differ.
    pub fn sub(&self, a: Var, b: Var) -> Result<Var> {
        let (a, b) = self.broadcast_pair("sub", a, b)?;
        let out = self.value(a)?.sub(&self.value(b)?)?;
        // d(a−b) = (g, −g)
        self.record1(out, &[a, b], |g| {
            Ok(vec![Some(g.clone()), Some(g.scale(-1.0)?)])
        })
    }

    /// `a · b` elementwise, broadcast when the shapes differ.
    pub fn mul(&self, a: Var, b: Var) -> Result<Var> {
        let (a, b) = self.broadcast_pair("mul", a, b)?;
        let (va, vb) = (self.value(a)?, self.value(b)?);
        let out = va.mul(&vb)?;
        // d(a·b) = (g·b, g·a)
        self.record1(out, &[a, b], move |g| {
            Ok(vec![Some(g.mul(&vb)?), Some(g.mul(&va)?)])
        })
    }

    /// `a / b` elementwise, broadcast when the shapes differ.
    pub fn div(&self, a: Var, b: Var) -> Result<Var> {
        let (a, b) = self.broadcast_pair("div", a, b)?;
        let (va, vb) = (self.value(a)?, self.value(b)?);
        let out = va.binary(BinaryOp::Div, &vb)?;
        let saved = out.clone();
        // d(a/b) = (g/b, −g·(a/b)/b)
        self.record1(out, &[a, b], move |g| {
            let ga = g.binary(BinaryOp::Div, &vb)?;
            let gb = ga.mul(&saved)?.scale(-1.0)?;
            Ok(vec![Some(ga), Some(gb)])
        })
    }

    /// `e^a`.
    pub fn exp(&self, a: Var) -> Result<Var> {
        self.unary(a, UnaryOp::Exp)
    }

    /// `ln a`.
    pub fn log(&self, a: Var) -> Result<Var> {
        self.unary(a, UnaryOp::Log)
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
