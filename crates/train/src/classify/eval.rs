//! Evaluation: a model's confusion matrix and mean cross-entropy on a dataset, and the
//! scores derived from the matrix (accuracy, macro-F1, per-class precision/recall/F1).

use recur_autograd::Tape;
use recur_data::{collate, Encoded, Loader, LoaderConfig};
use recur_layers::ParamStore;
use recur_tensor::Backend;
use serde::{Deserialize, Serialize};

use crate::classify::model::Model;
use crate::{Result, TrainError};

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

/// Each row's cross-entropy `logsumexp(row) − row[label]` of `logits [N, K]` against
/// `labels [N]` (each below `k`), in f64.
fn row_losses(logits: &[f32], labels: &[usize], k: usize) -> Vec<f64> {
    logits
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &t)| {
            let max = row
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
            let sum: f64 = row.iter().map(|&x| (f64::from(x) - max).exp()).sum();
            max + sum.ln() - f64::from(row[t])
        })
        .collect()
}

/// Row-wise argmax of `[B, K]` logits (the first maximum; NaN never wins).
pub fn argmax_rows(logits: &[f32], k: usize) -> Vec<usize> {
    logits
        .chunks_exact(k)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
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

/// The logits of every example of `data`, in order, run in batches of `batch_size` (no
/// gradients, no dropout): `[N, K]` row-major.
pub fn predict_logits<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(data.len() * model.num_classes());
    for idx in Loader::new(data.len(), LoaderConfig::in_order(batch_size), 0)?.batches() {
        let batch = collate(data, idx)?;
        let tape = Tape::no_grad(store.backend());
        let logits = model.logits(&tape, store, &batch, None)?;
        out.extend(tape.value(logits)?.to_f32_vec()?);
    }
    Ok(out)
}

/// The bag's shares of a classifier's logits that [`choose_bag_share`] tries.
pub const BAG_SHARES: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// The bag's share of `model`'s logits, chosen on `data` (the validation data) among
/// [`BAG_SHARES`]: the largest share whose rows' cross-entropy exceeds the lowest-loss
/// share's by at most one standard error of the excess (paired over the same rows). Both
/// heads run once over `data` in batches of `batch_size`, and every share mixes their
/// logits. The cross-entropy, not the run's metric, chooses: it is a proper score of the
/// mixed probabilities and separates shares that accuracy ties. The standard error is the
/// one-standard-error rule's: among mixes the validation data cannot tell apart, the one
/// leaning most on the bag, the simpler model (linear, convex), wins. The rows are paired
/// (every share is scored on the same texts), so the test is on each row's difference:
/// the spread of the losses themselves, which is mostly how hard each text is, would call
/// mixes alike that the data does tell apart.
pub fn choose_bag_share<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<f64> {
    let k = model.num_classes();
    check_examples(data, k, "validation")?;
    let (mut recurrent, mut bag) = (Vec::new(), Vec::new());
    for idx in Loader::new(data.len(), LoaderConfig::in_order(batch_size), 0)?.batches() {
        let batch = collate(data, idx)?;
        let tape = Tape::no_grad(store.backend());
        let heads = model.heads(&tape, store, &batch, None, None)?;
        let Some(b) = heads.bag else {
            return Err(TrainError::Invalid(
                "the model has no bag whose share of the logits could be chosen".into(),
            ));
        };
        recurrent.extend(tape.value(heads.recurrent)?.to_f32_vec()?);
        bag.extend(tape.value(b)?.to_f32_vec()?);
    }
    let n = data.len().max(1) as f64;
    // each share's row losses
    let losses: Vec<(f64, Vec<f64>)> = BAG_SHARES
        .iter()
        .map(|&m| {
            let mixed: Vec<f32> = recurrent
                .iter()
                .zip(&bag)
                .map(|(&r, &b)| ((1.0 - m) * f64::from(r) + m * f64::from(b)) as f32)
                .collect();
            (m, row_losses(&mixed, &data.labels, k))
        })
        .collect();
    let mean = |l: &[f64]| l.iter().sum::<f64>() / n;
    let best = losses
        .iter()
        .map(|(m, l)| (*m, mean(l), l))
        .filter(|(_, l, _)| l.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| {
            TrainError::NonFinite(
                "every mix of the heads has a non-finite validation loss: the parameters hold \
                 NaN or infinity"
                    .into(),
            )
        })?;
    // a share the data cannot tell from the best: its rows' excess loss over the best's
    // is within one standard error of zero (the rows are paired: the same texts)
    let within = |l: &[f64]| {
        let d: Vec<f64> = l.iter().zip(best.2).map(|(a, b)| a - b).collect();
        let m = mean(&d);
        let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        m.is_finite() && m <= (var / n).sqrt()
    };
    let share = losses
        .iter()
        .filter(|(_, l)| within(l))
        .map(|s| s.0)
        .fold(best.0, f64::max);
    Ok(share)
}

/// Refuses examples a classifier of `k` classes cannot train or be scored on: a label
/// outside `0..k` or a text with no token, naming the `part` (training, evaluation), the
/// example and the label.
pub(crate) fn check_examples(data: &Encoded, k: usize, part: &str) -> Result<()> {
    if data.labels.len() != data.ids.len() {
        return Err(TrainError::Invalid(format!(
            "the {part} data has {} labels for {} texts",
            data.labels.len(),
            data.ids.len()
        )));
    }
    if let Some(i) = data.labels.iter().position(|&l| l >= k) {
        return Err(TrainError::Invalid(format!(
            "{part} example {i}: label {} is outside the model's {k} classes (labels are \
             0-based classes, 0..={})",
            data.labels[i],
            k.saturating_sub(1)
        )));
    }
    if let Some(i) = data.ids.iter().position(Vec::is_empty) {
        return Err(TrainError::Invalid(format!(
            "{part} example {i} has no token"
        )));
    }
    Ok(())
}

/// Runs `model` over `data` in file order, `batch_size` rows at a time, without gradients.
/// A label outside the model's classes, or a non-finite loss, is an error.
pub fn evaluate<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<Evaluation> {
    let k = model.num_classes();
    check_examples(data, k, "evaluation")?;
    let mut confusion = vec![vec![0; k]; k];
    let mut loss_sum = 0.0;
    for idx in Loader::new(data.len(), LoaderConfig::in_order(batch_size), 0)?.batches() {
        let batch = collate(data, idx)?;
        let tape = Tape::no_grad(store.backend());
        let logits = model.logits(&tape, store, &batch, None)?;
        let loss = tape.cross_entropy(logits, &batch.labels)?;
        loss_sum += tape.value(loss)?.scalar()? * batch.len() as f64;
        let preds = argmax_rows(&tape.value(logits)?.to_f32_vec()?, k);
        for (&t, &p) in batch.labels.iter().zip(&preds) {
            confusion[t][p] += 1;
        }
    }
    let loss = loss_sum / data.len().max(1) as f64;
    if !loss.is_finite() {
        return Err(TrainError::NonFinite(format!(
            "the evaluation loss is {loss}: the parameters hold NaN or infinity"
        )));
    }
    Ok(Evaluation {
        scores: Scores { confusion },
        loss,
    })
}
