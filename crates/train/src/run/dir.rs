//! A run folder as a model to use ([`RunDir`]): `config.json` (typed, versioned),
//! `vocab.txt` and `model.safetensors`, loaded with every part cross-checked into the
//! task's inference type ([`Loaded`]: a [`Predictor`] or a [`Generator`]), or saved as one
//! unit.

use std::path::{Path, PathBuf};

use recur_data::{TextEncoder, Vocab};
use recur_layers::{rng, Classifier, LanguageModel, ParamStore};
use recur_tensor::{Backend, DType};

use crate::infer::generator::Generator;
use crate::infer::predictor::Predictor;
use crate::run::commit::{Entry, RunWriter};
use crate::run::config::RunConfig;
use crate::run::files::safetensors_bound;
use crate::run::files::{check_file_shapes, read_bounded};
use crate::run::output::MAX_METRICS_BYTES;
use crate::run::output::{CheckpointState, RunOutput};
use crate::run::output::{MAX_CONFIG_BYTES, MAX_STATE_BYTES};
use crate::{
    is_int8, load_params_bytes, params_to_bytes, params_to_bytes_int8, Result, TrainError,
};

/// The files of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
}

/// A run folder's model, by task.
pub enum Loaded<B: Backend> {
    /// A classifier.
    Classifier(Box<Predictor<B>>),
    /// A language model.
    Lm(Box<Generator<B>>),
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

    /// Reads and checks `config.json` (any schema version this recur reads).
    pub fn config(&self) -> Result<RunConfig> {
        let cp = self.config_path();
        if !self.path.is_dir() {
            return Err(TrainError::run_folder(
                &self.path,
                "not a run folder (no such folder)",
            ));
        }
        if !cp.is_file() {
            return Err(TrainError::run_folder(
                &self.path,
                "not a run folder (it has no config.json)",
            ));
        }
        let bytes = read_bounded(&cp, MAX_CONFIG_BYTES)?;
        let text =
            String::from_utf8(bytes).map_err(|_| TrainError::run_folder(&cp, "not valid UTF-8"))?;
        RunConfig::parse(&text, &cp)
    }

    /// The config of a run that can be resumed: one with a checkpoint (refused, saying so,
    /// before anything else is read).
    pub fn resumable_config(&self) -> Result<RunConfig> {
        let state = self.path.join("checkpoint/state.json");
        if !state.is_file() {
            return Err(TrainError::run_folder(
                &self.path,
                "no checkpoint to resume from (no checkpoint/state.json)",
            ));
        }
        // a checkpoint of another schema, or beside files changed since, is refused before
        // any data is read
        CheckpointState::<serde_json::Value>::read(&self.path)?.check_files(&self.path)?;
        self.config()
    }

