//! A language-model run from start to run folder ([`LmRecipe`]): the model's template, how
//! text is read, and how it trains; [`LmRecipe::run`] reads the documents, builds the
//! vocabulary and the streams, and trains with the one loop, writing the run folder — or
//! resumes it from its `config.json`, checking that the data did not change.

use std::path::Path;
use std::time::Instant;

use recur_data::{lm_ids, lm_vocab, read_documents, ReadSpec, Streams, Vocab};
use recur_layers::{rng, LanguageModel, LmConfig, ParamStore};
use recur_tensor::{Backend, DType};

use crate::classify::recipe::DROPOUT_SEED;
use crate::engine::observer::{FitSummary, Notice, Observer};
use crate::engine::records::Record;
use crate::engine::Trainer;
use crate::lm::task::{LanguageModeling, LmRecords};
use crate::run::{
    vocab_bytes, Fingerprint, LmRunConfig, RunConfig, RunDir, RunOutput, RunWriter, TextSpec,
    RUN_SCHEMA_VERSION,
};
use crate::training::LmTraining;
use crate::{Result, TrainError};

/// Everything that makes a language-model run.
#[derive(Clone, Debug, PartialEq)]
pub struct LmRecipe {
    /// The model; its `vocab_size` comes from the data.
    pub model: LmConfig,
    /// How texts become token ids (numbered `lm`: `<unk>`, `<eos>`, then first-seen).
    pub text: TextSpec,
    /// How labelled files are read (plain `.txt` files are one document a line).
    pub read: ReadSpec,
    /// How it trains.
    pub training: LmTraining,
}

/// What [`LmRecipe::run`] did.
pub struct LmRun {
    /// How training went.
    pub fit: FitSummary<LmRecords>,
    /// Every record of the run (`metrics.jsonl`).
    pub records: Vec<Record<LmRecords>>,
    /// The vocabulary's size.
    pub vocab_size: usize,
    /// Tokens of the training stream.
    pub train_tokens: usize,
}

/// The documents of `path` as a stream of token ids.
fn documents(
    path: &Path,
    recipe: &LmRecipe,
    vocab: Option<&Vocab>,
) -> Result<(usize, Vocab, Vec<usize>)> {
    let tokenizer = recipe.text.tokenizer;
    let docs = read_documents(
        path,
        &recipe.read,
        tokenizer,
        recipe.training.files.skip_bad_rows,
    )?;
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let plan = &recipe.training.vocab;
    let vocab = match vocab {
        Some(v) => v.clone(),
        None => lm_vocab(&refs, tokenizer, plan.min_freq, plan.max_size),
    };
    let ids = lm_ids(&refs, tokenizer, &vocab);
    Ok((docs.len(), vocab, ids))
}

impl LmRecipe {
    /// The recipe of the run in `dir`, from its `config.json`, to resume it.
    pub fn of_run(dir: &Path) -> Result<LmRecipe> {
        let cp = RunDir::new(dir).config_path();
        match RunDir::new(dir).config()? {
            RunConfig::Lm(LmRunConfig {
                model,
                text,
                data,
                training: Some(training),
                ..
            }) => Ok(LmRecipe {
                model,
                text,
                read: data,
                training,
            }),
            RunConfig::Lm(_) => Err(TrainError::run_folder(
                cp,
                "has no training block (a model saved by a program, or by an earlier recur): \
                 there is nothing to resume",
            )),
            RunConfig::Classify(_) => Err(TrainError::run_folder(
                cp,
                "a classifier run, not a language-model run",
            )),
        }
    }

