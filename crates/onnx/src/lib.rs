//! recur's trained models as standard ONNX graphs, built from ONNX's own operators (`LSTM`,
//! `GRU` with `linear_before_reset = 1`, `RNN`, `Gather`, `Gemm`, reductions, `Softmax`,
//! opset 17) with dynamic batch and time axes, computing exactly what recur computes —
//! packed sequences included (`sequence_lens`: each row stops at its own length, the
//! reverse direction starts at each row's own last token), which PyTorch's exporter gets
//! wrong. Beside the graph, a [`Sidecar`] holds what a runtime in another language needs to
//! read text as recur does. A classifier exports `ids`, `lengths` → `probabilities`,
//! `logits`; a language model one or more steps from a state (`ids`, `h`, `c` → `logits`,
//! `h_n`, `c_n`). What ONNX cannot express (an LSTM's projection) is refused, never
//! exported wrong.
//!
//! ```
//! use recur_cpu::Cpu;
//! use recur_data::{Tokenizer, Vocab, VocabOrder, TextEncoder};
//! use recur_layers::{rng, Classifier, ClassifierConfig, ParamStore};
//! use recur_tensor::DType;
//! use recur_train::{ClassifierRunConfig, Predictor};
//!
//! let vocab = Vocab::from_texts(&["a b c"], VocabOrder::PadUnk, 1);
//! let model_cfg = ClassifierConfig::new(vocab.len(), 2);
//! let mut store = ParamStore::new(&Cpu, DType::F32);
//! let model = Classifier::new(&mut store, model_cfg.clone(), &mut rng(0))?;
//! let names = vec!["no".into(), "yes".into()];
//! let config = ClassifierRunConfig::new(model_cfg, names, Tokenizer::Whitespace, &vocab);
//! let encoder = TextEncoder::new(Tokenizer::Whitespace, vocab, None);
//! let p = Predictor::new(config, encoder, store, model)?;
//! let exported = recur_onnx::export_classifier(&p)?;
//! assert!(!exported.model.is_empty());
//! assert_eq!(exported.sidecar.classes.as_deref(), Some(&["no".to_string(), "yes".into()][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bag;
mod classifier;
mod graph;
mod lm;
pub mod proto;
mod recurrent;
mod sidecar;

use recur_tensor::Backend;

pub use sidecar::{rules, Io, Sidecar, TokenizerRules};

/// What can keep a model from being exported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// An option the ONNX operators cannot express, named as the library names it.
    #[error("{option} cannot be exported: {why}")]
    Unsupported {
        /// The setting (`model.proj_size`).
        option: &'static str,
        /// Why.
        why: String,
    },
    /// The model is not what its config says.
    #[error("{0}")]
    Model(String),
    /// Reading its parameters failed.
    #[error(transparent)]
    Tensor(#[from] recur_tensor::Error),
}

/// Result alias for the exporter.
pub type Result<T> = std::result::Result<T, OnnxError>;

/// An exported model: the ONNX file's bytes and its sidecar.
#[derive(Clone, Debug)]
pub struct Exported {
    /// A serialized `ModelProto`.
    pub model: Vec<u8>,
    /// What a runtime needs to read text for it.
    pub sidecar: Sidecar,
}

impl Exported {
    /// The sidecar as pretty JSON.
    pub fn sidecar_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.sidecar).unwrap_or_default()
    }
}

/// Where the sidecar of the ONNX file `onnx` goes: `FILE.json` beside `FILE` (what
/// `recur export` writes and the runtime examples read).
pub fn sidecar_path(onnx: &std::path::Path) -> std::path::PathBuf {
    let mut name = onnx.as_os_str().to_os_string();
    name.push(".json");
    std::path::PathBuf::from(name)
}

/// A classifier (what [`recur_train::RunDir::load_classifier`] loads) as ONNX.
pub fn export_classifier<B: Backend>(p: &recur_train::Predictor<B>) -> Result<Exported> {
    classifier::export(p)
}

/// A language model (what [`recur_train::RunDir::load_lm`] loads) as ONNX.
pub fn export_lm<B: Backend>(g: &recur_train::Generator<B>) -> Result<Exported> {
    lm::export(g)
}
