//! Reverse-mode automatic differentiation on a tape.
//!
//! A [`Tape`] records every op of one forward pass as a node: its outputs, its parents and a
//! backward closure defined right next to the forward code (the gradient formula sits in a
//! comment above it). [`Tape::backward`] walks the nodes in reverse order from a scalar and
//! returns the gradients of the leaves ([`Grads`]). Ops never name a concrete backend.
//! A tape made with [`Tape::no_grad`] records nothing and keeps no saved state.
//!
//! ```
//! use recur_autograd::Tape;
//! use recur_cpu::Cpu;
//! use recur_tensor::{DType, Tensor};
//!
//! let tape = Tape::new(&Cpu);
//! let x = tape.leaf(Tensor::from_f64(&Cpu, &[2], &[0.0, 1.0], DType::F64)?, true);
//! let loss = tape.sum_all(tape.tanh(x)?)?; // Σ tanh(x)
//! let grads = tape.backward(loss)?;
//! let dx = grads.get(x).expect("x needs a gradient").to_f64_vec()?;
//! assert!((dx[1] - (1.0 - 1f64.tanh().powi(2))).abs() < 1e-12); // 1 − tanh²
//! # Ok::<(), recur_tensor::Error>(())
//! ```

mod grads;
mod ops;
mod tape;
mod var;

pub use grads::{Grads, RowGrad};
pub use ops::{broadcast_shape, Mask, SeqOut, SeqVars};
pub use tape::Tape;
pub use var::Var;
