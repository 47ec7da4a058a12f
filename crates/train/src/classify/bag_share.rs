//! The bag's share of a classifier's logits, chosen on validation data: the largest share
//! the validation rows cannot tell from the lowest-loss one ([`choose_bag_share`]), on one
//! validation part or on members' folds.

use recur_autograd::Tape;
use recur_data::Encoded;
use recur_layers::{Heads, ParamStore};
use recur_tensor::Backend;

use crate::classify::eval::{over_data, over_folds, row_losses};
use crate::classify::members::MemberFolds;
use crate::classify::model::Model;
use crate::{Result, TrainError};

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
    let batches = over_data(
        model,
        store,
        data,
        batch_size,
        "validation",
        &|tape, batch| {
            let heads = model.heads(tape, store, batch, None, None)?;
            HeadRows::of(tape, &heads, &batch.labels)
        },
    )?;
    HeadRows::gather(batches).share(model.num_classes())
}

/// [`choose_bag_share`] on member folds of `data` (the training examples): each member's
/// own heads judge its own fold (`over_folds`).
pub fn choose_bag_share_folds<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    folds: &MemberFolds,
    batch_size: usize,
) -> Result<f64> {
    let k = model.num_classes();
    let batches = over_folds(
        model,
        store,
        data,
        folds,
        batch_size,
        &|tape, heads, batch| HeadRows::of(tape, &heads, &batch.labels),
    )?;
    HeadRows::gather(batches).share(k)
}

/// The recurrent and bag logits `[N, K]` of validation rows, with their labels `[N]`.
#[derive(Default)]
struct HeadRows {
    recurrent: Vec<f32>,
    bag: Vec<f32>,
    labels: Vec<usize>,
}

impl HeadRows {
    /// A batch's heads (a model with a bag) and labels.
    fn of<B: Backend>(tape: &Tape<B>, heads: &Heads, labels: &[usize]) -> Result<HeadRows> {
        let Some(b) = heads.bag else {
            return Err(TrainError::Invalid(
                "the model has no bag whose share of the logits could be chosen".into(),
            ));
        };
        Ok(HeadRows {
            recurrent: tape.value(heads.recurrent)?.to_f32_vec()?,
            bag: tape.value(b)?.to_f32_vec()?,
            labels: labels.to_vec(),
        })
    }

    /// The rows of `batches`, in order.
    fn gather(batches: Vec<HeadRows>) -> HeadRows {
        let mut rows = HeadRows::default();
        for b in batches {
            rows.recurrent.extend(b.recurrent);
            rows.bag.extend(b.bag);
            rows.labels.extend(b.labels);
        }
        rows
    }

    /// The bag's share these rows choose (see [`choose_bag_share`]), for `k` classes.
    fn share(&self, k: usize) -> Result<f64> {
        let (recurrent, bag) = (&self.recurrent, &self.bag);
        let n = self.labels.len().max(1) as f64;
        // each share's row losses
        let losses: Vec<(f64, Vec<f64>)> = BAG_SHARES
            .iter()
            .map(|&m| {
                let mixed: Vec<f32> = recurrent
                    .iter()
                    .zip(bag.iter())
                    .map(|(&r, &b)| ((1.0 - m) * f64::from(r) + m * f64::from(b)) as f32)
                    .collect();
                (m, row_losses(&mixed, &self.labels, k))
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
}