    /// Where the run's training stands: `Some(epoch)` (0-based) when its checkpoint says it
    /// stopped before finishing, `None` when it finished or has no checkpoint (a model
    /// saved on its own). Reads checkpoints of every schema version.
    pub fn unfinished_epoch(&self) -> Result<Option<usize>> {
        let path = self.path.join("checkpoint/state.json");
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = read_bounded(&path, MAX_STATE_BYTES)?;
        let state: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| TrainError::run_folder(&path, format!("not valid JSON: {e}")))?;
        let progress = state
            .get("progress")
            .ok_or_else(|| TrainError::run_folder(&path, "no \"progress\" key"))?;
        if progress.get("finished").is_some_and(|f| !f.is_null()) {
            return Ok(None);
        }
        let epoch = progress
            .get("epoch")
            .and_then(|e| e.as_u64())
            .ok_or_else(|| {
                TrainError::run_folder(&path, "\"progress.epoch\" is not a whole number")
            })?;
        Ok(Some(epoch as usize))
    }

    /// Saves config, vocabulary and parameters as one unit (see [`RunWriter`]); the
    /// vocabulary must be the config's (its numbering and size).
    pub fn save<B: Backend>(
        &self,
        config: &RunConfig,
        vocab: &Vocab,
        store: &ParamStore<B>,
    ) -> Result<()> {
        check_vocab(config, vocab)?;
        let writer = RunWriter::open(&self.path)?;
        writer.commit(&[
            ("config.json".into(), Entry::Bytes(config.to_json()?)),
            ("vocab.txt".into(), Entry::Bytes(vocab_bytes(vocab))),
            (
                "model.safetensors".into(),
                Entry::Bytes(params_to_bytes(store)?),
            ),
        ])
    }

    /// Loads config, vocabulary and parameters onto `backend`, checked against each other.
    pub fn load<B: Backend>(&self, backend: &B) -> Result<Loaded<B>> {
        let config = self.config()?;
        let text = config.text().clone();
        let vocab = Vocab::load_as(&self.vocab_path(), text.vocab_order)?;
        if vocab.len() != config.vocab_size() {
            return Err(TrainError::run_folder(
                self.vocab_path(),
                format!(
                    "{} tokens but config.json says vocab_size {} (the embedding's rows)",
                    vocab.len(),
                    config.vocab_size()
                ),
            ));
        }
        let encoder = TextEncoder::new(text.tokenizer, vocab, text.max_tokens);
        let mut store = ParamStore::new(backend, DType::F32);
        let fail = |e: TrainError| TrainError::run_folder(self.config_path(), e.to_string());
        // the file's shapes are checked against the config's before a model is built
        let source = "config.json's model";
        let loaded = match config {
            RunConfig::Classify(c) => {
                check_file_shapes(&self.model_path(), &c.model.param_shapes(), source)?;
                let mut model = Classifier::new(&mut store, c.model.clone(), &mut rng(0))?;
                model.set_words(&encoder.vocab.words())?;
                let int8 = self.load_model_file(&mut store)?;
                let p = Predictor::new(c, encoder, store, model)
                    .map_err(fail)?
                    .with_int8_table(int8);
                p.check_outputs()?;
                Loaded::Classifier(Box::new(p))
            }
            RunConfig::Lm(c) => {
                check_file_shapes(&self.model_path(), &c.model.param_shapes(), source)?;
                let model = LanguageModel::new(&mut store, c.model.clone(), &mut rng(0))?;
                self.load_model_file(&mut store)?;
                let g = Generator::new(c, encoder, store, model).map_err(fail)?;
                g.check_outputs()?;
                Loaded::Lm(Box::new(g))
            }
        };
        Ok(loaded)
    }

    /// Loads `model.safetensors` into `store` (f32, or int8 matrices dequantized); whether
    /// the file is int8.
    fn load_model_file<B: Backend>(&self, store: &mut ParamStore<B>) -> Result<bool> {
        let path = self.model_path();
        let elements: usize = store.iter().map(|(_, _, t)| t.numel()).sum();
        let bytes = read_bounded(&path, safetensors_bound(elements, store.len() * 2))?;
        load_params_bytes(store, &bytes, &path)?;
        Ok(is_int8(&bytes))
    }

    /// Writes a copy of this run to `out` with its matrices as int8 rows
    /// ([`params_to_bytes_int8`]): a run folder every command loads as any other (without a
    /// checkpoint: it is not trained further). Returns the model file's size before and
    /// after.
    pub fn quantize_to<B: Backend>(&self, backend: &B, out: &Path) -> Result<(u64, u64)> {
        let store = match self.load(backend)? {
            Loaded::Classifier(p) => p.store().clone(),
            Loaded::Lm(g) => g.store().clone(),
        };
        let model = params_to_bytes_int8(&store)?;
        let config = read_bounded(&self.config_path(), MAX_CONFIG_BYTES)?;
        let vocab = read_bounded(&self.vocab_path(), recur_data::MAX_VOCAB_FILE_BYTES)?;
        let mut files = vec![
            ("config.json".to_string(), Entry::Bytes(config)),
            ("vocab.txt".to_string(), Entry::Bytes(vocab)),
            ("model.safetensors".to_string(), Entry::Bytes(model.clone())),
        ];
        if self.metrics_path().is_file() {
            let metrics = read_bounded(&self.metrics_path(), MAX_METRICS_BYTES)?;
            files.push(("metrics.jsonl".to_string(), Entry::Bytes(metrics)));
        }
        let before = std::fs::metadata(self.model_path())
            .map_err(|e| TrainError::io(self.model_path(), e))?
            .len();
        RunWriter::open(out)?.commit(&files)?;
        Ok((before, model.len() as u64))
    }

    /// Loads a classifier run; a language-model run is refused.
    pub fn load_classifier<B: Backend>(&self, backend: &B) -> Result<Predictor<B>> {
        match self.load(backend)? {
            Loaded::Classifier(p) => Ok(*p),
            Loaded::Lm(_) => Err(TrainError::run_folder(
                &self.path,
                "a language-model run, not a classifier: it generates text and scores \
                 perplexity, it does not classify",
            )),
        }
    }

    /// Loads a language-model run; a classifier run is refused.
    pub fn load_lm<B: Backend>(&self, backend: &B) -> Result<Generator<B>> {
        match self.load(backend)? {
            Loaded::Lm(g) => Ok(*g),
            Loaded::Classifier(_) => Err(TrainError::run_folder(
                &self.path,
                "a classifier run, not a language model: it classifies, it does not generate",
            )),
        }
    }
}

