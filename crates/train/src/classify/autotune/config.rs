//! How long a search runs ([`AutotuneConfig`]).

use serde::{Deserialize, Serialize};

use crate::{Result, TrainError};

/// How long a search runs: a time budget, a number of trials, or both (whichever ends
/// first). With trials alone, a seed always gives the same search and the same model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutotuneConfig {
    /// Seconds of searching (reading, pretraining and training every trial); a trial
    /// running when they are spent stops there and counts with its best epoch so far.
    pub budget_seconds: Option<f64>,
    /// Trials at most.
    pub trials: Option<usize>,
}

impl AutotuneConfig {
    /// Refuses a budget that is not a positive number of seconds, zero trials, or neither.
    pub fn validate(&self) -> Result<()> {
        if let Some(b) = self.budget_seconds {
            if !(b.is_finite() && b > 0.0) {
                return Err(TrainError::setting(
                    "autotune.budget_seconds",
                    format!("must be a positive number of seconds, found {b}"),
                ));
            }
        }
        if self.trials == Some(0) {
            return Err(TrainError::setting("autotune.trials", "must be at least 1"));
        }
        if self.budget_seconds.is_none() && self.trials.is_none() {
            return Err(TrainError::setting(
                "autotune",
                "needs a time budget or a number of trials",
            ));
        }
        Ok(())
    }
}
