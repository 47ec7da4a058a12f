//! What the bag's tests share: a text's TF-IDF weights by hand, and the bag's gradient
//! beside finite differences.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{bigram_bucket, Classifier, ParamStore, BAG_GAIN};
use recur_tensor::{DType, Tensor};

/// The gradient of the bag head's cross-entropy (`labels` of the padded batch `tokens`,
/// `lengths`) on every element of `bag.weight`, row-major, beside its central finite
/// difference (step 1e-6) in f64.
pub fn bag_gradient_and_differences(
    m: &Classifier,
    store: &mut ParamStore<Cpu>,
    tokens: &[usize],
    lengths: &[usize],
    labels: &[usize],
) -> (Vec<f64>, Vec<f64>) {
    let id = m.bag.as_ref().expect("a model with a bag").weight;
    let loss = |store: &ParamStore<Cpu>| {
        let tape = Tape::new(&Cpu);
        let heads = m
            .forward_heads(&tape, store, tokens, lengths, None, None)
            .unwrap();
        let loss = tape.cross_entropy(heads.bag.unwrap(), labels).unwrap();
        (tape, loss)
    };
    let (tape, l) = loss(store);
    let grads = tape.backward(l).unwrap();
    let g = grads
        .dense(id.index())
        .unwrap()
        .unwrap()
        .to_f64_vec()
        .unwrap();
    let base = store.get(id).unwrap().to_f64_vec().unwrap();
    let shape = store.get(id).unwrap().shape().to_vec();
    let mut value_at = |i: usize, delta: f64| {
        let mut v = base.clone();
        v[i] += delta;
        store
            .set(id, Tensor::from_f64(&Cpu, &shape, &v, DType::F64).unwrap())
            .unwrap();
        let (tape, l) = loss(store);
        tape.value(l).unwrap().scalar().unwrap()
    };
    let h = 1e-6;
    let fd = (0..base.len())
        .map(|i| (value_at(i, h) - value_at(i, -h)) / (2.0 * h))
        .collect();
    (g, fd)
}

/// The `(feature, weight)` of `text`'s words and word pairs (a vocabulary of `vocab`,
/// `buckets` pair buckets) by hand: `(1 + ln count) · idf`, at L2 norm [`BAG_GAIN`].
pub fn tf_idf_by_hand(
    text: &[usize],
    vocab: usize,
    buckets: usize,
    idf: &[f64],
) -> Vec<(usize, f64)> {
    let mut counts = std::collections::BTreeMap::new();
    for &t in text {
        *counts.entry(t).or_insert(0usize) += 1;
    }
    for p in text.windows(2) {
        *counts
            .entry(vocab + bigram_bucket(p[0], p[1], buckets))
            .or_insert(0) += 1;
    }
    let w: Vec<(usize, f64)> = counts
        .iter()
        .map(|(&f, &n)| (f, (1.0 + (n as f64).ln()) * idf[f]))
        .collect();
    let norm = w.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    w.into_iter()
        .map(|(f, x)| (f, BAG_GAIN * x / norm))
        .collect()
}