/// Refuses a vocabulary that is not `config`'s: another numbering (its `<unk>` and padding
/// ids would be read wrong) or another size.
fn check_vocab(config: &RunConfig, vocab: &Vocab) -> Result<()> {
    if vocab.order() != config.text().vocab_order || vocab.len() != config.vocab_size() {
        return Err(TrainError::Invalid(format!(
            "the vocabulary ({} tokens, numbered {}) is not the config's ({} tokens, {})",
            vocab.len(),
            vocab.order().name(),
            config.vocab_size(),
            config.text().vocab_order.name()
        )));
    }
    Ok(())
}

impl RunOutput {
    /// Where a run of the model `config` describes, reading text into `vocab`'s ids, is
    /// written by a [`crate::Trainer`] (checkpoints, the best model, `metrics.jsonl`, with
    /// `config.json` and `vocab.txt`): a run folder that [`RunDir::load`], `recur eval`,
    /// `predict`, `serve`, `generate` and `train --resume` read. The vocabulary must be the
    /// config's.
    pub fn for_model(dir: &Path, config: &RunConfig, vocab: &Vocab) -> Result<RunOutput> {
        check_vocab(config, vocab)?;
        let files = vec![
            ("config.json".to_string(), config.to_json()?),
            ("vocab.txt".to_string(), vocab_bytes(vocab)),
        ];
        RunOutput::open(dir, config.task(), files)
    }
}

impl<B: Backend> Predictor<B> {
    /// Saves the classifier as a run folder at `dir` (config, vocabulary, parameters, as
    /// one unit) that [`RunDir::load_classifier`] and the `recur` commands read.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let config = RunConfig::Classify(self.config().clone());
        RunDir::new(dir).save(&config, &self.encoder().vocab, self.store())
    }
}

impl<B: Backend> Generator<B> {
    /// Saves the language model as a run folder at `dir` (config, vocabulary, parameters,
    /// as one unit) that [`RunDir::load_lm`] and `recur generate` read.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let config = RunConfig::Lm(self.config().clone());
        RunDir::new(dir).save(&config, &self.encoder().vocab, self.store())
    }
}

/// `vocab.txt`: one token a line, in id order.
pub fn vocab_bytes(vocab: &Vocab) -> Vec<u8> {
    let mut text = vocab.itos().join("\n");
    text.push('\n');
    text.into_bytes()
}
