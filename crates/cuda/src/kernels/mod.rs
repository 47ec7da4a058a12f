//! The CUDA kernel families, one file each as in `recur-cpu`'s `kernels/`: each function
//! takes already-checked typed device slices, launches the `recur.cu` kernel of the op's
//! own name (`<name>_f32` / `<name>_f64`) and returns the result.

pub(crate) mod basic;
pub(crate) mod gemm;
pub(crate) mod gru;
pub(crate) mod lstm;
pub(crate) mod optim;
pub(crate) mod persistent;
pub(crate) mod rnn;
pub(crate) mod softmax;
pub(crate) mod steps;
