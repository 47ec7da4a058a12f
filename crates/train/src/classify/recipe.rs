//! A classifier run from start to run folder ([`ClassifyRecipe`]): the model's template,
//! how text is read, and how it trains; [`ClassifyRecipe::run`] reads the data, builds and
//! initialises the model (random, pretrained vectors, skip-gram vectors of the training
//! texts, or a language model's encoder), and trains it with the one loop, writing the run
//! folder — or resumes it from its `config.json`, checking that the data did not change.

use std::path::Path;

use recur_data::{ReadSpec, Tokenizer, VocabOrder};
use recur_layers::{rng, Classifier, ClassifierConfig, ParamStore, MAX_MEMBERS};
use recur_tensor::{Backend, CellKind, DType};

use crate::classify::data;
use crate::classify::init::{copy_encoder, init_embedding};
use crate::classify::members::MemberFolds;
use crate::classify::records::ClassifyRecords;
use crate::classify::split;
use crate::classify::task::{Classify, Datasets};
use crate::engine::observer::{FitSummary, Notice, Observer};
use crate::engine::records::Record;
use crate::engine::Trainer;
use crate::run::{
    vocab_bytes, ClassifierRunConfig, RunConfig, RunDir, RunOutput, RunWriter, TextSpec,
    RUN_SCHEMA_VERSION,
};
use crate::training::{ClassifyTraining, EmbeddingInit};
use crate::{Result, TrainError};

/// Seed of the dropout masks, from the run's seed.
pub(crate) const DROPOUT_SEED: u64 = 0x5eed_d20f;

/// Everything that makes a classifier run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRecipe {
    /// The classifier; its `vocab_size`, `num_class` and `padding_idx` come from the data.
    pub model: ClassifierConfig,
    /// How texts become token ids.
    pub text: TextSpec,
    /// How the files are read.
    pub read: ReadSpec,
    /// How it trains.
    pub training: ClassifyTraining,
}

/// What [`ClassifyRecipe::run`] did.
pub struct ClassifyRun {
    /// How training went.
    pub fit: FitSummary<ClassifyRecords>,
    /// Every record of the run (`metrics.jsonl`).
    pub records: Vec<Record<ClassifyRecords>>,
    /// The vocabulary's size.
    pub vocab_size: usize,
}

impl ClassifyRun {
    /// A run stopped before its first batch (nothing trained, nothing saved), with a
    /// vocabulary of `vocab_size` words.
    fn not_started(vocab_size: usize) -> ClassifyRun {
        ClassifyRun {
            fit: FitSummary::not_started(),
            records: Vec::new(),
            vocab_size,
        }
    }
}

impl ClassifyRecipe {
    /// The recipe of the run in `dir`, from its `config.json`, to resume it.
    pub fn of_run(dir: &Path) -> Result<ClassifyRecipe> {
        let cp = RunDir::new(dir).config_path();
        match RunDir::new(dir).config()? {
            RunConfig::Classify(ClassifierRunConfig {
                model,
                text,
                data,
                training: Some(training),
                ..
            }) => Ok(ClassifyRecipe {
                model,
                text,
                read: data,
                training,
            }),
            RunConfig::Classify(_) => Err(TrainError::run_folder(
                cp,
                "has no training block (a model saved by a program, or by an earlier recur): \
                 there is nothing to resume",
            )),
            RunConfig::Lm(_) => Err(TrainError::run_folder(
                cp,
                "a language-model run, not a classifier run",
            )),
        }
    }

    /// Starts the classifier from the language-model run `run`: its embedding and
    /// recurrent layers (so its cell, sizes and layers), its tokenizer and vocabulary.
    /// `tokenizer`: one asked for explicitly, which must then be the language model's.
    pub fn start_from_encoder(&mut self, run: &Path, tokenizer: Option<Tokenizer>) -> Result<()> {
        let not_lm =
            |why: String| TrainError::run_folder(run, format!("not a language-model run ({why})"));
        let lm = match RunDir::new(run).config() {
            Ok(RunConfig::Lm(c)) => c,
            Ok(RunConfig::Classify(_)) => return Err(not_lm("a classifier run".into())),
            Err(e) => return Err(not_lm(e.to_string())),
        };
        if let Some(t) = tokenizer.filter(|&t| t != lm.text.tokenizer) {
            return Err(TrainError::setting(
                "text.tokenizer",
                format!(
                    "must be the language model's ({}), not {t}",
                    lm.text.tokenizer
                ),
            ));
        }
        if self.model.bidirectional || self.model.proj_size > 0 {
            return Err(TrainError::setting(
                "model.bidirectional",
                "cannot start from a language model, which is unidirectional without projection",
            ));
        }
        self.model.cell_override = Some(lm.model.cell);
        self.model.num_layers = lm.model.num_layers;
        self.model.hidden_dim = lm.model.hidden_dim;
        self.model.embed_dim = lm.model.embed_dim;
        self.text.tokenizer = lm.text.tokenizer;
        self.text.vocab_order = VocabOrder::Lm;
        self.training.embeddings = EmbeddingInit::Encoder {
            run: run.to_path_buf(),
        };
        Ok(())
    }

