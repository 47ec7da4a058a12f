//! Packed sequences with PyTorch's meaning and functions (`torch.nn.utils.rnn`).
//!
//! A [`PackedSequence`] holds the time-major rows of a batch of variable-length sequences:
//! step `t` holds `batch_sizes[t]` rows, those of the sequences still running, in order of
//! decreasing length. Every function here is differentiable: packing and padding are row
//! gathers and scatters on the tape.
//!
//! ```
//! use recur_autograd::Tape;
//! use recur_cpu::Cpu;
//! use recur_packed::{pack_padded_sequence, Layout, Order};
//! use recur_tensor::{DType, Tensor};
//!
//! // three sequences of lengths 2, 3, 1, padded to [B=3, T=3, 1]
//! let tape = Tape::new(&Cpu);
//! let padded = Tensor::from_f64(&Cpu, &[3, 3, 1], &[1., 2., 0., 3., 4., 5., 6., 0., 0.],
//! DType::F32)?;
//! let x = tape.constant(padded);
//! let packed = pack_padded_sequence(&tape, x, &[2, 3, 1], Layout::BatchFirst, Order::Any)?;
//! assert_eq!(packed.batch_sizes(), &[3, 2, 1]); // rows alive at each step
//! assert_eq!(packed.sorted_indices(), Some(&[1, 0, 2][..])); // longest first
//! # Ok::<(), recur_packed::PackError>(())
//! ```

mod error;
mod functions;
mod sequence;

pub use error::{PackError, Result};
pub use functions::{
    pack_padded_sequence, pack_sequence, packed_order, pad_packed_sequence, pad_sequence,
    unpack_sequence, unpad_sequence, PackedOrder,
};
pub use sequence::{batch_sizes_for, sort_by_length, Layout, Order, PackedSequence};
