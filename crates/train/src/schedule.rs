//! Learning-rate schedules: constant, linear or cosine decay over the run (with linear
//! warmup, the Hugging Face formulas), and reduce-on-plateau (PyTorch's
//! `ReduceLROnPlateau`, as Flair's anneal), golden-tested against PyTorch.

use serde::{Deserialize, Serialize};

/// Which schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The base rate throughout (after warmup).
    Constant,
    /// Linear decay to 0 at the last step.
    Linear,
    /// Cosine decay to 0 at the last step.
    Cosine,
    /// Multiply by `factor` when the validation metric has not improved for more than
    /// `patience` epochs.
    Plateau,
}

impl ScheduleKind {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::Linear => "linear",
            ScheduleKind::Cosine => "cosine",
            ScheduleKind::Plateau => "plateau",
        }
    }
}

impl std::str::FromStr for ScheduleKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            ScheduleKind::Constant,
            ScheduleKind::Linear,
            ScheduleKind::Cosine,
            ScheduleKind::Plateau,
        ]
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or_else(|| {
            format!("unknown schedule {s:?}: expected constant, linear, cosine or plateau")
        })
    }
}

/// A schedule's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The schedule.
    pub kind: ScheduleKind,
    /// Steps of linear warmup from 0 (`lr · step / warmup`).
    pub warmup_steps: usize,
    /// Plateau: the factor the rate is multiplied by.
    pub factor: f64,
    /// Plateau: epochs without improvement tolerated before reducing.
    pub patience: usize,
    /// Plateau: relative improvement that counts (PyTorch's default 1e-4).
    pub threshold: f64,
}

impl Default for ScheduleConfig {
    /// Constant, no warmup; plateau settings as Flair's anneal (factor 0.5, patience 3).
    fn default() -> Self {
        ScheduleConfig {
            kind: ScheduleKind::Constant,
            warmup_steps: 0,
            factor: 0.5,
            patience: 3,
            threshold: 1e-4,
        }
    }
}

/// A schedule in progress (saved in checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Its settings.
    pub config: ScheduleConfig,
    /// The rate it starts from.
    pub base_lr: f64,
    /// Steps of the whole run (the decay schedules end at 0 there).
    pub total_steps: usize,
    /// Plateau: the current rate before warmup.
    pub plateau_lr: f64,
    /// Plateau: the best metric so far.
    pub best: Option<f64>,
    /// Plateau: epochs since the last improvement.
    pub bad_epochs: usize,
}

impl Schedule {
    /// A schedule from `base_lr` over `total_steps` optimizer steps.
    pub fn new(config: ScheduleConfig, base_lr: f64, total_steps: usize) -> Schedule {
        Schedule {
            config,
            base_lr,
            total_steps,
            plateau_lr: base_lr,
            best: None,
            bad_epochs: 0,
        }
    }

    /// The rate of optimizer step `step` (0-based: the number of steps already taken), as
    /// PyTorch's schedulers give it when `scheduler.step()` follows each `optimizer.step()`.
    pub fn lr(&self, step: usize) -> f64 {
        let w = self.config.warmup_steps;
        if step < w {
            let base = match self.config.kind {
                ScheduleKind::Plateau => self.plateau_lr,
                _ => self.base_lr,
            };
            return base * (step as f64 / w.max(1) as f64);
        }
        let progress = || (step - w) as f64 / self.total_steps.saturating_sub(w).max(1) as f64;
        match self.config.kind {
            ScheduleKind::Constant => self.base_lr,
            ScheduleKind::Linear => {
                let left = self.total_steps.saturating_sub(step) as f64;
                self.base_lr * (left / self.total_steps.saturating_sub(w).max(1) as f64).max(0.0)
            }
            ScheduleKind::Cosine => {
                self.base_lr * (0.5 * (1.0 + (std::f64::consts::PI * progress()).cos())).max(0.0)
            }
            ScheduleKind::Plateau => self.plateau_lr,
        }
    }

    /// Feeds an epoch's validation metric (`higher_is_better` says its direction); a plateau
    /// schedule may lower its rate. Returns true when it did.
    pub fn on_epoch(&mut self, metric: f64, higher_is_better: bool) -> bool {
        if self.config.kind != ScheduleKind::Plateau {
            return false;
        }
        // PyTorch's rel threshold: max mode m > best·(1 + t); min mode m < best·(1 − t)
        let t = self.config.threshold;
        let better = match self.best {
            None => true,
            Some(best) if higher_is_better => metric > best * (1.0 + t),
            Some(best) => metric < best * (1.0 - t),
        };
        if better {
            self.best = Some(metric);
            self.bad_epochs = 0;
            return false;
        }
        self.bad_epochs += 1;
        if self.bad_epochs > self.config.patience {
            self.bad_epochs = 0;
            let new = self.plateau_lr * self.config.factor;
            if self.plateau_lr - new > 1e-8 {
                self.plateau_lr = new;
                return true;
            }
        }
        false
    }
}