    /// Refuses settings that cannot work, before anything is read or trained.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        for (name, p) in [
            ("model.dropout", self.model.dropout),
            ("model.embed_dropout", self.model.embed_dropout),
            ("model.fc_dropout", self.model.fc_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(TrainError::setting(
                    name,
                    format!("must be a probability in [0, 1), found {p}"),
                ));
            }
        }
        for (name, v) in [
            ("model.embed_dim", self.model.embed_dim),
            ("model.hidden_dim", self.model.hidden_dim),
            ("model.num_layers", self.model.num_layers),
        ] {
            if v == 0 {
                return Err(TrainError::setting(name, "must be at least 1"));
            }
        }
        if !(1..=MAX_MEMBERS).contains(&self.model.members) {
            return Err(TrainError::setting(
                "model.members",
                format!(
                    "must be 1 to {MAX_MEMBERS} recurrent members, found {}",
                    self.model.members
                ),
            ));
        }
        if self.model.proj_size > 0 && self.model.cell() != CellKind::Lstm {
            return Err(TrainError::setting(
                "model.proj_size",
                "needs the LSTM cell (a projection is an LSTM's)",
            ));
        }
        if let Some(f) = t.files.valid_fraction {
            if !(f > 0.0 && f < 1.0) {
                return Err(TrainError::setting(
                    "valid_fraction",
                    format!("must be between 0 and 1 (exclusive), found {f}"),
                ));
            }
        }
        if t.files.member_folds && t.files.valid.is_none() && t.files.valid_fraction.is_none() {
            return Err(TrainError::setting(
                "files.member_folds",
                "draws each member's validation fold from the training file: needs a \
                 validation fraction (valid_fraction)",
            ));
        }
        match &t.embeddings {
            EmbeddingInit::Random if self.model.freeze_embedding => {
                return Err(TrainError::setting(
                    "model.freeze_embedding",
                    "needs vectors to keep fixed (a fixed random table learns nothing)",
                ))
            }
            EmbeddingInit::SkipGram { epochs: 0 } => {
                return Err(TrainError::setting(
                    "embeddings.epochs",
                    "must be at least 1",
                ))
            }
            EmbeddingInit::Encoder { .. } => {}
            _ if t.train.freeze_epochs > 0 => {
                return Err(TrainError::setting(
                    "train.freeze_epochs",
                    "keeps a language model's encoder fixed: needs one to start from",
                ))
            }
            _ => {}
        }
        if t.vocab.max_size == Some(0) {
            return Err(TrainError::setting("vocab.max_size", "must be at least 1"));
        }
        if let Some(pad) = t
            .vocab
            .pad_to
            .filter(|&p| p == 0 || p > recur_data::MAX_VOCAB)
        {
            return Err(TrainError::setting(
                "vocab.pad_to",
                format!(
                    "must be between 1 and {} tokens, found {pad}",
                    recur_data::MAX_VOCAB
                ),
            ));
        }
        if self.text.max_tokens == Some(0) {
            return Err(TrainError::setting(
                "text.max_tokens",
                "must be at least 1 (leave it out to keep every token)",
            ));
        }
        t.optimizer.validate()?;
        t.batching.validate()?;
        let has_valid = t.files.valid.is_some() || t.files.valid_fraction.is_some();
        let mut train = t.train.clone();
        if matches!(t.embeddings, EmbeddingInit::Encoder { .. }) {
            train.frozen = vec![0];
        }
        train.validate(has_valid)
    }

    /// Trains the run into `out` (or, with `resume`, continues the one there), telling
    /// `observer` what happens.
    pub fn run<B: Backend>(
        &self,
        backend: &B,
        out: &Path,
        resume: bool,
        observer: &mut (dyn Observer<ClassifyRecords> + Send),
    ) -> Result<ClassifyRun> {
        self.validate()?;
        // the folder is checked (and locked) before anything is read or trained
        let writer = RunWriter::open(out)?;
        let encoder_run = match &self.training.embeddings {
            EmbeddingInit::Encoder { run } => Some(RunDir::new(run).load_lm(backend)?),
            _ => None,
        };
        let given_vocab = encoder_run.as_ref().map(|g| g.encoder().vocab.clone());
        let mut notice = |n: Notice| observer.notice(&n);
        let (files, seed) = (&self.training.files, self.training.seed);
        let split = split::read_split(files, &self.read, self.text.tokenizer, seed, &mut notice)?;
        let mut sized = self.clone();
        if let Some(s) = sized.size_to_split(&split) {
            notice(s.notice());
        }
        let t = &sized.training;
        let members = sized.model.members;
        let data = data::encode(
            split,
            &self.text,
            &t.vocab,
            given_vocab,
            members,
            &mut notice,
        )?;
        if observer.stop_requested() {
            return Ok(ClassifyRun::not_started(data.encoder.vocab.len()));
        }
        let mut model_cfg = sized.model.clone();
        model_cfg.vocab_size = data.encoder.vocab.len();
        model_cfg.num_class = data.classes.len();
        model_cfg.padding_idx = self.text.vocab_order.padding_idx();
        let mut store = ParamStore::new(backend, DType::F32);
        let mut model = Classifier::new(&mut store, model_cfg.clone(), &mut rng(t.seed))?;
        model.set_words(&data.encoder.vocab.words())?;
        let mut train_cfg = t.train.clone();
        if let Some(lm) = &encoder_run {
            let copied = copy_encoder(lm.store(), &mut store, model.members.len())?;
            if !resume {
                observer.notice(&Notice::Encoder {
                    run: match &t.embeddings {
                        EmbeddingInit::Encoder { run } => run.clone(),
                        _ => out.to_path_buf(),
                    },
                    recurrent: copied.len() / model.members.len() - 1,
                    freeze_epochs: train_cfg.freeze_epochs,
                });
            }
            train_cfg.frozen = copied.iter().map(|id| id.index()).collect();
        }
        if !resume {
            let padding = self.text.vocab_order.padding_idx();
            let shape = (self.model.embed_dim, padding, t.seed);
            if !init_embedding(&t.embeddings, shape, &data, &model, &mut store, observer)? {
                return Ok(ClassifyRun::not_started(data.encoder.vocab.len()));
            }
            if let Some(bag) = &model.bag {
                bag.fit_idf(&mut store, &data.train.ids)?;
            }
        }
        let mut training = t.clone();
        training.train = train_cfg.clone();
        let config = RunConfig::Classify(ClassifierRunConfig {
            version: RUN_SCHEMA_VERSION,
            model: model_cfg,
            classes: data.class_spec(),
            text: self.text.clone(),
            data: data.read.clone(),
            training: Some(training),
        });
        let vocab_text = vocab_bytes(&data.encoder.vocab);
        if resume {
            let saved = std::fs::read(out.join("vocab.txt")).unwrap_or_default();
            if saved != vocab_text {
                return Err(TrainError::Changed {
                    dir: out.to_path_buf(),
                    what: "the vocabulary built from the training data".into(),
                });
            }
        }
        let files = vec![
            ("config.json".to_string(), config.to_json()?),
            ("vocab.txt".to_string(), vocab_text),
        ];
        let output =
            RunOutput::with_writer(writer, "classify", files).with_fingerprint(data.fingerprint());
        let datasets = Datasets {
            train: data.train.clone(),
            valid: data.valid.as_ref(),
            folds: (data.folds.as_ref()).map(|f| MemberFolds::new(f, model.members.len())),
            test: data.test.as_ref(),
        };
        let task = Classify::new(&model, datasets, t.batching);
        let opt = t.optimizer.build::<B>()?;
        let dropout = rng(t.seed ^ DROPOUT_SEED);
        let mut trainer = Trainer::new(train_cfg, task, store, opt, dropout).with_output(output);
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
        Ok(ClassifyRun {
            fit,
            records: trainer.records().to_vec(),
            vocab_size: data.encoder.vocab.len(),
        })
    }
}
