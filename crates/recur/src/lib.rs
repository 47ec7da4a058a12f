//! recur: recurrent networks (RNN, LSTM, GRU) for text classification whose forward values
//! and gradients match PyTorch's, on the CPU or CUDA — as one dependency.
//!
//! The modules follow the layers of the stack, each re-exporting one crate:
//! [`tensor`] (tensors, dtypes, the `Backend` trait), [`cpu`] and `cuda` (backends),
//! [`autograd`] (the tape), [`packed`] (`PackedSequence` and PyTorch's pack/pad functions),
//! [`nn`] (layers, models, optimizers, parameter store), [`data`] (readers, tokenizers,
//! vocabularies, batches), [`train`] (the training loop, evaluation, checkpoints) and
//! [`onnx`] (trained models as standard ONNX graphs).
//! [`prelude`] brings in what a training program uses; [`Error`] holds any of their errors,
//! so `?` works across them; [`rand`] is the `rand` these crates are built with (its `Rng`
//! trait draws from [`nn::Rng`]).
//!
//! ```
//! use recur::prelude::*;
//!
//! // a packed bidirectional GRU over a vocabulary of 50 tokens, 3 classes
//! let mut store = ParamStore::new(&Cpu, DType::F32);
//! let config = ClassifierConfig::new(50, 3)
//!     .with_cell(CellKind::Gru)
//!     .with_bidirectional()
//!     .with_pooling(Pooling::Max);
//! let model = Classifier::new(&mut store, config, &mut rng(0))?;
//! let tape = Tape::no_grad(&Cpu);
//! // two sequences, lengths 3 and 2, padded with 0 to [2, 3]
//! let logits = model.forward(&tape, &store, &[4, 8, 15, 16, 23, 0], &[3, 2], None)?;
//! assert_eq!(tape.shape(logits)?, vec![2, 3]);
//! # Ok::<(), recur::Error>(())
//! ```

pub use rand;

/// Tensors, element types, the `Backend` trait and its validated ops (`recur-tensor`).
pub mod tensor {
    pub use recur_tensor::*;
}

/// The CPU backend (`recur-cpu`).
pub mod cpu {
    pub use recur_cpu::*;
}

/// The CUDA backend (`recur-cuda`; the driver is loaded at run time).
#[cfg(feature = "cuda")]
pub mod cuda {
    pub use recur_cuda::*;
}

/// Reverse-mode automatic differentiation on a tape (`recur-autograd`).
pub mod autograd {
    pub use recur_autograd::*;
}

/// `PackedSequence` and `torch.nn.utils.rnn`'s functions (`recur-packed`).
pub mod packed {
    pub use recur_packed::*;
}

/// Layers, classifiers, optimizers and the parameter store (`recur-layers`).
pub mod nn {
    pub use recur_layers::*;
}

/// Labelled text files, tokenizers, vocabularies, batches and loaders (`recur-data`).
pub mod data {
    pub use recur_data::*;
}

/// The training loop, evaluation, schedules, checkpoints and run folders (`recur-train`).
pub mod train {
    pub use recur_train::*;
}

/// Trained models as standard ONNX graphs with what a runtime needs to read text
/// (`recur-onnx`).
pub mod onnx {
    pub use recur_onnx::*;
}

/// What a training program uses, in one `use recur::prelude::*`.
pub mod prelude {
    pub use crate::{Error, Result};
    pub use recur_autograd::{Grads, Mask, Tape, Var};
    pub use recur_cpu::Cpu;
    #[cfg(feature = "cuda")]
    pub use recur_cuda::Cuda;
    pub use recur_data::{
        collate, Batch, Encoded, Example, Loader, LoaderConfig, TextEncoder, Tokenizer, Vocab,
        VocabOptions, VocabOrder,
    };
    pub use recur_layers::{
        clip_grad_norm, dropout, pooling, rng, Adam, AdamConfig, Bias, Classifier,
        ClassifierConfig, Embedding, EmbeddingConfig, LanguageModel, Linear, LmConfig, Optimizer,
        ParamId, ParamStore, Pooling, Recurrent, RecurrentConfig, RecurrentOutput, Rng, Sgd,
        SgdConfig,
    };
    pub use recur_packed::{
        pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence, Layout, Order,
        PackedSequence,
    };
    pub use recur_tensor::{Backend, CellKind, DType, Tensor};
    pub use recur_train::{
        argmax_rows, evaluate, predict_logits, ClassifierRunConfig, Classify, ClassifyConfig,
        Datasets, EpochRecord, FitSummary, Generator, LanguageModeling, LmRunConfig, Metric, Model,
        Notice, Observer, ParamsFile, Prediction, Predictor, Printing, RunConfig, RunDir,
        RunOutput, Sampling, ScheduleConfig, ScheduleKind, Silent, Task, TrainConfig, Trainer,
    };
}

/// Any error of the recur crates.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor op (shapes, dtypes, a device).
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
    /// Packing or padding.
    #[error(transparent)]
    Pack(#[from] recur_packed::PackError),
    /// A layer, model, optimizer or parameter store.
    #[error(transparent)]
    Layer(#[from] recur_layers::LayerError),
    /// Reading data.
    #[error(transparent)]
    Data(#[from] recur_data::DataError),
    /// Training, evaluation, checkpoints and run folders.
    #[error(transparent)]
    Train(#[from] recur_train::TrainError),
    /// Exporting a model to ONNX.
    #[error(transparent)]
    Onnx(#[from] recur_onnx::OnnxError),
}

/// Result alias with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
