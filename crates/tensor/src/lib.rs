//! Tensors, shapes, element types (f32, f64) and the [`Backend`] trait.
//!
//! A [`Tensor`] is a shape plus contiguous row-major storage owned by a backend.
//! Every operation is validated here (shapes, dtypes, indices) and then handed to the
//! backend's raw kernel, so a backend never has to re-check shapes and a bad shape is
//! always an [`Error`] naming the op and the shapes, never a panic.
//!
//! ```
//! use recur_cpu::Cpu;
//! use recur_tensor::{DType, Tensor};
//!
//! // [2, 3] · [3, 2]ᵀ-shaped operands: shapes are checked before any kernel runs
//! let a = Tensor::from_f64(&Cpu, &[2, 3], &[1., 2., 3., 4., 5., 6.], DType::F64)?;
//! let b = Tensor::from_f64(&Cpu, &[2, 3], &[1., 0., 1., 0., 1., 0.], DType::F64)?;
//! let c = a.matmul(&b, false, true)?; // a · bᵀ → [2, 2]
//! assert_eq!(c.to_f64_vec()?, vec![4., 2., 10., 5.]);
//! assert!(a.matmul(&b, false, false).is_err()); // [2, 3] · [2, 3]: an error naming both
//! # Ok::<(), recur_tensor::Error>(())
//! ```

mod backend;
mod cell;
pub mod check;
mod dtype;
mod elementwise;
mod error;
pub mod fastmath;
mod ops;
mod recurrent;
mod seq_saved;
mod steps;
mod tensor;

pub use backend::{
    AdamHyper, Backend, CellSaved, GemmSpec, MatLayout, SeqGrads, SeqInputs, SeqOutputs, SeqSaved,
    SgdHyper, Tensor,
};
pub use cell::{CellKind, CellSpec, ParamRole, ParamSlot, Recurrence, StateName};
pub use dtype::{DType, HostData};
pub use elementwise::{BinaryOp, Real, UnaryOp};
pub use error::{Error, Result};
pub use recurrent::{seq_backward, seq_forward};
pub use steps::{step_offsets, StepLayout};
