//! The record types of classification ([`ClassifyRecords`]): what a batch counts (the
//! correct predictions), the progress report's and the epoch record's fields, and the
//! evaluation after an epoch, with the lines the loop prints of them.

use serde::{Deserialize, Serialize};

use crate::classify::scores::Evaluation;
use crate::engine::progress::EpochStats;
use crate::engine::records::{EpochRecord, Records, Report};

/// The record types of classification.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassifyRecords;

/// Correct training predictions of an epoch so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyTally {
    /// Correct predictions.
    pub correct: usize,
}

/// A classifier's progress report fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifyReport {
    /// Running training accuracy of the epoch.
    pub train_accuracy: f64,
}

/// A classifier's epoch record fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifyEpoch {
    /// Running training accuracy of the epoch.
    pub train_accuracy: f64,
    /// Validation accuracy.
    #[serde(default)]
    pub valid_accuracy: Option<f64>,
    /// Validation macro-F1.
    #[serde(default)]
    pub valid_macro_f1: Option<f64>,
    /// Test accuracy.
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    /// Mean test loss.
    #[serde(default)]
    pub test_loss: Option<f64>,
}

/// Validation and test results after an epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifyEval {
    /// On the validation data.
    pub valid: Option<Evaluation>,
    /// On the test data.
    pub test: Option<Evaluation>,
}

impl Records for ClassifyRecords {
    type Tally = ClassifyTally;
    type Report = ClassifyReport;
    type Epoch = ClassifyEpoch;
    type Eval = ClassifyEval;

    fn add(total: &mut ClassifyTally, batch: &ClassifyTally) {
        total.correct += batch.correct;
    }

    /// The lesson's line: samples so far and the running accuracy.
    fn report_line(r: &Report<ClassifyReport>) -> String {
        format!("{}: acc={}", r.samples, r.task.train_accuracy)
    }

    fn epoch_line(e: &EpochRecord<ClassifyEpoch>) -> String {
        let t = &e.task;
        let valid = match (e.valid_loss, t.valid_accuracy, t.valid_macro_f1) {
            (Some(l), Some(a), Some(f)) => format!(
                "valid loss {l:.4} acc {a:.4} macro-F1 {f:.4}{}, ",
                if e.best { " (best)" } else { "" }
            ),
            _ => String::new(),
        };
        format!(
            "epoch {}: mean loss {:.4}, running train acc {:.4}, {valid}test acc {}, {:.0} \
             samples/s ({} samples in {:.1}s)",
            e.epoch,
            e.train_loss,
            t.train_accuracy,
            t.test_accuracy
                .map_or("-".to_string(), |t| format!("{t:.4}")),
            e.samples_per_s,
            e.samples,
            e.seconds
        )
    }

    fn report(stats: &EpochStats<ClassifyTally>) -> ClassifyReport {
        ClassifyReport {
            train_accuracy: stats.tally.correct as f64 / stats.samples.max(1) as f64,
        }
    }

    fn epoch(stats: &EpochStats<ClassifyTally>, eval: &ClassifyEval) -> ClassifyEpoch {
        ClassifyEpoch {
            train_accuracy: stats.tally.correct as f64 / stats.samples.max(1) as f64,
            valid_accuracy: eval.valid.as_ref().map(|v| v.scores.accuracy()),
            valid_macro_f1: eval.valid.as_ref().map(|v| v.scores.macro_f1()),
            test_accuracy: eval.test.as_ref().map(|t| t.scores.accuracy()),
            test_loss: eval.test.as_ref().map(|t| t.loss),
        }
    }
}
