//! Optimizers with PyTorch's exact update rules: [`Adam`] (and AdamW, its decoupled weight
//! decay) and [`Sgd`]; their state can be exported and imported for checkpoints
//! ([`Optimizer`], in `optimizer.rs`).

mod adam;
mod optimizer;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use optimizer::{Optimizer, StateValue};
pub use sgd::{Sgd, SgdConfig};
