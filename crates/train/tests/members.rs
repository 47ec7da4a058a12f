//! A classifier of several recurrent members in training: each step gives each member a
//! batch of its own (the first member's in the order a one-member model gets, the others'
//! in orders of their own), and the loss is the sum of every member's and every member's
//! bag table's cross-entropy on its own batch; a resumed epoch skips every member's
//! batches alike.

use std::sync::Arc;

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_data::{collate, Encoded, StratifiedFolds};
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling};
use recur_tensor::{CellKind, DType};
use recur_train::{
    evaluate_folds, Classify, ClassifyBatch, ClassifyConfig, Datasets, MemberFolds, Model, Task,
};

fn data() -> Encoded {
    let mut e = Encoded::default();
    for i in 0..40 {
        e.ids
            .push((0..2 + i % 5).map(|t| 1 + (i * 3 + t) % 9).collect());
        e.labels.push(i % 3);
    }
    e
}

fn model(members: usize, store: &mut ParamStore<Cpu>) -> Classifier {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 10)
        .with_cell(CellKind::Gru)
        .with_pooling(Pooling::Mean)
        .with_sizes(4, 3)
        .with_members(members);
    c.num_class = 3;
    c.ngram_buckets = 7;
    let m = Classifier::new(store, c, &mut rng(2)).unwrap();
    m.bag.as_ref().unwrap().fit_idf(store, &data().ids).unwrap();
    m
}

fn datasets(train: &Arc<Encoded>) -> Datasets<'static> {
    Datasets {
        train: train.clone(),
        valid: None,
        folds: None,
        test: None,
    }
}

/// The steps of epoch 0 from batch `skip` on.
fn steps<T: Task<Cpu, Batch = ClassifyBatch>>(task: &T, skip: usize) -> Vec<ClassifyBatch> {
    task.batches(0, skip).unwrap().map(Result::unwrap).collect()
}

#[test]
fn each_member_learns_from_batches_of_its_own_on_its_own_loss() {
    let train = Arc::new(data());
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(3, &mut store);
    let mut task = Classify::new(&m, datasets(&train), ClassifyConfig::new(8));
    let steps = steps(&task, 0);
    assert_eq!(steps.len(), 5);
    assert!(steps.iter().all(|s| s.batches.len() == 3));
    // the first member's batches are those of a one-member model
    let mut one_store = ParamStore::new(&Cpu, DType::F64);
    let one = model(1, &mut one_store);
    let one_task = Classify::new(&one, datasets(&train), ClassifyConfig::new(8));
    let single = self::steps(&one_task, 0);
    for (s, o) in steps.iter().zip(&single) {
        assert_eq!(s.batches[0], o.batches[0]);
        assert_eq!(o.batches.len(), 1);
    }
    // the others' in orders of their own, each epoch a permutation of the examples
    assert!(steps.iter().any(|s| s.batches[1] != s.batches[0]));
    assert!(steps.iter().any(|s| s.batches[2] != s.batches[1]));
    for member in 0..3 {
        let seen: usize = steps.iter().map(|s| s.batches[member].len()).sum();
        assert_eq!(seen, 40);
    }
    // skipping batches (a resumed epoch) skips them for every member
    let resumed = self::steps(&task, 2);
    assert_eq!(resumed.as_slice(), &steps[2..]);
    // the loss: every member's and its bag table's cross-entropy on its own batch, each
    // member on a tape of its own; the gradients are those of the sum on one tape
    let step = &steps[0];
    let got = task.step(&store, step, &mut rng(1)).unwrap();
    let joint = Tape::new(&Cpu);
    let mut sum = None;
    for (i, b) in step.batches.iter().enumerate() {
        let heads = m
            .forward_heads(&joint, &store, &b.tokens, &b.lengths, None, None)
            .unwrap();
        for logits in [heads.members[i], heads.bags[i]] {
            let ce = joint.cross_entropy(logits, &b.labels).unwrap();
            sum = Some(sum.map_or(ce, |s| joint.add(s, ce).unwrap()));
        }
    }
    let sum = sum.unwrap();
    let want = joint.value(sum).unwrap().scalar().unwrap();
    assert!((got.loss - want).abs() < 1e-10, "{} vs {want}", got.loss);
    let want = joint.backward(sum).unwrap();
    for (id, name, _) in store.iter() {
        let (a, w) = (got.grads.dense(id.index()), want.dense(id.index()));
        let (a, w) = (a.unwrap().map(|t| t.to_f64_vec().unwrap()), w.unwrap());
        let w = w.map(|t| t.to_f64_vec().unwrap());
        assert_eq!(a.is_some(), w.is_some(), "{name}");
        for (x, y) in a.unwrap_or_default().iter().zip(&w.unwrap_or_default()) {
            assert!((x - y).abs() < 1e-12, "{name}: {x} vs {y}");
        }
    }
    // the running accuracy counts the first member's batch, by that member mixed with its
    // bag table
    let probe = Tape::new(&Cpu);
    let b = &step.batches[0];
    let heads = Model::member_heads(&m, &probe, &store, 0, b, None, None).unwrap();
    let logits = Model::mix(&m, &probe, &store, heads).unwrap();
    let preds = recur_train::argmax_rows(&probe.value(logits).unwrap().to_f32_vec().unwrap(), 3);
    let correct = preds.iter().zip(&b.labels).filter(|(p, l)| p == l).count();
    assert_eq!(got.tally.correct, correct);
}

