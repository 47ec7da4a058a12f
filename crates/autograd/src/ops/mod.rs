//! Tape ops, one family per file; each forward sits next to its backward.

mod broadcast;
mod elementwise;
mod linalg;
mod loss;
mod masked;
mod recurrent;
mod shape;
mod softmax;

pub use broadcast::broadcast_shape;
pub use masked::Mask;
pub use recurrent::{SeqOut, SeqVars};
