//! Reverse-mode automatic differentiation on a tape.
//!
//! A [`Tape`] records every op of one forward pass as a node: its outputs, its parents and a
//! backward closure defined right next to the forward code (the gradient formula sits in a
//! comment above it). [`Tape::backward`] walks the nodes in reverse order from a scalar and
//! returns the gradients of the leaves ([`Grads`]). Ops never name a concrete backend.
//! A tape made with [`Tape::no_grad`] records nothing and keeps no saved state.

mod ops;
mod tape;

pub use ops::SeqVars;
pub use tape::{Grads, RowGrad, Tape, Var};
