//! Tensors, shapes, element types (f32, f64) and the [`Backend`] trait.
//!
//! A [`Tensor`] is a shape plus contiguous row-major storage owned by a backend.
//! Every operation is validated here (shapes, dtypes, indices) and then handed to the
//! backend's raw kernel, so a backend never has to re-check shapes and a bad shape is
//! always an [`Error`] naming the op and the shapes, never a panic.

mod backend;
mod dtype;
mod error;
mod ops;
mod recurrent;
mod tensor;

pub use backend::{AdamHyper, Backend, BinaryOp, GemmSpec, MatLayout, UnaryOp};
pub use dtype::{DType, HostData};
pub use error::{Error, Result};
pub use recurrent::{
    seq_backward, seq_forward, step_offsets, CellKind, SeqGrads, SeqInputs, SeqOutputs, SeqSaved,
};
pub use tensor::Tensor;
