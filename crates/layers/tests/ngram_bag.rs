//! The classifier's n-gram bag: its logits are the sum of its rows over each text's words
//! and word pairs divided by √(2L − 1), added to the recurrent part's (checked by hand in
//! f64); its gradient equals central finite differences; the inference path
//! (`forward_tabled`) gives the training path's logits; the padding row never moves.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{bag_rows, rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling};
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
    }
    m
}

/// Two texts padded to 4 tokens: lengths 4 and 2.
const TOKENS: [usize; 8] = [1, 7, 3, 8, 2, 5, 0, 0];
const LENGTHS: [usize; 2] = [4, 2];

fn logits(m: &Classifier, store: &ParamStore<Cpu>) -> Vec<f64> {
    let tape = Tape::new(&Cpu);
    let l = m.forward(&tape, store, &TOKENS, &LENGTHS, None).unwrap();
    tape.value(l).unwrap().to_f64_vec().unwrap()
}

#[test]
fn the_bag_adds_its_normalised_rows_to_the_logits() {
    let mut with = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut with);
    let mut without = ParamStore::new(&Cpu, DType::F64);
    let plain = model(false, &mut without);
    let bag = m.bag.as_ref().unwrap();
    let table = with.get(bag.weight).unwrap().to_f64_vec().unwrap();
    let (ids, counts) = bag_rows(&TOKENS, &LENGTHS, V, BUCKETS);
    assert_eq!(counts, vec![7, 3]);
    let (a, b) = (logits(&m, &with), logits(&plain, &without));
    let width = ids.len() / 2;
    for r in 0..2 {
        for k in 0..3 {
            let sum: f64 = ids[r * width..(r + 1) * width]
                .iter()
                .map(|&row| table[row * 3 + k])
                .sum();
            let want = b[r * 3 + k] + sum / (counts[r] as f64).sqrt();
            assert!((a[r * 3 + k] - want).abs() < 1e-12, "row {r} class {k}");
        }
    }
    // inference through the input table gives the same logits
    let tape = Tape::new(&Cpu);
    let table = m.input_table(&with).unwrap();
    let l = m
        .forward_tabled(&tape, &with, &table, &TOKENS, &LENGTHS)
        .unwrap();
    let tabled = tape.value(l).unwrap().to_f64_vec().unwrap();
    for (x, y) in tabled.iter().zip(&a) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
}

#[test]
fn the_bag_gradient_equals_finite_differences_and_spares_the_padding_row() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(true, &mut store);
    let id = m.bag.as_ref().unwrap().weight;
    let labels = [2usize, 0];
    let loss = |store: &ParamStore<Cpu>| {
        let tape = Tape::new(&Cpu);
        let l = m.forward(&tape, store, &TOKENS, &LENGTHS, None).unwrap();
        let loss = tape.cross_entropy(l, &labels).unwrap();
        (tape, loss)
    };
    let (tape, l) = loss(&store);
    let grads = tape.backward(l).unwrap();
    let g = grads
        .dense(id.index())
        .unwrap()
        .unwrap()
        .to_f64_vec()
        .unwrap();
    let base = store.get(id).unwrap().to_f64_vec().unwrap();
    let shape = store.get(id).unwrap().shape().to_vec();
    let value_at = |store: &mut ParamStore<Cpu>, i: usize, delta: f64| {
        let mut v = base.clone();
        v[i] += delta;
        store
            .set(id, Tensor::from_f64(&Cpu, &shape, &v, DType::F64).unwrap())
            .unwrap();
        let (tape, l) = loss(store);
        tape.value(l).unwrap().scalar().unwrap()
    };
    let h = 1e-6;
    let pad = (V + BUCKETS) * 3;
    // the padding row (zero, read by padding) gets no gradient, as nn.Embedding's
    // padding_idx: every other element's gradient is the loss's slope
    for (i, &gi) in g.iter().enumerate().take(pad) {
        let fd = (value_at(&mut store, i, h) - value_at(&mut store, i, -h)) / (2.0 * h);
        assert!((fd - gi).abs() < 1e-8, "element {i}: {fd} vs {gi}");
    }
    assert!(g[pad..pad + 3].iter().all(|&x| x == 0.0));
}
