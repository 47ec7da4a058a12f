//! Layers for recurrent text classifiers, with PyTorch's parameters, names and init.
//!
//! Parameters live in a [`ParamStore`] under their PyTorch `state_dict` names
//! (`embedding.weight`, `rnn.weight_ih_l0_reverse`, `fc.bias`); layers hold [`ParamId`]s and
//! build their forward pass on a [`recur_autograd::Tape`]. The fused recurrent layer
//! ([`Recurrent`]) runs one backend op per layer and direction; [`Recurrent::forward_unrolled`]
//! is the cell-by-cell reference it is tested against.

mod cells;
mod clip;
mod dropout;
mod embedding;
mod error;
mod linear;
mod models;
mod optim;
mod params;
mod recurrent;

pub use cells::{gru_step, lstm_step, rnn_step, Cell, CellParams};
pub use clip::clip_grad_norm;
pub use dropout::dropout;
pub use embedding::{Embedding, EmbeddingConfig};
pub use error::{LayerError, Result};
pub use linear::{Bias, Linear};
pub use models::{Classifier, ClassifierConfig, EmbedInit, ModelKind, Pooling};
pub use optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, StateValue};
pub use params::{rng, ParamId, ParamStore, Rng, RowClock};
pub use recurrent::{Recurrent, RecurrentConfig, RecurrentOutput};
