//! What a caller of [`Trainer::fit`](super::Trainer::fit) hears and gets back: the
//! [`Observer`] callbacks (typed records of the task `K`), and the [`FitSummary`] with the
//! [`Ending`] of the run.

use std::path::{Path, PathBuf};

use recur_data::{Tokenizer, VocabOrder};

use crate::engine::progress::{Best, Finished};
use crate::engine::records::{EpochRecord, Records, Report};

/// What a caller hears while a run goes on. Every method has a default that does nothing.
pub trait Observer<K: Records> {
    /// An epoch starts (0-based) with `samples` samples to train on.
    fn epoch_started(&mut self, _epoch: usize, _samples: usize) {}
    /// A batch of `samples` samples was trained on.
    fn batch_done(&mut self, _samples: usize) {}
    /// A progress report.
    fn report(&mut self, _report: &Report<K::Report>) {}
    /// An epoch ended.
    fn epoch_done(&mut self, _epoch: &EpochRecord<K::Epoch>) {}
    /// A checkpoint was committed to the run folder.
    fn saved(&mut self, _dir: &Path) {}
    /// Polled after every batch (and after loading the data): true stops the run after
    /// it (saved, resumable).
    fn stop_requested(&self) -> bool {
        false
    }
    /// Something a run tells before or around training (what it read, what it did).
    fn notice(&mut self, _notice: &Notice) {}
}

/// What a run tells besides its records: what it read and prepared, and where it resumes.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Rows of `file` were skipped as bad (`first`: the first one's error).
    Skipped {
        /// The file.
        file: PathBuf,
        /// Rows skipped.
        count: usize,
        /// The first one's error.
        first: String,
    },
    /// `count` texts of the `part` (training, validation, test) were cut to `max_tokens`.
    Truncated {
        /// Which part.
        part: &'static str,
        /// Texts cut.
        count: usize,
        /// The token limit.
        max_tokens: usize,
    },
    /// A classifier's data is read and encoded.
    ClassifyData {
        /// The training file.
        train_file: PathBuf,
        /// Training, validation and test rows (with member folds: each member's).
        rows: [usize; 3],
        /// Recurrent members that each validate on a fold of their own of the training file
        /// and train on the rest (0: one validation part for the whole model).
        folds: usize,
        /// Tokens of the vocabulary, and how many of them the data gave (the rest pads it).
        vocab: (usize, usize),
        /// Its numbering.
        order: VocabOrder,
        /// Class names, and training rows of each.
        classes: Vec<(String, usize)>,
        /// Seconds it took.
        seconds: f64,
    },
    /// A language model's texts are read.
    LmData {
        /// Training documents.
        documents: usize,
        /// Training tokens.
        tokens: usize,
        /// Parallel streams, and tokens in each.
        streams: (usize, usize),
        /// Vocabulary size.
        vocab: usize,
        /// The tokenizer.
        tokenizer: Tokenizer,
        /// Validation tokens.
        valid_tokens: Option<usize>,
        /// Seconds it took.
        seconds: f64,
    },
    /// Pretrained vectors were matched to the vocabulary.
    Vectors {
        /// The vectors' file.
        file: PathBuf,
        /// Vocabulary words found, of them only lower-cased, and vocabulary size.
        found: (usize, usize, usize),
        /// Words in the file.
        file_words: usize,
        /// Seconds it took.
        seconds: f64,
    },
    /// A recipe's settings were set from the number of training rows (0 skip-gram passes:
    /// no skip-gram vectors).
    Sized {
        /// Training rows.
        rows: usize,
        /// Tokens of the training rows' texts.
        tokens: usize,
        /// Batch size.
        batch_size: usize,
        /// Learning rate.
        lr: f64,
        /// Epochs.
        epochs: usize,
        /// The vocabulary's minimum count.
        min_freq: usize,
        /// The validation metric that keeps the best epoch.
        metric: crate::Metric,
        /// Recurrent members averaged.
        members: usize,
        /// Skip-gram passes.
        skipgram_epochs: usize,
    },
    /// Skip-gram vectors were trained on the training texts.
    SkipGram {
        /// Vocabulary words.
        words: usize,
        /// Passes.
        epochs: usize,
        /// Seconds it took.
        seconds: f64,
    },
    /// Parameters were copied from a language-model run.
    Encoder {
        /// The run.
        run: PathBuf,
        /// Recurrent parameters copied (besides the embedding).
        recurrent: usize,
        /// Epochs they stay fixed.
        freeze_epochs: usize,
    },
    /// The run resumes from its checkpoint.
    Resuming {
        /// 0-based epoch, batches done in it, steps done.
        at: (usize, usize, usize),
    },
    /// The run to resume had already finished.
    AlreadyFinished(Finished),
}

/// An observer that hears nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<K: Records> Observer<K> for Silent {}

/// How a call to [`Trainer::fit`](super::Trainer::fit) ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// The run is done ([`Finished`] says why).
    Finished(Finished),
    /// Stopped by the observer; `saved`: the run folder holds a resumable checkpoint of it
    /// (false: nothing was written, e.g. an interrupt in the first epoch left a previous
    /// run in the folder as it was).
    Interrupted {
        /// A checkpoint of this run was committed.
        saved: bool,
        /// The epoch it stopped in (1-based; 0: before training).
        epoch: usize,
        /// Samples trained on in that epoch.
        samples: usize,
    },
}

/// What a call to [`Trainer::fit`](super::Trainer::fit) did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitSummary<K: Records> {
    /// How it ended.
    pub ending: Ending,
    /// Epochs completed in the whole run.
    pub epochs: usize,
    /// Samples trained on in the whole run.
    pub samples: usize,
    /// Training seconds of the whole run.
    pub train_seconds: f64,
    /// Samples trained on in this call (not before a resume).
    pub samples_this_fit: usize,
    /// Training seconds of this call.
    pub seconds_this_fit: f64,
    /// The last epoch record of this call.
    pub last: Option<EpochRecord<K::Epoch>>,
    /// The best validation epoch and value.
    pub best: Option<Best>,
    /// The run folder holds a commit of this run.
    pub saved: bool,
}

impl<K: Records> FitSummary<K> {
    /// A run stopped before its first batch (nothing trained, nothing saved).
    pub fn not_started() -> Self {
        FitSummary {
            ending: Ending::Interrupted {
                saved: false,
                epoch: 0,
                samples: 0,
            },
            epochs: 0,
            samples: 0,
            train_seconds: 0.0,
            samples_this_fit: 0,
            seconds_this_fit: 0.0,
            last: None,
            best: None,
            saved: false,
        }
    }

    /// Stopped by the observer.
    pub fn interrupted(&self) -> bool {
        matches!(self.ending, Ending::Interrupted { .. })
    }

    /// Training samples per second of this call.
    pub fn samples_per_s(&self) -> f64 {
        if self.seconds_this_fit > 0.0 {
            self.samples_this_fit as f64 / self.seconds_this_fit
        } else {
            0.0
        }
    }
}
