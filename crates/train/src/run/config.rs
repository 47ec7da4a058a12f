//! `config.json`, typed and versioned ([`RunConfig`]): the task, the model, how texts
//! become token ids ([`TextSpec`]), the classes ([`ClassSpec`]), how the training files
//! were read, and how the run was trained. Unknown keys are refused with their name
//! (`read.rs` parses every version).

use std::path::Path;

use recur_data::{Classes, LabelMap, ReadSpec, Tokenizer, VocabOrder, AG_NEWS_CLASSES};
use recur_layers::{ClassifierConfig, LmConfig};
use serde::{Deserialize, Serialize};

use crate::run::output::RUN_SCHEMA_VERSION;
use crate::training::{ClassifyTraining, LmTraining};
use crate::{Result, TrainError};

/// How a run turns text into token ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// How `vocab.txt` is numbered (which ids `<unk>` and padding have).
    pub vocab_order: VocabOrder,
    /// Tokens kept per text (the first ones); `None`: all.
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

impl TextSpec {
    /// Text read by `tokenizer` into `vocab`'s ids (its own numbering, so the two cannot
    /// disagree), every token kept.
    pub fn of(tokenizer: Tokenizer, vocab: &recur_data::Vocab) -> TextSpec {
        TextSpec {
            tokenizer,
            vocab_order: vocab.order(),
            max_tokens: None,
        }
    }
}

/// A classifier's classes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// Class names, index = class.
    pub names: Vec<String>,
    /// How labels as written map to classes.
    pub labels: LabelMap,
}

impl ClassSpec {
    /// AG News's four classes, integer labels from 1.
    pub fn ag_news() -> ClassSpec {
        ClassSpec {
            names: AG_NEWS_CLASSES.iter().map(|s| s.to_string()).collect(),
            labels: LabelMap::Integer { base: 1 },
        }
    }

    /// The classes, for mapping the labels of a file.
    pub fn classes(&self) -> Result<Classes> {
        Ok(Classes::new(self.names.clone(), self.labels)?)
    }
}

/// `config.json` of a classifier run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierRunConfig {
    /// The run-folder schema version.
    pub version: u32,
    /// The classifier.
    pub model: ClassifierConfig,
    /// Its classes.
    pub classes: ClassSpec,
    /// How texts become token ids.
    pub text: TextSpec,
    /// How the training files were read, reused for files of the same shape.
    #[serde(default)]
    pub data: ReadSpec,
    /// How the run was trained (absent for models saved by a program or imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<ClassifyTraining>,
}

/// `config.json` of a language-model run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmRunConfig {
    /// The run-folder schema version.
    pub version: u32,
    /// The language model.
    pub model: LmConfig,
    /// How texts become token ids.
    pub text: TextSpec,
    /// How the training files were read.
    #[serde(default)]
    pub data: ReadSpec,
    /// How the run was trained (absent for models saved by a program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<LmTraining>,
}

impl ClassifierRunConfig {
    /// The config of a classifier `model` made by a program: classes `names` (labels in
    /// files are these names), text read by `tokenizer` into `vocab`'s ids (its own
    /// numbering, so the two cannot disagree), every token kept, no training block.
    pub fn new(
        model: ClassifierConfig,
        names: Vec<String>,
        tokenizer: Tokenizer,
        vocab: &recur_data::Vocab,
    ) -> ClassifierRunConfig {
        ClassifierRunConfig {
            version: RUN_SCHEMA_VERSION,
            model,
            classes: ClassSpec {
                names,
                labels: LabelMap::Names,
            },
            text: TextSpec::of(tokenizer, vocab),
            data: ReadSpec::default(),
            training: None,
        }
    }
}

impl LmRunConfig {
    /// The config of a language `model` made by a program: text read by `tokenizer` into
    /// `vocab`'s ids (its own numbering, so the two cannot disagree), every token kept, no
    /// training block.
    pub fn new(model: LmConfig, tokenizer: Tokenizer, vocab: &recur_data::Vocab) -> LmRunConfig {
        LmRunConfig {
            version: RUN_SCHEMA_VERSION,
            model,
            text: TextSpec::of(tokenizer, vocab),
            data: ReadSpec::default(),
            training: None,
        }
    }

    /// Steps per window when evaluating: the training's, else PyTorch's example's 35.
    pub fn bptt(&self) -> usize {
        self.training.as_ref().map_or(35, |t| t.bptt)
    }
}

/// `config.json`, by task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "lowercase")]
// read once a run and matched by value everywhere: the classifier's larger training block
// costs a few hundred bytes, not a box at every match
#[allow(clippy::large_enum_variant)]
pub enum RunConfig {
    /// A text classifier.
    Classify(ClassifierRunConfig),
    /// A language model.
    Lm(LmRunConfig),
}

impl RunConfig {
    /// The task's name (`classify`, `lm`).
    pub fn task(&self) -> &'static str {
        match self {
            RunConfig::Classify(_) => "classify",
            RunConfig::Lm(_) => "lm",
        }
    }

    /// How texts become token ids.
    pub fn text(&self) -> &TextSpec {
        match self {
            RunConfig::Classify(c) => &c.text,
            RunConfig::Lm(c) => &c.text,
        }
    }

    /// The vocabulary size the model's embedding has.
    pub fn vocab_size(&self) -> usize {
        match self {
            RunConfig::Classify(c) => c.model.vocab_size,
            RunConfig::Lm(c) => c.model.vocab_size,
        }
    }

    /// Pretty JSON, as written to `config.json`.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| TrainError::Invalid(format!("serializing config.json: {e}")))
    }

    /// Checks what the parts say against each other.
    pub fn check(&self, path: &Path) -> Result<()> {
        match self {
            RunConfig::Classify(c) => {
                if c.classes.names.len() != c.model.num_class {
                    return Err(TrainError::run_folder(
                        path,
                        format!(
                            "{} class names for num_class {}",
                            c.classes.names.len(),
                            c.model.num_class
                        ),
                    ));
                }
                c.model
                    .validate()
                    .map_err(|e| TrainError::run_folder(path, e.to_string()))?;
            }
            RunConfig::Lm(c) => {
                c.model
                    .validate()
                    .map_err(|e| TrainError::run_folder(path, e.to_string()))?;
                if c.text.vocab_order != VocabOrder::Lm {
                    return Err(TrainError::run_folder(
                        path,
                        format!(
                            "a language model's vocabulary is numbered \"lm\", not {:?}",
                            c.text.vocab_order.name()
                        ),
                    ));
                }
            }
        }
        if self.text().max_tokens == Some(0) {
            return Err(TrainError::run_folder(
                path,
                "text.max_tokens must be at least 1 (leave it out to keep every token)",
            ));
        }
        Ok(())
    }
}
