//! The CUDA backend for recur (to be filled by the CUDA issue): `cudarc` with dynamic
//! loading so the crate builds and tests everywhere, cuBLAS for GEMMs, `.cu` kernels for the
//! elementwise, gather/scatter, reduction, loss, Adam and fused recurrent ops, each with a
//! CPU twin of the same name and a parity test. Nothing in it is used yet.
