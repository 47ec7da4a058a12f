//! Generic CPU kernels over [`crate::Elem`]; the backend impl dispatches on dtype.

pub mod basic;
pub mod gemm;
pub mod gru;
pub mod lstm;
pub mod optim;
pub mod pgemm;
pub mod rnn;
pub mod steps;