    /// Refuses settings that cannot work, before anything is read or trained.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        if !(0.0..1.0).contains(&self.model.dropout) {
            return Err(TrainError::setting(
                "model.dropout",
                format!(
                    "must be a probability in [0, 1), found {}",
                    self.model.dropout
                ),
            ));
        }
        for (name, v) in [
            ("model.embed_dim", self.model.embed_dim),
            ("model.hidden_dim", self.model.hidden_dim),
            ("model.num_layers", self.model.num_layers),
            ("streams", t.streams),
            ("eval_streams", t.eval_streams),
            ("bptt", t.bptt),
        ] {
            if v == 0 {
                return Err(TrainError::setting(name, "must be at least 1"));
            }
        }
        if self.model.tied && self.model.embed_dim != self.model.hidden_dim {
            return Err(TrainError::setting(
                "model.tied",
                format!(
                    "needs the embedding width to equal the hidden size ({} vs {}): the \
                     decoder's weight is the embedding table",
                    self.model.embed_dim, self.model.hidden_dim
                ),
            ));
        }
        if t.vocab.pad_to.is_some() {
            return Err(TrainError::setting(
                "vocab.pad_to",
                "does not apply to a language model (its vocabulary is its texts')",
            ));
        }
        if self.text.max_tokens.is_some() {
            return Err(TrainError::setting(
                "text.max_tokens",
                "does not apply to a language model (it reads every token)",
            ));
        }
        if t.train.freeze_epochs > 0 {
            return Err(TrainError::setting(
                "train.freeze_epochs",
                "does not apply to a language model (it has no encoder to keep fixed)",
            ));
        }
        t.optimizer.validate()?;
        t.train.validate(t.files.valid.is_some())
    }

    /// Trains the run into `out` (or, with `resume`, continues the one there), telling
    /// `observer` what happens.
    pub fn run<B: Backend>(
        &self,
        backend: &B,
        out: &Path,
        resume: bool,
        observer: &mut (dyn Observer<LmRecords> + Send),
    ) -> Result<LmRun> {
        self.validate()?;
        let writer = RunWriter::open(out)?;
        let t = &self.training;
        let t0 = Instant::now();
        let (documents_read, vocab, train_ids) = documents(&t.files.train, self, None)?;
        let train = Streams::new(&train_ids, t.streams)?;
        let valid_ids = match &t.files.valid {
            Some(p) => Some(documents(p, self, Some(&vocab))?.2),
            None => None,
        };
        let valid = valid_ids
            .as_deref()
            .map(|ids| Streams::new(ids, t.eval_streams))
            .transpose()?;
        observer.notice(&Notice::LmData {
            documents: documents_read,
            tokens: train_ids.len(),
            streams: (train.batch(), train.rows()),
            vocab: vocab.len(),
            tokenizer: self.text.tokenizer,
            valid_tokens: valid.as_ref().map(|v| v.predictions() + v.batch()),
            seconds: t0.elapsed().as_secs_f64(),
        });
        if observer.stop_requested() {
            return Ok(LmRun {
                fit: FitSummary::not_started(),
                records: Vec::new(),
                vocab_size: vocab.len(),
                train_tokens: train_ids.len(),
            });
        }
        let model_cfg = LmConfig {
            vocab_size: vocab.len(),
            ..self.model.clone()
        };
        let mut store = ParamStore::new(backend, DType::F32);
        let model = LanguageModel::new(&mut store, model_cfg.clone(), &mut rng(t.seed))?;
        let config = RunConfig::Lm(LmRunConfig {
            version: RUN_SCHEMA_VERSION,
            model: model_cfg,
            text: self.text.clone(),
            data: self.read.clone(),
            training: Some(t.clone()),
        });
        let vocab_text = vocab_bytes(&vocab);
        if resume {
            let saved = std::fs::read(out.join("vocab.txt")).unwrap_or_default();
            if saved != vocab_text {
                return Err(TrainError::Changed {
                    dir: out.to_path_buf(),
                    what: "the vocabulary built from the training texts".into(),
                });
            }
        }
        let mut fingerprint = Fingerprint::default();
        fingerprint.add("the training texts", train_ids.iter().map(|&i| i as u64));
        if let Some(ids) = &valid_ids {
            fingerprint.add("the validation texts", ids.iter().map(|&i| i as u64));
        }
        let files = vec![
            ("config.json".to_string(), config.to_json()?),
            ("vocab.txt".to_string(), vocab_text),
        ];
        let output = RunOutput::with_writer(writer, "lm", files).with_fingerprint(fingerprint);
        let task = LanguageModeling::new(&model, train, valid.as_ref(), t.bptt)?;
        let opt = t.optimizer.build::<B>()?;
        let dropout = rng(t.seed ^ DROPOUT_SEED);
        let mut trainer =
            Trainer::new(t.train.clone(), task, store, opt, dropout).with_output(output);
        if resume {
            trainer.resume()?;
            let p = trainer.progress();
            observer.notice(&match &p.finished {
                Some(f) => Notice::AlreadyFinished(f.clone()),
                None => Notice::Resuming {
                    at: (p.epoch, p.batch, p.step),
                },
            });
        }
        let fit = trainer.fit(observer)?;
        Ok(LmRun {
            fit,
            records: trainer.records().to_vec(),
            vocab_size: vocab.len(),
            train_tokens: train_ids.len(),
        })
    }
}
