//! A run folder as a model to use: `config.json` (model, classes, tokenizer, how the data
//! was read), `vocab.txt` and `model.safetensors`, saved as one unit and loaded with every
//! part cross-checked.

use std::path::{Path, PathBuf};

use recur_data::{Classes, LabelMap, ReadSpec, Tokenizer, Vocab, VocabOrder, AG_NEWS_CLASSES};
use recur_layers::{rng, Classifier, ClassifierConfig, ParamStore};
use recur_tensor::Backend;
use recur_tensor::DType;
use serde::{Deserialize, Serialize};

use crate::{load_params, params_to_bytes, Entry, Result, RunWriter, TrainError};

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
    /// Tokens kept per text (the first ones); `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
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
            max_tokens: None,
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

impl<B: Backend> LoadedRun<B> {
    /// Token ids of `text` as the run was trained (its tokenizer, vocabulary and token
    /// limit); `None` when the text has no token.
    pub fn encode(&self, text: &str) -> Option<Vec<usize>> {
        let mut ids = Vec::new();
        self.config
            .tokenizer
            .tokens_into(text, &mut String::new(), |t: &str| {
                ids.push(self.vocab.id_or_unk(t))
            });
        (!ids.is_empty()).then_some(ids)
    }

    /// Class probabilities `[len(texts), K]` of encoded texts (each non-empty). A packed
    /// model runs them as one packed batch (no work on padding, results as one by one); a
    /// padded model runs texts of equal length together, so that padding never changes a
    /// result.
    pub fn probabilities(&self, texts: &[Vec<usize>]) -> Result<Vec<Vec<f64>>> {
        let mut out = vec![Vec::new(); texts.len()];
        let groups: Vec<Vec<usize>> = if self.config.model.packed() {
            vec![(0..texts.len()).collect()]
        } else {
            let mut by_len: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
            for (i, t) in texts.iter().enumerate() {
                by_len.entry(t.len()).or_default().push(i);
            }
            by_len.into_values().collect()
        };
        for group in groups.into_iter().filter(|g| !g.is_empty()) {
            let enc = recur_data::Encoded {
                labels: vec![0; group.len()],
                ids: group.iter().map(|&i| texts[i].clone()).collect(),
            };
            let batch = recur_data::collate(&enc, &(0..group.len()).collect::<Vec<_>>())?;
            let tape = recur_autograd::Tape::no_grad(self.store.backend());
            let logits =
                self.model
                    .forward(&tape, &self.store, &batch.tokens, &batch.lengths, None)?;
            let probs = tape.value(logits)?.log_softmax()?.to_f64_vec()?;
            let k = self.config.model.num_class;
            for (row, &i) in group.iter().enumerate() {
                out[i] = probs[row * k..(row + 1) * k]
                    .iter()
                    .map(|lp| lp.exp())
                    .collect();
            }
        }
        Ok(out)
    }
}

/// The files of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
}

/// A model loaded from a run folder.
pub struct LoadedRun<B: Backend> {
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
                Entry::Bytes(serde_json::to_vec_pretty(config).map_err(|e| {
                    TrainError::Checkpoint(format!("serializing config.json: {e}"))
                })?),
            ),
            ("vocab.txt".into(), Entry::Bytes(vocab_text.into_bytes())),
            (
                "model.safetensors".into(),
                Entry::Bytes(params_to_bytes(store)?),
            ),
        ])?;
        Ok(())
    }

    /// Loads and cross-checks config, vocabulary and parameters onto `backend`.
    pub fn load_on<B: Backend>(&self, backend: &B) -> Result<LoadedRun<B>> {
        let cp = self.config_path();
        let text = std::fs::read_to_string(&cp).map_err(|e| TrainError::io(&cp, e))?;
        let config: RunConfig = serde_json::from_str(&text).map_err(|e| {
            TrainError::Checkpoint(format!("{}: not a valid run config: {e}", cp.display()))
        })?;
        let vocab = Vocab::load_as(&self.vocab_path(), config.vocab_order)?;
        if vocab.len() != config.model.vocab_size {
            return Err(TrainError::Checkpoint(format!(
                "{} has {} tokens but config.json says vocab_size {} (embedding.weight rows)",
                self.vocab_path().display(),
                vocab.len(),
                config.model.vocab_size
            )));
        }
        if config.class_names().len() != config.model.num_class {
            return Err(TrainError::Checkpoint(format!(
                "{}: {} class names for num_class {}",
                cp.display(),
                config.class_names().len(),
                config.model.num_class
            )));
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
