//! A classifier of several recurrent members in training: each step gives each member a
//! batch of its own (the first member's in the order a one-member model gets, the others'
//! in orders of their own), and the loss is the sum of every member's and every member's
//! bag table's cross-entropy on its own batch; a resumed epoch skips every member's
//! batches alike.

use std::sync::Arc;

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_data::Encoded;
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling};
use recur_tensor::{CellKind, DType};
use recur_train::{Classify, ClassifyBatch, ClassifyConfig, Datasets, Task};

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
    // the loss: every member's and its bag table's cross-entropy on its own batch
    let step = &steps[0];
    let tape = Tape::new(&Cpu);
    let (loss, _) = task.forward(&tape, &store, step, &mut rng(1)).unwrap();
    let got = tape.value(loss).unwrap().scalar().unwrap();
    let mut want = 0.0;
    for (i, b) in step.batches.iter().enumerate() {
        let probe = Tape::new(&Cpu);
        let heads = m
            .forward_heads(&probe, &store, &b.tokens, &b.lengths, None, None)
            .unwrap();
        for logits in [heads.members[i], heads.bags[i]] {
            let ce = probe.cross_entropy(logits, &b.labels).unwrap();
            want += probe.value(ce).unwrap().scalar().unwrap();
        }
    }
    assert!((got - want).abs() < 1e-10, "{got} vs {want}");
}
