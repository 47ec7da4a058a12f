//! placeholder for cuda
