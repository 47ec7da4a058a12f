//! One module per command of the `recur` binary.

pub mod autotune;
pub mod eval;
pub mod export;
pub mod generate;
pub mod plot;
pub mod predict;
pub mod quantize;
pub mod serve;
pub mod train;
