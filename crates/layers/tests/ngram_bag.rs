//! The classifier's n-gram bag: its head is logistic regression on each text's TF-IDF
//! (sublinear counts × the IDF fitted on training texts, at unit L2 norm) of words and
//! word pairs (checked by hand in f64); the classifier mixes it with the recurrent head as
//! `(1 − m) · recurrent + m · bag`; its gradient equals central finite differences; the
//! inference path (`forward_tabled`) gives the training path's logits; the padding row
//! never moves.

mod common;

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    bag_features, bigram_bucket, rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling,
};
use recur_tensor::{CellKind, DType, Tensor};

const V: usize = 9;
const BUCKETS: usize = 5;

fn model(bag: bool, store: &mut ParamStore<Cpu>) -> Classifier {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, V)
        .with_cell(CellKind::Gru)
        .with_pooling(Pooling::Mean)
        .with_sizes(4, 3)
        .with_bidirectional();
    c.num_class = 3;
    c.ngram_buckets = if bag { BUCKETS } else { 0 };
    let m = Classifier::new(store, c, &mut rng(5)).unwrap();
    if let Some(b) = &m.bag {
        // a bag with an opinion: every row but the padding row set
        let rows = V + BUCKETS + 1;
        let values: Vec<f64> = (0..rows * 3)
            .map(|i| {
                if i / 3 == rows - 1 {
                    0.0
                } else {
                    ((i * 37 % 23) as f64 - 11.0) / 17.0
                }
            })
            .collect();
        let t = Tensor::from_f64(&Cpu, &[rows, 3], &values, DType::F64).unwrap();
        store.set(b.weight, t).unwrap();
        b.fit_idf(store, &CORPUS.map(|t| t.to_vec())).unwrap();
        b.set_share(store, 0.3).unwrap();
    }
    m
}

/// The texts the IDF is fitted on.
const CORPUS: [&[usize]; 3] = [&[1, 7, 3], &[1, 2], &[4, 4, 4]];

/// Two texts padded to 5 tokens: `1 7 1 7 3` (word and pair repeats) and `2 5`.
const TOKENS: [usize; 10] = [1, 7, 1, 7, 3, 2, 5, 0, 0, 0];
const LENGTHS: [usize; 2] = [5, 2];

fn logits(m: &Classifier, store: &ParamStore<Cpu>) -> Vec<f64> {
    let tape = Tape::new(&Cpu);
    let l = m.forward(&tape, store, &TOKENS, &LENGTHS, None).unwrap();
    tape.value(l).unwrap().to_f64_vec().unwrap()
}

/// scikit-learn's smoothed IDF of a feature in `df` of `n` texts.
fn idf(df: usize, n: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

#[test]
fn the_idf_counts_each_feature_once_per_training_text() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut store);
    let got = store
        .get(m.bag.as_ref().unwrap().idf)
        .unwrap()
        .to_f64_vec()
        .unwrap();
    assert_eq!(got.len(), V + BUCKETS + 1);
    assert!((got[1] - idf(2, 3)).abs() < 1e-12);
    assert!((got[4] - idf(1, 3)).abs() < 1e-12, "repeats count once");
    assert!((got[8] - idf(0, 3)).abs() < 1e-12);
    assert_eq!(got[V + BUCKETS], 0.0, "the padding row");
    // a pair bucket counts the texts with a pair in it (pairs may share a bucket)
    let b44 = bigram_bucket(4, 4, BUCKETS);
    let df44 = CORPUS
        .iter()
        .filter(|t| {
            t.windows(2)
                .any(|p| bigram_bucket(p[0], p[1], BUCKETS) == b44)
        })
        .count();
    assert!(df44 >= 1);
    assert!((got[V + b44] - idf(df44, 3)).abs() < 1e-12);
}

