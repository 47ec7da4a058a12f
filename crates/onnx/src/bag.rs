//! The classifier's TF-IDF bag as ONNX nodes ([`bag_logits`]), computing what
//! `recur_layers::NgramBag` computes from `ids [batch, time]` and `lengths [batch]`: each
//! row's words and its word pairs' buckets (`(a · 116049371 + b) mod N`, offset by `V`), each
//! feature's count among the row's own features, the weights `(1 + ln count) · idf` at unit
//! L2 norm over the distinct features, and their sum over the rows of `bag.weight` (with
//! each word's character n-grams folded into its row by `NgramBag::folded`).

use recur_layers::{NgramBag, ParamStore, BAG_GAIN};
use recur_tensor::Backend;

use crate::graph::{f32_tensor, i64_tensor, int, Graph};
use crate::proto::data_type;
use crate::recurrent::Params;
use crate::{OnnxError, Result};

/// fastText's multiplier of word-pair hashes (`recur_layers::bigram_bucket`).
const PAIR_MULTIPLIER: i64 = 116_049_371;

/// Adds the logits `[batch, K]` of `bag` (its parameters in `store`) of the graph inputs
/// `ids` and `lengths` to `g`; the name of its output.
pub fn bag_logits<B: Backend>(
    g: &mut Graph,
    bag: &NgramBag,
    store: &ParamStore<B>,
) -> Result<String> {
    let (vocab, buckets) = (bag.vocab, bag.buckets);
    let (w, idf) = bag
        .folded(store)
        .map_err(|e| OnnxError::Model(format!("the bag: {e}")))?;
    let rows = vocab + buckets + 1;
    let k = w.len() / rows;
    let w: Vec<f32> = w.iter().map(|&x| x as f32).collect();
    let idf: Vec<f32> = idf.iter().map(|&x| x as f32).collect();
    let table = g.init(f32_tensor("bag.weight", &[rows, k], &w));
    let idf = g.init(f32_tensor("bag.idf", &[rows], &idf));
    let (axes_0, axes_1, axes_2) = (
        g.i64s("axes_0", &[0]),
        g.i64s("axes_1", &[1]),
        g.i64s("axes_2", &[2]),
    );
    // positions [1, T] and lengths [B, 1]
    let shape = g.node("Shape", &["ids"], vec![]);
    let one = g.init(i64_tensor("bag.one", &[], &[1]));
    let zero = g.init(i64_tensor("bag.zero", &[], &[0]));
    let t = g.node("Gather", &[&shape, &one], vec![int("axis", 0)]);
    let range = g.node("Range", &[&zero, &t, &one], vec![]);
    let pos = g.node("Unsqueeze", &[&range, &axes_0], vec![]);
    let lens = g.node("Unsqueeze", &["lengths", &axes_1], vec![]);
    let word_ok = g.node("Less", &[&pos, &lens], vec![]);
    // pairs (ids[:, i], ids[:, i + 1]), real when i + 1 < length
    let (starts_0, starts_1) = (g.i64s("bag.starts_0", &[0]), g.i64s("bag.starts_1", &[1]));
    let (ends_last, ends_max) = (
        g.i64s("bag.ends_last", &[-1]),
        g.i64s("bag.ends_max", &[i64::MAX]),
    );
    let first = g.node("Slice", &["ids", &starts_0, &ends_last, &axes_1], vec![]);
    let second = g.node("Slice", &["ids", &starts_1, &ends_max, &axes_1], vec![]);
    let mult = g.init(i64_tensor("bag.pair_multiplier", &[], &[PAIR_MULTIPLIER]));
    let n = g.init(i64_tensor("bag.buckets", &[], &[buckets as i64]));
    let v = g.init(i64_tensor("bag.vocab", &[], &[vocab as i64]));
    let hash = g.node("Mul", &[&first, &mult], vec![]);
    let hash = g.node("Add", &[&hash, &second], vec![]);
    let bucket = g.node("Mod", &[&hash, &n], vec![]);
    let pair = g.node("Add", &[&bucket, &v], vec![]);
    let pair_pos = g.node("Slice", &[&pos, &starts_1, &ends_max, &axes_1], vec![]);
    let pair_ok = g.node("Less", &[&pair_pos, &lens], vec![]);
    // features [B, 2T − 1] and their mask (1: the row's own)
    let features = g.node("Concat", &["ids", &pair], vec![int("axis", 1)]);
    let ok = g.node("Concat", &[&word_ok, &pair_ok], vec![int("axis", 1)]);
    let mask = g.node("Cast", &[&ok], vec![int("to", data_type::FLOAT as i64)]);
    // each feature's count among the row's own features: [B, F, F] equalities, masked
    let column = g.node("Unsqueeze", &[&features, &axes_2], vec![]);
    let row = g.node("Unsqueeze", &[&features, &axes_1], vec![]);
    let equal = g.node("Equal", &[&column, &row], vec![]);
    let equal = g.node("Cast", &[&equal], vec![int("to", data_type::FLOAT as i64)]);
    let mask_row = g.node("Unsqueeze", &[&mask, &axes_1], vec![]);
    let equal = g.node("Mul", &[&equal, &mask_row], vec![]);
    let count = g.node("ReduceSum", &[&equal, &axes_2], vec![int("keepdims", 0)]);
    let one_f = g.init(f32_tensor("bag.one_f", &[], &[1.0]));
    let count = g.node("Max", &[&count, &one_f], vec![]);
    // weight (1 + ln count) · idf of each position; a feature at c positions counts once
    let log = g.node("Log", &[&count], vec![]);
    let tf = g.node("Add", &[&log, &one_f], vec![]);
    let idf_rows = g.node("Gather", &[&idf, &features], vec![int("axis", 0)]);
    let weight = g.node("Mul", &[&tf, &idf_rows], vec![]);
    let weight = g.node("Mul", &[&weight, &mask], vec![]);
    let squares = g.node("Mul", &[&weight, &weight], vec![]);
    let squares = g.node("Div", &[&squares, &count], vec![]);
    let norm = g.node("ReduceSum", &[&squares, &axes_1], vec![int("keepdims", 1)]);
    let norm = g.node("Sqrt", &[&norm], vec![]);
    let gain = g.init(f32_tensor("bag.gain", &[], &[BAG_GAIN as f32]));
    let coef = g.node("Div", &[&weight, &count], vec![]);
    let coef = g.node("Div", &[&coef, &norm], vec![]);
    let coef = g.node("Mul", &[&coef, &gain], vec![]);
    // Σ coef · bag.weight[feature]: [B, 1, F] × [B, F, K]
    let coef = g.node("Unsqueeze", &[&coef, &axes_1], vec![]);
    let rows = g.node("Gather", &[&table, &features], vec![int("axis", 0)]);
    let logits = g.node("MatMul", &[&coef, &rows], vec![]);
    Ok(g.node("Squeeze", &[&logits, &axes_1], vec![]))
}

/// `(1 − m) · recurrent + m · bag` (`m`: `bag.mix`), the classifier's logits.
pub fn mix(g: &mut Graph, params: &Params, recurrent: &str, bag: &str) -> Result<String> {
    let m = params
        .get("bag.mix")?
        .1
        .first()
        .copied()
        .unwrap_or(f32::NAN);
    if !(0.0..=1.0).contains(&m) {
        return Err(OnnxError::Model(format!(
            "bag.mix: expected a share in [0, 1], found {m}"
        )));
    }
    let keep = g.init(f32_tensor("bag.recurrent_share", &[], &[1.0 - m]));
    let share = g.init(f32_tensor("bag.share", &[], &[m]));
    let recurrent = g.node("Mul", &[recurrent, &keep], vec![]);
    let bag = g.node("Mul", &[bag, &share], vec![]);
    Ok(g.node("Add", &[&recurrent, &bag], vec![]))
}
