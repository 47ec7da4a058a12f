//! The classifier's two heads: each learns on its own loss (the training loss is the sum of
//! the recurrent head's and the bag's cross-entropies, and neither head's parameters get the
//! other's gradient), and the bag's share of the logits is chosen on validation data by
//! cross-entropy with the one-standard-error rule (on each text's difference: the rows are
//! paired), leaning on the bag where the data cannot tell the mixes apart.

use std::sync::Arc;

use recur_autograd::{Tape, Var};
use recur_cpu::Cpu;
use recur_data::{collate, Batch, Encoded};
use recur_layers::{rng, Classifier, ClassifierConfig, Heads, ModelKind, ParamStore, Pooling, Rng};
use recur_tensor::{CellKind, DType, Tensor};
use recur_train::{
    choose_bag_share, Classify, ClassifyBatch, ClassifyConfig, Datasets, Model, Task,
};

fn data() -> Encoded {
    let mut e = Encoded::default();
    for i in 0..6 {
        e.ids
            .push((0..2 + i % 3).map(|t| 1 + (i * 3 + t) % 9).collect());
        e.labels.push(i % 3);
    }
    e
}

fn model(store: &mut ParamStore<Cpu>) -> Classifier {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 10)
        .with_cell(CellKind::Gru)
        .with_pooling(Pooling::Mean)
        .with_sizes(4, 3);
    c.num_class = 3;
    c.ngram_buckets = 7;
    let m = Classifier::new(store, c, &mut rng(2)).unwrap();
    let bag = m.bag.as_ref().unwrap();
    // a bag with an opinion
    let rows = 10 + 7 + 1;
    let w: Vec<f64> = (0..rows * 3)
        .map(|i| {
            if i / 3 == rows - 1 {
                0.0
            } else {
                ((i * 7 % 11) as f64 - 5.0) / 9.0
            }
        })
        .collect();
    store
        .set(
            bag.weight,
            Tensor::from_f64(&Cpu, &[rows, 3], &w, DType::F64).unwrap(),
        )
        .unwrap();
    bag.fit_idf(store, &data().ids).unwrap();
    m
}

#[test]
fn each_head_learns_on_its_own_loss() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(&mut store);
    let train = Arc::new(data());
    let batch = collate(&train, &[0, 1, 2, 3, 4, 5]).unwrap();
    let step = ClassifyBatch::from(batch.clone());
    let datasets = Datasets {
        train: train.clone(),
        valid: None,
        folds: None,
        test: None,
    };
    let mut task = Classify::new(&m, datasets, ClassifyConfig::new(6));
    let stepped = task.step(&store, &step, &mut rng(1)).unwrap();
    let (total, grads) = (stepped.loss, stepped.grads);
    // each head alone, no dropout draw differs: the model has no dropout
    let alone = |bag: bool| {
        let tape = Tape::new(&Cpu);
        let heads = m
            .forward_heads(
                &tape,
                &store,
                &batch.tokens,
                &batch.lengths,
                None,
                Some(&mut rng(1)),
            )
            .unwrap();
        let head = if bag {
            heads.bag.unwrap()
        } else {
            heads.recurrent
        };
        let l = tape.cross_entropy(head, &batch.labels).unwrap();
        let value = tape.value(l).unwrap().scalar().unwrap();
        (value, tape.backward(l).unwrap())
    };
    let ((rec, rec_grads), (bag, bag_grads)) = (alone(false), alone(true));
    assert!(
        (total - (rec + bag)).abs() < 1e-12,
        "{total} vs {rec} + {bag}"
    );
    for (id, name, _) in store.iter() {
        let get = |g: &recur_autograd::Grads<Cpu>| {
            g.dense(id.index())
                .unwrap()
                .map(|t| t.to_f64_vec().unwrap())
        };
        let want = if name == "bag.weight" {
            get(&bag_grads)
        } else {
            get(&rec_grads)
        };
        let got = get(&grads);
        match (got, want) {
            (Some(g), Some(w)) => {
                for (a, b) in g.iter().zip(&w) {
                    assert!((a - b).abs() < 1e-12, "{name}: {a} vs {b}");
                }
            }
            (None, None) => {}
            (g, w) => panic!("{name}: gradient {} vs {}", g.is_some(), w.is_some()),
        }
    }
    // the IDF and the share are not trained
    let bag = m.bag.as_ref().unwrap();
    assert!(grads.dense(bag.idf.index()).unwrap().is_none());
    assert!(grads.dense(bag.mix.index()).unwrap().is_none());
}