#[test]
fn the_bag_head_is_logistic_regression_on_tf_idf_and_the_logits_mix_the_heads() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut store);
    let bag = m.bag.as_ref().unwrap();
    let table = store.get(bag.weight).unwrap().to_f64_vec().unwrap();
    let idf_v = store.get(bag.idf).unwrap().to_f64_vec().unwrap();
    let tape = Tape::new(&Cpu);
    let heads = m
        .forward_heads(&tape, &store, &TOKENS, &LENGTHS, None, None)
        .unwrap();
    let rec = tape.value(heads.recurrent).unwrap().to_f64_vec().unwrap();
    let got = tape
        .value(heads.bag.unwrap())
        .unwrap()
        .to_f64_vec()
        .unwrap();
    for (r, text) in [&TOKENS[..5], &TOKENS[5..7]].iter().enumerate() {
        let w = common::tf_idf_by_hand(text, V, BUCKETS, &idf_v);
        for k in 0..3 {
            let want: f64 = w.iter().map(|&(f, x)| x * table[f * 3 + k]).sum();
            assert!((got[r * 3 + k] - want).abs() < 1e-12, "text {r} class {k}");
        }
    }
    // the classifier's logits: 0.7 of the recurrent head's plus 0.3 of the bag's
    let mixed = logits(&m, &store);
    for i in 0..6 {
        let want = 0.7 * rec[i] + 0.3 * got[i];
        assert!((mixed[i] - want).abs() < 1e-12, "{i}");
    }
    // a model without a bag gives the recurrent head alone (same draws)
    let mut without = ParamStore::new(&Cpu, DType::F64);
    let plain = model(false, &mut without);
    for (x, y) in logits(&plain, &without).iter().zip(&rec) {
        assert!((x - y).abs() < 1e-12);
    }
    // inference through the input table gives the same logits
    let tape = Tape::new(&Cpu);
    let table = m.input_table(&store).unwrap();
    let l = m
        .forward_tabled(&tape, &store, &table, &TOKENS, &LENGTHS)
        .unwrap();
    let tabled = tape.value(l).unwrap().to_f64_vec().unwrap();
    for (x, y) in tabled.iter().zip(&mixed) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
    // features: the first text's word 1 twice, the padding after the second's three
    let f = bag_features(&TOKENS, &LENGTHS, V, BUCKETS, V + BUCKETS);
    assert_eq!(f.rows[0], 1);
    assert_eq!(f.counts[0], 2);
    assert!(f.counts[f.width + 3..].iter().all(|&n| n == 0));
    assert!(f.rows[f.width + 3..].iter().all(|&r| r == V + BUCKETS));
}

#[test]
fn a_share_outside_zero_to_one_is_refused() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut store);
    let bag = m.bag.as_ref().unwrap();
    for bad in [-0.1, 1.5, f64::NAN] {
        let e = bag.set_share(&mut store, bad).unwrap_err().to_string();
        assert!(e.contains("[0, 1]"), "{e}");
    }
    // a run folder with a bad share is refused when the logits are computed
    store
        .set(
            bag.mix,
            Tensor::from_f64(&Cpu, &[1], &[2.0], DType::F64).unwrap(),
        )
        .unwrap();
    let tape = Tape::new(&Cpu);
    let e = m
        .forward(&tape, &store, &TOKENS, &LENGTHS, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bag.mix"), "{e}");
}

#[test]
fn the_bag_gradient_equals_finite_differences_and_spares_the_padding_row() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut store);
    let (g, fd) = common::bag_gradient_and_differences(&m, &mut store, &TOKENS, &LENGTHS, &[2, 0]);
    // the padding row (zero, read by padding) gets no gradient, as nn.Embedding's
    // padding_idx: every other element's gradient is the loss's slope
    for (i, (gi, di)) in g.iter().zip(&fd).enumerate() {
        assert!((di - gi).abs() < 1e-8, "element {i}: {di} vs {gi}");
    }
    let pad = (V + BUCKETS) * 3;
    assert!(g[pad..].iter().all(|&x| x == 0.0));
}
