//! The bag's character n-grams of words: a word of weight `a` in a text adds `a · c[w, g]`
//! of each of its n-grams' rows, `c[w, ·]` the word's own sublinear TF-IDF of n-grams at
//! unit norm (checked by hand in f64); the n-grams' IDF counts a text once however many of
//! its words share an n-gram; folding the n-grams into the word rows (what ONNX exports)
//! gives the same logits; the gradient equals central finite differences; a bag without its
//! words, or given the wrong number, is refused.

mod common;

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    rng, word_char_grams, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling,
};
use recur_tensor::{CellKind, DType, Tensor};

const WORDS: [&str; 9] = ["", "", "cat", "cats", "dog", "dogs", "catalog", "do", "g"];
const V: usize = WORDS.len();
const BUCKETS: usize = 5;
const CHARS: usize = 11;
const K: usize = 3;

/// The texts the IDF is fitted on.
const CORPUS: [&[usize]; 3] = [&[2, 3, 4], &[6, 2], &[5, 5, 1]];

/// Two texts padded to 5 tokens: `cat dogs cat dogs catalog` and `do g`.
const TOKENS: [usize; 10] = [2, 5, 2, 5, 6, 7, 8, 0, 0, 0];
const LENGTHS: [usize; 2] = [5, 2];

fn config(chars: usize) -> ClassifierConfig {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, V)
        .with_cell(CellKind::Gru)
        .with_pooling(Pooling::Mean)
        .with_sizes(4, 3);
    c.num_class = K;
    c.padding_idx = Some(0);
    c.ngram_buckets = BUCKETS;
    c.char_buckets = chars;
    c
}

fn model(store: &mut ParamStore<Cpu>) -> Classifier {
    let mut m = Classifier::new(store, config(CHARS), &mut rng(5)).unwrap();
    m.set_words(&WORDS).unwrap();
    let b = m.bag.as_ref().unwrap();
    let rows = V + BUCKETS + CHARS + 1;
    let values: Vec<f64> = (0..rows * K)
        .map(|i| {
            if i / K == rows - 1 {
                0.0
            } else {
                ((i * 37 % 23) as f64 - 11.0) / 17.0
            }
        })
        .collect();
    let t = Tensor::from_f64(&Cpu, &[rows, K], &values, DType::F64).unwrap();
    store.set(b.weight, t).unwrap();
    b.fit_idf(store, &CORPUS.map(|t| t.to_vec())).unwrap();
    m
}

fn idf(df: usize, n: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// Word `w`'s n-gram coefficients `(row, c)` by hand.
fn coefficients(w: usize, idf_v: &[f64]) -> Vec<(usize, f64)> {
    let first = V + BUCKETS;
    let raw: Vec<(usize, f64)> = word_char_grams(WORDS[w], CHARS)
        .iter()
        .map(|&(g, n)| (first + g, (1.0 + (n as f64).ln()) * idf_v[first + g]))
        .collect();
    let norm = raw.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    raw.into_iter().map(|(r, x)| (r, x / norm)).collect()
}

/// Each text's `(feature, TF-IDF weight)` of its words and pairs by hand.
fn word_weights(idf_v: &[f64]) -> Vec<Vec<(usize, f64)>> {
    [&TOKENS[..5], &TOKENS[5..7]]
        .iter()
        .map(|text| common::tf_idf_by_hand(text, V, BUCKETS, idf_v))
        .collect()
}

fn bag_logits(m: &Classifier, store: &ParamStore<Cpu>) -> Vec<f64> {
    let tape = Tape::new(&Cpu);
    let heads = m
        .forward_heads(&tape, store, &TOKENS, &LENGTHS, None, None)
        .unwrap();
    tape.value(heads.bag.unwrap())
        .unwrap()
        .to_f64_vec()
        .unwrap()
}

#[test]
fn an_n_gram_counts_once_per_training_text() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(&mut store);
    let got = store
        .get(m.bag.as_ref().unwrap().idf)
        .unwrap()
        .to_f64_vec()
        .unwrap();
    assert_eq!(got.len(), V + BUCKETS + CHARS + 1);
    for g in 0..CHARS {
        let df = CORPUS
            .iter()
            .filter(|text| {
                text.iter()
                    .any(|&w| word_char_grams(WORDS[w], CHARS).iter().any(|p| p.0 == g))
            })
            .count();
        let row = V + BUCKETS + g;
        assert!((got[row] - idf(df, 3)).abs() < 1e-12, "bucket {g}: df {df}");
    }
    assert_eq!(got[V + BUCKETS + CHARS], 0.0, "the padding row");
}

