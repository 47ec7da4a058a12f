//! Where a run is: the position in the epoch, counters, the running statistics of the
//! epoch, the dropout generator, the schedule and the early-stopping state — everything
//! `checkpoint/state.json` holds so that a resumed run continues bit-identically.

use rand::SeedableRng;
use recur_layers::Rng;
use serde::{Deserialize, Serialize};

use crate::Schedule;

/// A ChaCha8 generator's exact state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Running statistics of the epoch in progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Sum of the batch-mean losses.
    pub loss_sum: f64,
    /// Correct training predictions.
    pub correct: usize,
    /// Samples seen.
    pub count: usize,
    /// Batches seen.
    pub batches: usize,
    /// The sample count of the next progress report.
    pub next_report: usize,
    /// Seconds spent in this epoch so far.
    pub seconds: f64,
}

/// The best validation result so far.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// 1-based epoch.
    pub epoch: usize,
    /// The metric's value.
    pub value: f64,
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
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
    pub stats: EpochStats,
    /// The dropout generator.
    pub dropout_rng: RngState,
    /// The learning-rate schedule (created when training starts).
    pub schedule: Option<Schedule>,
    /// The best validation result.
    pub best: Option<Best>,
    /// Epochs since it.
    pub bad_epochs: usize,
    /// Why the run ended (`None` while it can continue).
    pub finished: Option<String>,
}

impl Progress {
    /// The start of a run whose dropout masks draw from `dropout_rng`.
    pub fn start(dropout_rng: &Rng, report_every: usize) -> Progress {
        Progress {
            epoch: 0,
            batch: 0,
            step: 0,
            samples: 0,
            train_seconds: 0.0,
            stats: EpochStats {
                next_report: report_every,
                ..EpochStats::default()
            },
            dropout_rng: RngState::of(dropout_rng),
            schedule: None,
            best: None,
            bad_epochs: 0,
            finished: None,
        }
    }
}
