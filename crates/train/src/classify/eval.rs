//! Evaluation: a model run over a dataset without gradients, its batches in parallel, to
//! its logits ([`predict_logits`]) or its scores and mean cross-entropy ([`evaluate`]; on
//! member folds, [`evaluate_folds`]).

use rayon::prelude::*;
use recur_autograd::{Tape, Var};
use recur_data::{collate, Batch, Encoded, Loader, LoaderConfig};
use recur_layers::{Heads, ParamStore};
use recur_tensor::Backend;

use crate::classify::members::MemberFolds;
use crate::classify::model::Model;
use crate::classify::scores::{Evaluation, Scores};
use crate::{Result, TrainError};

/// Each row's cross-entropy `logsumexp(row) − row[label]` of `logits [N, K]` against
/// `labels [N]` (each below `k`), in f64.
pub(crate) fn row_losses(logits: &[f32], labels: &[usize], k: usize) -> Vec<f64> {
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

/// The logits of every example of `data`, in order, run in batches of `batch_size` (no
/// gradients, no dropout; texts of like length batched together unless
/// [`Model::reads_padding`]): `[N, K]` row-major.
pub fn predict_logits<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let k = model.num_classes();
    let loader = eval_order(model, data, (0..data.len()).collect(), batch_size)?;
    let logits = per_batch(store, data, &loader, &|tape, batch| {
        let logits = model.logits(tape, store, batch, None)?;
        Ok(tape.value(logits)?.to_f32_vec()?)
    })?;
    let mut out = vec![0.0; data.len() * k];
    for (idx, logits) in loader.batches().zip(logits) {
        if logits.len() != idx.len() * k {
            return Err(TrainError::Invalid(format!(
                "the model gave {} logits for {} texts of {k} classes",
                logits.len(),
                idx.len()
            )));
        }
        for (&i, row) in idx.iter().zip(logits.chunks_exact(k)) {
            out[i * k..(i + 1) * k].copy_from_slice(row);
        }
    }
    Ok(out)
}

/// The evaluation batches of `batch_size` over the examples `rows` of `data`: texts of like
/// length together (`Loader::by_length`), or in the given order for a model whose logits
/// depend on a batch's padding ([`Model::reads_padding`]).
fn eval_order<B: Backend, M: Model<B>>(
    model: &M,
    data: &Encoded,
    rows: Vec<usize>,
    batch_size: usize,
) -> Result<Loader> {
    Ok(match model.reads_padding() {
        true => Loader::over(rows, LoaderConfig::in_order(batch_size), 0)?,
        false => Loader::by_length(data, rows, batch_size)?,
    })
}

/// `f` of each batch of `loader` over `data`, each batch on a no-grad tape of its own, the
/// batches in parallel on the current rayon pool; the results in batch order.
fn per_batch<B: Backend, R: Send>(
    store: &ParamStore<B>,
    data: &Encoded,
    loader: &Loader,
    f: &(dyn Fn(&Tape<B>, &Batch) -> Result<R> + Sync),
) -> Result<Vec<R>> {
    let batches: Vec<&[usize]> = loader.batches().collect();
    batches
        .par_iter()
        .map(|idx| {
            let batch = collate(data, idx)?;
            f(&Tape::no_grad(store.backend()), &batch)
        })
        .collect()
}

/// What [`over_folds`] gives each member's heads of a batch to: the tape, the member's own
/// heads and the batch; what it returns is collected.
type FoldVisit<'a, B, R> = dyn Fn(&Tape<B>, Heads, &Batch) -> Result<R> + Sync + 'a;

