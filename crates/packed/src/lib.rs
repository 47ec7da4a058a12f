//! Packed sequences with PyTorch's meaning and functions (`torch.nn.utils.rnn`).
//!
//! A [`PackedSequence`] holds the time-major rows of a batch of variable-length sequences:
//! step `t` holds `batch_sizes[t]` rows, those of the sequences still running, in order of
//! decreasing length. Every function here is differentiable: packing and padding are row
//! gathers and scatters on the tape.

mod error;
mod functions;
mod sequence;

pub use error::{PackError, Result};
pub use functions::{
    pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence, unpack_sequence,
    unpad_sequence,
};
pub use sequence::{batch_sizes_for, sort_by_length, Layout, Order, PackedSequence};
