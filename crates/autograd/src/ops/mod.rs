//! Tape ops, one family per file; each forward sits next to its backward.

mod elementwise;
mod linalg;
mod loss;
mod recurrent;
mod shape;

pub use recurrent::SeqVars;