#[test]
fn each_member_validates_on_a_fold_of_its_own_and_trains_on_the_rest() {
    let train = Arc::new(data());
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(3, &mut store);
    let folds = StratifiedFolds::new(&train.labels, 3, 0.2, 5).unwrap();
    let folds = MemberFolds::new(&folds, 3);
    assert_eq!((folds.valid_rows(), folds.train_rows()), (9, 31));
    let task = Classify::new(
        &m,
        datasets(&train).with_folds(folds.clone()),
        ClassifyConfig::new(8),
    );
    assert_eq!(Task::<Cpu>::batches_per_epoch(&task), 4);
    assert!(Task::<Cpu>::has_validation(&task));
    let steps = steps(&task, 0);
    assert_eq!(steps.len(), 4);
    for member in 0..3 {
        // the member's batches are the rows outside its fold, each once
        let rows: usize = steps.iter().map(|s| s.batches[member].len()).sum();
        assert_eq!(rows, 31);
        let fold_rows = collate(&train, &folds.valid[member]).unwrap();
        let trained = collate(&train, &folds.train[member]).unwrap();
        let mut labels: Vec<usize> = steps
            .iter()
            .flat_map(|s| s.batches[member].labels.clone())
            .collect();
        let mut expected = trained.labels.clone();
        labels.sort_unstable();
        expected.sort_unstable();
        assert_eq!(labels, expected);
        assert_eq!(fold_rows.len(), 9);
    }
    // the folds' evaluation: every row judged by its own member alone, mixed with its own
    // bag table
    let e = evaluate_folds(&m, &store, &train, &folds, 3).unwrap();
    let mut loss = 0.0;
    for (i, fold) in folds.valid.iter().enumerate() {
        let batch = collate(&train, fold).unwrap();
        let tape = Tape::no_grad(&Cpu);
        let own = Model::member_heads(&m, &tape, &store, i, &batch, None, None).unwrap();
        let logits = Model::mix(&m, &tape, &store, own).unwrap();
        let l = tape.cross_entropy(logits, &batch.labels).unwrap();
        loss += tape.value(l).unwrap().scalar().unwrap() * batch.len() as f64;
    }
    assert!(
        (e.loss - loss / 27.0).abs() < 1e-9,
        "{} vs {}",
        e.loss,
        loss / 27.0
    );
    let total: usize = e.scores.confusion.iter().flatten().sum();
    assert_eq!(total, 27);
    // a fold count other than the members' is refused
    let two = MemberFolds::new(&StratifiedFolds::new(&train.labels, 3, 0.2, 5).unwrap(), 2);
    assert!(evaluate_folds(&m, &store, &train, &two, 3).is_err());
    let task = Classify::new(&m, datasets(&train).with_folds(two), ClassifyConfig::new(8));
    assert!(Task::<Cpu>::batches(&task, 0, 0).is_err());
}

#[test]
fn predictions_come_back_in_the_data_order_whatever_the_batching() {
    // evaluation batches texts of like length together; the logits keep the data's order
    let train = data();
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(3, &mut store);
    let batched = recur_train::predict_logits(&m, &store, &train, 7).unwrap();
    assert_eq!(batched.len(), train.len() * 3);
    for (i, row) in batched.chunks_exact(3).enumerate() {
        let tape = Tape::no_grad(&Cpu);
        let one = collate(&train, &[i]).unwrap();
        let logits = Model::logits(&m, &tape, &store, &one, None).unwrap();
        let want = tape.value(logits).unwrap().to_f32_vec().unwrap();
        for (a, b) in row.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "text {i}: {a} vs {b}");
        }
    }
}

#[test]
fn a_model_that_reads_padding_is_scored_in_file_order() {
    // the lesson's padded RNN averages every padded step: its logits depend on the batch,
    // so evaluation keeps the file order it was checked in (packed models may regroup)
    let train = data();
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let mut c = ClassifierConfig::lesson(ModelKind::Rnn, 10).with_sizes(4, 3);
    c.num_class = 3;
    let padded = Classifier::new(&mut store, c, &mut rng(2)).unwrap();
    assert!(Model::<Cpu>::reads_padding(&padded));
    let mut packed_store = ParamStore::new(&Cpu, DType::F64);
    assert!(!Model::<Cpu>::reads_padding(&model(1, &mut packed_store)));
    let got = recur_train::predict_logits(&padded, &store, &train, 7).unwrap();
    let mut want = Vec::new();
    for rows in (0..train.len()).collect::<Vec<_>>().chunks(7) {
        let tape = Tape::no_grad(&Cpu);
        let batch = collate(&train, rows).unwrap();
        let logits = Model::logits(&padded, &tape, &store, &batch, None).unwrap();
        want.extend(tape.value(logits).unwrap().to_f32_vec().unwrap());
    }
    assert_eq!(got, want);
}
