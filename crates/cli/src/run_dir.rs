//! A run folder: `config.json` (model, classes, tokenizer, how the data was read),
//! `vocab.txt`, `model.safetensors`, `metrics.jsonl`, each written atomically.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use recur_cpu::Cpu;
use recur_data::{Classes, LabelMap, ReadSpec, Tokenizer, Vocab, VocabOrder, AG_NEWS_CLASSES};
use recur_layers::{rng, Classifier, ClassifierConfig, ParamStore};
use recur_tensor::Backend;
use recur_tensor::DType;
use serde::{Deserialize, Serialize};

use recur_train::{load_params, params_to_bytes, Entry, RunWriter};

/// `config.json`: what rebuilds the model and encodes text for it (documented in
/// `docs/run-folder.md`). Only the model fields are required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The classifier.
    #[serde(flatten)]
    pub model: ClassifierConfig,
    /// Class names, index = class (default: AG News's four when there are four classes).
    #[serde(default)]
    pub classes: Vec<String>,
    /// How labels as written map to classes (default: integers from 1).
    #[serde(default)]
    pub labels: LabelMap,
    /// How texts become tokens.
    #[serde(default)]
    pub tokenizer: Tokenizer,
    /// How `vocab.txt` is numbered (which id unknown tokens get).
    #[serde(default)]
    pub vocab_order: VocabOrder,
    /// How the training data was read, reused by `eval` for files of the same shape.
    #[serde(default)]
    pub data: ReadSpec,
    /// How the training run was configured (absent for imported models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

impl RunConfig {
    /// A config for `model` with every other field at its default (the lesson's).
    pub fn for_model(model: ClassifierConfig) -> RunConfig {
        RunConfig {
            model,
            classes: Vec::new(),
            labels: LabelMap::default(),
            tokenizer: Tokenizer::default(),
            vocab_order: VocabOrder::default(),
            data: ReadSpec::default(),
            training: None,
        }
    }

    /// Class names, defaulting to AG News's when there are four classes.
    pub fn class_names(&self) -> Vec<String> {
        if !self.classes.is_empty() {
            return self.classes.clone();
        }
        if self.model.num_class == AG_NEWS_CLASSES.len() {
            return AG_NEWS_CLASSES.iter().map(|s| s.to_string()).collect();
        }
        (0..self.model.num_class)
            .map(|i| format!("class{}", i + 1))
            .collect()
    }

    /// The classes, for mapping the labels of a test file.
    pub fn classes(&self) -> Result<Classes> {
        Ok(Classes::new(self.class_names(), self.labels)?)
    }
}

/// The files of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
}

/// A model loaded from a run folder.
pub struct LoadedRun<B: Backend = Cpu> {
    /// Its config.
    pub config: RunConfig,
    /// Its vocabulary.
    pub vocab: Vocab,
    /// Its parameters (f32).
    pub store: ParamStore<B>,
    /// The classifier.
    pub model: Classifier,
}

impl RunDir {
    /// A run at `path`.
    pub fn new(path: &Path) -> RunDir {
        RunDir {
            path: path.to_path_buf(),
        }
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.path.join("config.json")
    }

    /// `vocab.txt`.
    pub fn vocab_path(&self) -> PathBuf {
        self.path.join("vocab.txt")
    }

    /// `model.safetensors`.
    pub fn model_path(&self) -> PathBuf {
        self.path.join("model.safetensors")
    }

    /// `metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.path.join("metrics.jsonl")
    }

    /// Saves config, vocabulary and parameters as one unit (see [`RunWriter`]).
    pub fn save<B: Backend>(
        &self,
        config: &RunConfig,
        vocab: &Vocab,
        store: &ParamStore<B>,
    ) -> Result<()> {
        let mut vocab_text = vocab.itos().join("\n");
        vocab_text.push('\n');
        let writer = RunWriter::open(&self.path)?;
        writer.commit(&[
            (
                "config.json".into(),
                Entry::Bytes(serde_json::to_vec_pretty(config)?),
            ),
            ("vocab.txt".into(), Entry::Bytes(vocab_text.into_bytes())),
            (
                "model.safetensors".into(),
                Entry::Bytes(params_to_bytes(store)?),
            ),
        ])?;
        Ok(())
    }

    /// Loads and cross-checks config, vocabulary and parameters (on the CPU).
    pub fn load(&self) -> Result<LoadedRun> {
        self.load_on(&Cpu)
    }

    /// Loads and cross-checks config, vocabulary and parameters onto `backend`.
    pub fn load_on<B: Backend>(&self, backend: &B) -> Result<LoadedRun<B>> {
        let cp = self.config_path();
        let text =
            std::fs::read_to_string(&cp).with_context(|| format!("reading {}", cp.display()))?;
        let config: RunConfig = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid run config", cp.display()))?;
        let vocab = Vocab::load_as(&self.vocab_path(), config.vocab_order)?;
        if vocab.len() != config.model.vocab_size {
            bail!(
                "{} has {} tokens but config.json says vocab_size {} (embedding.weight rows)",
                self.vocab_path().display(),
                vocab.len(),
                config.model.vocab_size
            );
        }
        if config.class_names().len() != config.model.num_class {
            bail!(
                "{}: {} class names for num_class {}",
                cp.display(),
                config.class_names().len(),
                config.model.num_class
            );
        }
        let mut store = ParamStore::new(backend, DType::F32);
        let model = Classifier::new(&mut store, config.model.clone(), &mut rng(0))?;
        load_params(&mut store, &self.model_path())?;
        Ok(LoadedRun {
            config,
            vocab,
            store,
            model,
        })
    }
}
