//! Tape ops, one family per file; each forward sits next to its backward.

mod elementwise;
mod linalg;
mod loss;
mod recurrent;
mod shape;
mod softmax;

pub use recurrent::SeqVars;
