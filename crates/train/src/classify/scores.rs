//! What an evaluation gives: a confusion matrix and the scores derived from it (accuracy,
//! macro-F1, per-class precision/recall/F1), the mean cross-entropy beside it, and the
//! validation [`Metric`] that chooses the best epoch.

use serde::{Deserialize, Serialize};

/// A confusion matrix and the scores derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scores {
    /// `confusion[true][predicted]`, `[K, K]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Scores {
    /// Fraction of correct predictions (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.confusion.iter().flatten().sum();
        let correct: usize = (0..self.confusion.len())
            .map(|i| self.confusion[i][i])
            .sum();
        if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        }
    }

    /// Mean F1 over the classes that occur among the true or the predicted labels
    /// (scikit-learn's `f1_score(average="macro")`).
    pub fn macro_f1(&self) -> f64 {
        let k = self.confusion.len();
        let f1: Vec<f64> = self
            .per_class()
            .iter()
            .enumerate()
            .filter(|(c, (_, _, _, support))| {
                *support > 0 || (0..k).any(|t| self.confusion[t][*c] > 0)
            })
            .map(|(_, (_, _, f, _))| *f)
            .collect();
        if f1.is_empty() {
            0.0
        } else {
            f1.iter().sum::<f64>() / f1.len() as f64
        }
    }

    /// `(precision, recall, f1, support)` per class (0 where undefined).
    pub fn per_class(&self) -> Vec<(f64, f64, f64, usize)> {
        let k = self.confusion.len();
        let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
        (0..k)
            .map(|c| {
                let tp = self.confusion[c][c] as f64;
                let predicted: usize = (0..k).map(|t| self.confusion[t][c]).sum();
                let support: usize = self.confusion[c].iter().sum();
                let (p, r) = (ratio(tp, predicted), ratio(tp, support));
                let f1 = if p + r == 0.0 {
                    0.0
                } else {
                    2.0 * p * r / (p + r)
                };
                (p, r, f1, support)
            })
            .collect()
    }
}

/// Scores and mean cross-entropy of a model on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The confusion matrix and what derives from it.
    pub scores: Scores,
    /// Mean cross-entropy loss per example.
    pub loss: f64,
}

impl Evaluation {
    /// The value of `metric`.
    pub fn metric(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Accuracy => self.scores.accuracy(),
            Metric::MacroF1 => self.scores.macro_f1(),
            Metric::Loss => self.loss,
        }
    }
}

/// The validation metric that selects the best model, stops early and drives the plateau
/// schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Accuracy (higher is better).
    #[default]
    Accuracy,
    /// Macro-F1 (higher is better).
    MacroF1,
    /// Mean cross-entropy (lower is better).
    Loss,
}

impl Metric {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro-f1",
            Metric::Loss => "loss",
        }
    }

    /// True for accuracy and F1, false for the loss.
    pub fn higher_is_better(self) -> bool {
        self != Metric::Loss
    }

    /// True when `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [Metric::Accuracy, Metric::MacroF1, Metric::Loss]
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown metric {s:?}: expected accuracy, macro-f1 or loss"))
    }
}
