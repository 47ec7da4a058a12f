//! Adversarial training of the embedding: the second loss is the batch's loss with each
//! text's embedded tokens moved by exactly ε (L2) along the clean loss's gradient — a
//! direction that raises the loss — and its gradients are what a separate pass at that
//! perturbation gives; off, there is no second loss; a run with it resumes exactly.

use std::sync::Arc;

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_data::{collate, Encoded};
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling};
use recur_tensor::{CellKind, DType, Tensor};
use recur_train::{Classify, ClassifyBatch, ClassifyConfig, Datasets, Task};

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
    Classifier::new(store, c, &mut rng(2)).unwrap()
}

#[test]
fn the_second_loss_moves_each_text_by_epsilon_up_the_gradient() {
    let eps = 0.7;
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = model(&mut store);
    let train = Arc::new(data());
    let batch = collate(&train, &[0, 1, 2, 3, 4, 5]).unwrap();
    let step = ClassifyBatch::from(batch.clone());
    let config = ClassifyConfig {
        adversarial: eps,
        ..ClassifyConfig::new(6)
    };
    let datasets = Datasets {
        train: train.clone(),
        valid: None,
        folds: None,
        test: None,
    };
    let mut task = Classify::new(&m, datasets, config);
    let mut r = rng(1);
    let stepped = task.step(&store, &step, &mut r).unwrap();

    // the same by hand: the gradient at the embedding, scaled to ε per text
    let (b, t) = (batch.len(), batch.tokens.len() / batch.len());
    let probe = Tape::new(&Cpu);
    let zeros = Tensor::zeros(&Cpu, &[b, t, 4], DType::F64).unwrap();
    let delta = probe.leaf(zeros, true);
    let logits = m
        .forward_perturbed(
            &probe,
            &store,
            &batch.tokens,
            &batch.lengths,
            Some(delta),
            None,
        )
        .unwrap();
    let l = probe.cross_entropy(logits, &batch.labels).unwrap();
    let clean = probe.value(l).unwrap().scalar().unwrap();
    assert!(
        (stepped.loss - clean).abs() < 1e-12,
        "{} vs {clean}",
        stepped.loss
    );
    let clean_grads = probe.backward(l).unwrap();
    let g = clean_grads.get(delta).unwrap().to_f64_vec().unwrap();
    let mut moved = g.clone();
    for text in moved.chunks_mut(t * 4) {
        let norm = text.iter().map(|x| x * x).sum::<f64>().sqrt();
        text.iter_mut().for_each(|x| *x *= eps / norm);
        let n = text.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((n - eps).abs() < 1e-12, "a text moved by {n}");
    }
    let at = Tape::new(&Cpu);
    let r_t = at.constant(Tensor::from_f64(&Cpu, &[b, t, 4], &moved, DType::F64).unwrap());
    let logits = m
        .forward_perturbed(&at, &store, &batch.tokens, &batch.lengths, Some(r_t), None)
        .unwrap();
    let l = at.cross_entropy(logits, &batch.labels).unwrap();
    let adversarial = at.value(l).unwrap().scalar().unwrap();
    assert!(adversarial > clean, "{adversarial} is not above {clean}");
    let adversarial_grads = at.backward(l).unwrap();
    // the step's gradients: the clean loss's and the moved loss's
    let grad = |g: &recur_autograd::Grads<Cpu>, id: usize| {
        g.dense(id).unwrap().unwrap().to_f64_vec().unwrap()
    };
    for (id, name, _) in store.iter() {
        let got = grad(&stepped.grads, id.index());
        let want = (grad(&clean_grads, id.index()).iter())
            .zip(grad(&adversarial_grads, id.index()))
            .map(|(a, b)| a + b)
            .collect::<Vec<_>>();
        for (x, y) in got.iter().zip(&want) {
            assert!((x - y).abs() < 1e-12, "{name}: {x} vs {y}");
        }
    }

    // off: no second loss, the clean loss's gradients alone
    let mut plain = Classify::new(
        &m,
        Datasets {
            train,
            valid: None,
            folds: None,
            test: None,
        },
        ClassifyConfig::new(6),
    );
    let off = plain.step(&store, &step, &mut r).unwrap();
    for (id, name, _) in store.iter() {
        let (got, want) = (grad(&off.grads, id.index()), grad(&clean_grads, id.index()));
        for (x, y) in got.iter().zip(&want) {
            assert!((x - y).abs() < 1e-12, "{name}: {x} vs {y}");
        }
    }
}