/// A model whose heads' logits are fixed per example (the example's index is its token).
struct Fixed {
    recurrent: Vec<f64>,
    bag: Vec<f64>,
}

impl Fixed {
    fn rows(&self, table: &[f64], batch: &Batch) -> Tensor<Cpu> {
        let t = batch.tokens.len() / batch.len();
        let v: Vec<f64> = (0..batch.len())
            .flat_map(|b| table[batch.tokens[b * t] * 2..][..2].to_vec())
            .collect();
        Tensor::from_f64(&Cpu, &[batch.len(), 2], &v, DType::F64).unwrap()
    }
}

impl Model<Cpu> for Fixed {
    fn logits(
        &self,
        _: &Tape<Cpu>,
        _: &ParamStore<Cpu>,
        _: &Batch,
        _: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        unreachable!("the share is chosen from the heads")
    }

    fn heads(
        &self,
        tape: &Tape<Cpu>,
        _: &ParamStore<Cpu>,
        batch: &Batch,
        _: Option<Var>,
        _: Option<&mut Rng>,
    ) -> recur_layers::Result<Heads> {
        let recurrent = tape.constant(self.rows(&self.recurrent, batch));
        let bag = tape.constant(self.rows(&self.bag, batch));
        Ok(Heads {
            recurrent,
            members: vec![recurrent],
            bag: Some(bag),
            bags: vec![bag],
        })
    }

    fn num_classes(&self) -> usize {
        2
    }
}

/// `n` examples of two classes, each its own token.
fn labelled(n: usize) -> Encoded {
    Encoded {
        ids: (0..n).map(|i| vec![i]).collect(),
        labels: (0..n).map(|i| i % 2).collect(),
    }
}

/// Logits `[n, 2]` that give each example's true class `right` (in logit units) over the
/// other, or the other class `wrong` where `flip(i)`.
fn logits(n: usize, right: f64, wrong: f64, flip: impl Fn(usize) -> bool) -> Vec<f64> {
    (0..n)
        .flat_map(|i| {
            let margin = if flip(i) { -wrong } else { right };
            if i % 2 == 0 {
                [margin, 0.0]
            } else {
                [0.0, margin]
            }
        })
        .collect()
}

#[test]
fn the_share_is_chosen_by_validation_loss_leaning_on_the_bag_within_one_paired_standard_error() {
    let store = ParamStore::<Cpu>::new(&Cpu, DType::F64);
    let n = 400;
    let data = labelled(n);
    let choose = |recurrent: Vec<f64>, bag: Vec<f64>| {
        choose_bag_share(&Fixed { recurrent, bag }, &store, &data, 64).unwrap()
    };
    // a confidently wrong bag: none of it
    let good = logits(n, 4.0, 0.0, |_| false);
    let bad = logits(n, 0.0, 4.0, |_| true);
    assert_eq!(choose(good.clone(), bad.clone()), 0.0);
    // a confidently wrong recurrent head: the bag alone
    assert_eq!(choose(bad, good.clone()), 1.0);
    // heads the data cannot tell apart: the bag, the simpler model
    assert_eq!(choose(good.clone(), good.clone()), 1.0);
    // a bag a little worse on every text, among texts of very different difficulty: the
    // spread of the losses is wide, but the rows are paired and every one says the bag
    // costs, so none of it
    let margins = |shift: f64| -> Vec<f64> {
        (0..n)
            .flat_map(|i| {
                let m = 1.0 + (i % 7) as f64 - shift;
                if i % 2 == 0 {
                    [m, 0.0]
                } else {
                    [0.0, m]
                }
            })
            .collect()
    };
    assert_eq!(choose(margins(0.0), margins(0.3)), 0.0);
    // two heads wrong on different examples: a mix, the loss's minimum or above it
    let a = logits(n, 3.0, 3.0, |i| i % 10 == 0);
    let b = logits(n, 3.0, 3.0, |i| i % 10 == 5);
    let m = choose(a, b);
    assert!((0.5..1.0).contains(&m), "{m}");
}

#[test]
fn a_share_is_chosen_only_for_a_model_with_a_bag_and_never_from_nan() {
    let store = ParamStore::<Cpu>::new(&Cpu, DType::F64);
    let data = labelled(4);
    let nan = vec![f64::NAN; 8];
    let e = choose_bag_share(
        &Fixed {
            recurrent: nan.clone(),
            bag: nan,
        },
        &store,
        &data,
        2,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("non-finite"), "{e}");
}