/// Runs each recurrent member `i` of `model` over its validation fold `folds.valid[i]` of
/// `data` (the training examples), `batch_size` rows at a time (batches in parallel),
/// without gradients, and gives `visit` each member's own heads of each batch (its
/// recurrent logits and its bag table's, `[B, K]`) with the batch: every row is judged by
/// the member that did not train on it. `visit`'s results come back member by member, each
/// member's in batch order.
pub(crate) fn over_folds<B: Backend, M: Model<B>, R: Send>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    folds: &MemberFolds,
    batch_size: usize,
    visit: &FoldVisit<'_, B, R>,
) -> Result<Vec<R>> {
    let k = model.num_classes();
    check_examples(data, k, "validation")?;
    let members = model.members();
    if folds.valid.len() != members {
        return Err(TrainError::Invalid(format!(
            "{} validation folds for a model of {members} members: one each",
            folds.valid.len()
        )));
    }
    let mut out = Vec::new();
    for (i, fold) in folds.valid.iter().enumerate() {
        let loader = eval_order(model, data, fold.clone(), batch_size)?;
        out.extend(per_batch(store, data, &loader, &|tape, batch| {
            let own = model.member_heads(tape, store, i, batch, None, None)?;
            visit(tape, own, batch)
        })?);
    }
    Ok(out)
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

/// `f` of each batch of every example of `data`, checked first against the model's classes
/// (`part` names the data in the error), batched by [`eval_order`] and run by
/// [`per_batch`]; the results in batch order.
pub(crate) fn over_data<B: Backend, M: Model<B>, R: Send>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
    part: &str,
    f: &(dyn Fn(&Tape<B>, &Batch) -> Result<R> + Sync),
) -> Result<Vec<R>> {
    check_examples(data, model.num_classes(), part)?;
    let loader = eval_order(model, data, (0..data.len()).collect(), batch_size)?;
    per_batch(store, data, &loader, f)
}

/// Runs `model` over `data`, `batch_size` rows at a time (like lengths together unless
/// [`Model::reads_padding`]), without gradients. A label outside the model's classes, or a
/// non-finite loss, is an error.
pub fn evaluate<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    batch_size: usize,
) -> Result<Evaluation> {
    let scored = over_data(
        model,
        store,
        data,
        batch_size,
        "evaluation",
        &|tape, batch| {
            let logits = model.logits(tape, store, batch, None)?;
            Scored::of(tape, logits, &batch.labels)
        },
    )?;
    tally(model.num_classes(), scored)
}

/// [`evaluate`] on member folds of `data` (the training examples): each row judged by the
/// member that validates on it, its recurrent logits and its bag table's mixed as the
/// model mixes its heads (`over_folds`).
pub fn evaluate_folds<B: Backend, M: Model<B>>(
    model: &M,
    store: &ParamStore<B>,
    data: &Encoded,
    folds: &MemberFolds,
    batch_size: usize,
) -> Result<Evaluation> {
    let scored = over_folds(
        model,
        store,
        data,
        folds,
        batch_size,
        &|tape, heads, batch| {
            let logits = model.mix(tape, store, heads)?;
            Scored::of(tape, logits, &batch.labels)
        },
    )?;
    tally(model.num_classes(), scored)
}

/// One batch scored: its summed cross-entropy and each row's label and prediction.
struct Scored {
    loss_sum: f64,
    labels: Vec<usize>,
    preds: Vec<usize>,
}

impl Scored {
    /// A batch's `logits [B, K]` against its `labels [B]`.
    fn of<B: Backend>(tape: &Tape<B>, logits: Var, labels: &[usize]) -> Result<Scored> {
        let loss = tape.cross_entropy(logits, labels)?;
        let values = tape.value(logits)?.to_f32_vec()?;
        let k = values.len() / labels.len().max(1);
        Ok(Scored {
            loss_sum: tape.value(loss)?.scalar()? * labels.len() as f64,
            labels: labels.to_vec(),
            preds: argmax_rows(&values, k.max(1)),
        })
    }
}

/// The evaluation of `scored` batches of a `k`-class model: the confusion matrix and the
/// mean cross-entropy; a non-finite loss is an error.
fn tally(k: usize, scored: Vec<Scored>) -> Result<Evaluation> {
    let mut confusion = vec![vec![0; k]; k];
    let (mut loss_sum, mut rows) = (0.0, 0);
    for s in scored {
        loss_sum += s.loss_sum;
        rows += s.labels.len();
        for (&t, &p) in s.labels.iter().zip(&s.preds) {
            confusion[t][p] += 1;
        }
    }
    let loss = loss_sum / rows.max(1) as f64;
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
