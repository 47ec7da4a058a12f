//! placeholder for data
