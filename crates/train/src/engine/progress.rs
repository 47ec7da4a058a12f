//! Where a run is: the position in the epoch, counters, the running statistics of the
//! epoch, the dropout generator, the schedule, the best result and why the run ended —
//! everything `checkpoint/state.json` holds so that a resumed run continues bit-identically.

use rand::SeedableRng;
use recur_layers::Rng;
use serde::{Deserialize, Serialize};

use crate::Schedule;

/// A ChaCha8 generator's exact state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngState {
    /// The 32-byte seed.
    pub seed: [u8; 32],
    /// The stream.
    pub stream: u64,
    /// The position in the stream, in 32-bit words (a decimal string: it is a `u128`).
    pub word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &Rng) -> RngState {
        RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator in this state.
    pub fn restore(&self) -> Result<Rng, String> {
        let pos: u128 = self
            .word_pos
            .parse()
            .map_err(|_| format!("word_pos {:?} is not a number", self.word_pos))?;
        let mut rng = Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(pos);
        Ok(rng)
    }
}

/// Running statistics of the epoch in progress; `T` is what the task counts besides the
/// loss (e.g. correct predictions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochStats<T> {
    /// Sum of the batch-mean losses.
    pub loss_sum: f64,
    /// Batches seen.
    pub batches: usize,
    /// Samples seen.
    pub samples: usize,
    /// The count (in the task's report unit) of the next progress report.
    pub next_report: usize,
    /// Seconds spent in this epoch so far.
    pub seconds: f64,
    /// Sum of the batch-mean losses since the last report.
    pub interval_loss_sum: f64,
    /// Batches since the last report.
    pub interval_batches: usize,
    /// Training seconds since the last report.
    pub interval_seconds: f64,
    /// The task's own counts.
    pub tally: T,
}

impl<T: Default> EpochStats<T> {
    /// The start of an epoch whose first report comes at `report_every`.
    pub fn start(report_every: usize) -> Self {
        EpochStats {
            loss_sum: 0.0,
            batches: 0,
            samples: 0,
            next_report: report_every,
            seconds: 0.0,
            interval_loss_sum: 0.0,
            interval_batches: 0,
            interval_seconds: 0.0,
            tally: T::default(),
        }
    }

    /// Mean batch loss of the epoch so far (0 before the first batch).
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.batches.max(1) as f64
    }
}

/// The best validation result so far.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Best {
    /// 1-based epoch.
    pub epoch: usize,
    /// The value that chose it.
    pub value: f64,
}

/// Why a run ended before it could go on (kept in the checkpoint: a finished run is not
/// resumed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case", deny_unknown_fields)]
pub enum Finished {
    /// Every epoch was trained.
    Completed {
        /// Epochs trained.
        epochs: usize,
    },
    /// The sample limit was reached.
    Limit {
        /// Samples trained on.
        samples: usize,
    },
    /// The validation result stopped improving.
    EarlyStop {
        /// What was compared (`accuracy`, `loss`, …).
        metric: String,
        /// Epochs without improvement tolerated.
        patience: usize,
        /// The best epoch (1-based).
        best_epoch: usize,
    },
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finished::Completed { epochs } => write!(f, "trained {epochs} epochs"),
            Finished::Limit { samples } => {
                write!(f, "reached the sample limit after {samples} samples")
            }
            Finished::EarlyStop {
                metric,
                patience,
                best_epoch,
            } => write!(
                f,
                "early stop: no validation {metric} improvement for {patience} epochs (best: \
                 epoch {best_epoch})"
            ),
        }
    }
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress<T> {
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Batches done in it.
    pub batch: usize,
    /// Optimizer steps done in the run.
    pub step: usize,
    /// Samples trained on in the run.
    pub samples: usize,
    /// Training seconds of the run.
    pub train_seconds: f64,
    /// The epoch in progress.
    pub stats: EpochStats<T>,
    /// The dropout generator.
    pub dropout_rng: RngState,
    /// The learning-rate schedule (created when training starts).
    pub schedule: Option<Schedule>,
    /// The best validation result.
    pub best: Option<Best>,
    /// Epochs since it.
    pub bad_epochs: usize,
    /// Why the run ended (`None` while it can continue).
    pub finished: Option<Finished>,
}

impl<T: Default> Progress<T> {
    /// The start of a run whose dropout masks draw from `dropout_rng`.
    pub fn start(dropout_rng: &Rng, report_every: usize) -> Self {
        Progress {
            epoch: 0,
            batch: 0,
            step: 0,
            samples: 0,
            train_seconds: 0.0,
            stats: EpochStats::start(report_every),
            dropout_rng: RngState::of(dropout_rng),
            schedule: None,
            best: None,
            bad_epochs: 0,
            finished: None,
        }
    }
}
