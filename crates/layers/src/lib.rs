//! Layers for recurrent text classifiers, with PyTorch's parameters, names and init.
//!
//! Parameters live in a [`ParamStore`] under their PyTorch `state_dict` names
//! (`embedding.weight`, `rnn.weight_ih_l0_reverse`, `fc.bias`); layers hold [`ParamId`]s and
//! build their forward pass on a [`recur_autograd::Tape`]. The fused recurrent layer
//! ([`Recurrent`]) runs one backend op per layer and direction; [`Recurrent::forward_unrolled`]
//! is the cell-by-cell reference it is tested against.
//!
//! ```
//! use recur_autograd::Tape;
//! use recur_cpu::Cpu;
//! use recur_layers::{rng, Adam, Bias, Linear, Optimizer, ParamStore};
//! use recur_tensor::{DType, Tensor};
//!
//! let mut store = ParamStore::new(&Cpu, DType::F32);
//! let fc = Linear::new(&mut store, "fc", 3, 2, Bias::With, &mut rng(0))?;
//! let mut adam = Adam::with_lr(0.1);
//! let x = Tensor::from_f64(&Cpu, &[1, 3], &[1.0, 2.0, 3.0], DType::F32)?;
//! let mut last = f64::INFINITY;
//! for _ in 0..20 {
//!     let tape = Tape::new(&Cpu);
//!     let y = fc.forward(&tape, &store, tape.constant(x.clone()))?;
//!     let loss = tape.sum_all(tape.mul(y, y)?)?; // drive the output to 0
//!     last = tape.value(loss)?.scalar()?;
//!     let mut grads = tape.backward(loss)?;
//!     drop(tape); // the tape shares the parameters: drop it before the step
//!     adam.step(&mut store, &mut grads)?;
//! }
//! assert!(last < 0.5, "{last}");
//! assert_eq!(store.name(fc.weight)?, "fc.weight"); // PyTorch's state_dict names
//! # Ok::<(), recur_layers::LayerError>(())
//! ```

mod average;
mod bag_features;
mod cells;
mod char_grams;
mod classifier_choices;
mod classifier_config;
mod clip;
mod dropout;
mod embedding;
mod error;
mod input_table;
mod linear;
mod lm;
mod member;
mod models;
mod ngram_bag;
mod optim;
mod params;
pub mod pooling;
mod quant;
mod recurrent;

pub use bag_features::{bag_features, bigram_bucket, tf_idf_weights, BagFeatures, BAG_GAIN};
pub use cells::{gru_step, lstm_step, rnn_step, Cell, CellParams};
pub use char_grams::{char_gram_bucket, word_char_grams, WordGrams, CHAR_GRAM_MAX, CHAR_GRAM_MIN};
pub use classifier_choices::{EmbedInit, ModelKind, Pooling};
pub use classifier_config::{member_prefix, ClassifierConfig, MAX_MEMBERS};
pub use clip::clip_grad_norm;
pub use dropout::dropout;
pub use embedding::{Embedding, EmbeddingConfig};
pub use error::{LayerError, Result};
pub use input_table::InputTable;
pub use linear::{Bias, Linear};
pub use lm::{LanguageModel, LmConfig, LmState};
pub use member::Member;
pub use models::{Classifier, Heads};
pub use ngram_bag::NgramBag;
pub use optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, StateValue};
pub use params::{
    check_param_count, param_count, rng, ParamId, ParamStore, Rng, RowClock, MAX_LAYERS, MAX_PARAMS,
};
pub use quant::Int8Rows;
pub use recurrent::{Recurrent, RecurrentConfig, RecurrentOutput};