#[test]
fn a_word_brings_its_n_grams_at_its_weight_and_folding_them_gives_the_same_logits() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(&mut store);
    let bag = m.bag.as_ref().unwrap();
    let table = store.get(bag.weight).unwrap().to_f64_vec().unwrap();
    let idf_v = store.get(bag.idf).unwrap().to_f64_vec().unwrap();
    let got = bag_logits(&m, &store);
    let texts = word_weights(&idf_v);
    for (r, w) in texts.iter().enumerate() {
        for k in 0..K {
            let mut want = 0.0;
            for &(f, a) in w {
                want += a * table[f * K + k];
                if f < V {
                    for (row, c) in coefficients(f, &idf_v) {
                        want += a * c * table[row * K + k];
                    }
                }
            }
            assert!((got[r * K + k] - want).abs() < 1e-12, "text {r} class {k}");
        }
    }
    // the folded table: one row per word and pair bucket, and the padding row
    let (folded, folded_idf) = bag.folded(&store).unwrap();
    assert_eq!(folded.len(), (V + BUCKETS + 1) * K);
    assert_eq!(folded_idf.len(), V + BUCKETS + 1);
    assert_eq!(folded_idf[..V + BUCKETS], idf_v[..V + BUCKETS]);
    for (r, w) in texts.iter().enumerate() {
        for k in 0..K {
            let want: f64 = w.iter().map(|&(f, a)| a * folded[f * K + k]).sum();
            assert!((got[r * K + k] - want).abs() < 1e-12, "folded: text {r}");
        }
    }
    // the n-grams matter: the words and pairs alone give other logits
    let alone: f64 = texts[0].iter().map(|&(f, a)| a * table[f * K]).sum();
    assert!((alone - got[0]).abs() > 1e-3);
}

#[test]
fn the_gradient_reaches_the_n_gram_rows_and_equals_finite_differences() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(&mut store);
    let (g, fd) = common::bag_gradient_and_differences(&m, &mut store, &TOKENS, &LENGTHS, &[2, 0]);
    // the padding row (zero, read by padding) gets no gradient, as nn.Embedding's
    // padding_idx: every other element's gradient is the loss's slope
    for (i, (gi, di)) in g.iter().zip(&fd).enumerate() {
        assert!((di - gi).abs() < 1e-8, "element {i}: {di} vs {gi}");
    }
    let pad = (V + BUCKETS + CHARS) * K;
    let chars = &g[(V + BUCKETS) * K..pad];
    assert!(chars.iter().any(|&x| x != 0.0), "the n-gram rows learn");
    assert!(g[pad..].iter().all(|&x| x == 0.0));
}

#[test]
fn a_bag_without_its_words_or_with_the_wrong_number_is_refused() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let mut m = Classifier::new(&mut store, config(CHARS), &mut rng(5)).unwrap();
    let tape = Tape::new(&Cpu);
    let e = m
        .forward(&tape, &store, &TOKENS, &LENGTHS, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("set_words"), "{e}");
    let e = m.set_words(&WORDS[..4]).unwrap_err().to_string();
    assert!(
        e.contains("4 words") && e.contains("vocabulary of 9"),
        "{e}"
    );
    // the n-grams are the bag's: a model with them and no bag is refused
    let mut c = config(CHARS);
    c.ngram_buckets = 0;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("char_buckets") && e.contains("no bag"), "{e}");
}
