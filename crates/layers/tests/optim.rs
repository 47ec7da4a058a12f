//! Adam and SGD against PyTorch's update rules, with the expected numbers written out.
//!
//! The numbers are `torch.optim.Adam([p], lr=0.1[, weight_decay=0.1])` and
//! `torch.optim.SGD([p], lr=0.1, momentum=.., weight_decay=.., nesterov=..)` on
//! `p = [1, -2]` with gradients `[0.5, -1]`, `[0.1, 0.2]`, `[-0.3, 0]` for three steps
//! (PyTorch's single-tensor formulas evaluated in double precision).

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{Adam, AdamConfig, Optimizer, ParamStore, Sgd, SgdConfig};
use recur_tensor::{DType, Tensor};

const GRADS: [[f64; 2]; 3] = [[0.5, -1.0], [0.1, 0.2], [-0.3, 0.0]];

fn run(opt: &mut dyn Optimizer<Cpu>) -> Vec<Vec<f64>> {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let id = store.add_f64("p", &[2], &[1.0, -2.0]).unwrap();
    let mut out = Vec::new();
    for g in GRADS {
        let tape = Tape::new(&Cpu);
        let p = store.var(&tape, id).unwrap();
        let w = tape.constant(Tensor::from_f64(&Cpu, &[2], &g, DType::F64).unwrap());
        let loss = tape.sum_all(tape.mul(p, w).unwrap()).unwrap();
        let mut grads = tape.backward(loss).unwrap();
        drop(tape);
        opt.step(&mut store, &mut grads).unwrap();
        out.push(store.get(id).unwrap().to_f64_vec().unwrap());
    }
    out
}

fn assert_steps(got: Vec<Vec<f64>>, want: [[f64; 2]; 3]) {
    for (s, (g, w)) in got.iter().zip(want).enumerate() {
        for i in 0..2 {
            assert!(
                (g[i] - w[i]).abs() < 1e-12,
                "step {}: {g:?} vs {w:?}",
                s + 1
            );
        }
    }
}

#[test]
fn adam_matches_pytorch() {
    let mut opt = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::default()
    });
    assert_steps(
        run(&mut opt),
        [
            [0.900000002, -1.900000001],
            [0.8196959063846517, -1.8488973939904945],
            [0.798624611763508, -1.8093949307841701],
        ],
    );
}

#[test]
fn adam_with_weight_decay_matches_pytorch() {
    let mut opt = Adam::new(AdamConfig {
        lr: 0.1,
        weight_decay: 0.1,
        ..AdamConfig::default()
    });
    assert_steps(
        run(&mut opt),
        [
            [0.9000000016666666, -1.9000000008333333],
            [0.8136483454297575, -1.8336169077420748],
            [0.7715818210509955, -1.7732341874523856],
        ],
    );
}

#[test]
fn sgd_matches_pytorch() {
    let mut plain = Sgd::new(SgdConfig {
        lr: 0.1,
        ..SgdConfig::default()
    });
    assert_steps(
        run(&mut plain),
        [[0.95, -1.9], [0.94, -1.92], [0.97, -1.92]],
    );
    let mut momentum = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.1,
        ..SgdConfig::default()
    });
    assert_steps(
        run(&mut momentum),
        [
            [0.94, -1.88],
            [0.8665999999999999, -1.7731999999999999],
            [0.8218739999999999, -1.6593479999999998],
        ],
    );
    let mut nesterov = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::default()
    });
    assert_steps(
        run(&mut nesterov),
        [
            [0.905, -1.81],
            [0.8455, -1.7670000000000001],
            [0.85795, -1.7103000000000002],
        ],
    );
}

/// `torch.optim.SparseAdam(lr=0.1)` on `nn.Embedding(3, 2, sparse=True)` with weight
/// `[[1,-2],[0.5,0.5],[-1,3]]`: `loss = (emb([0,2]) * [[.5,-1],[.25,.75]]).sum()`, then
/// `(emb([2,2]) * [[.1,.2],[-.3,.4]]).sum()` (values printed by PyTorch 2.15, float64).
#[test]
fn sparse_adam_matches_pytorch() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let id = store
        .add_f64(
            "embedding.weight",
            &[3, 2],
            &[1.0, -2.0, 0.5, 0.5, -1.0, 3.0],
        )
        .unwrap();
    let mut opt = Adam::new(AdamConfig {
        lr: 0.1,
        sparse_rows: true,
        ..AdamConfig::default()
    });
    let steps: [(&[usize], [f64; 4], [f64; 6]); 2] = [
        (
            &[0, 2],
            [0.5, -1.0, 0.25, 0.75],
            [
                0.9000000632455132,
                -1.9000000316227665,
                0.5,
                0.5,
                -1.0999998735090535,
                2.9000000421636845,
            ],
        ),
        (
            &[2, 2],
            [0.1, 0.2, -0.3, 0.4],
            [
                0.9000000632455132,
                -1.9000000316227665,
                0.5,
                0.5,
                -1.1058123724962607,
                2.8011874942946604,
            ],
        ),
    ];
    for (ids, w, want) in steps {
        let tape = Tape::new(&Cpu);
        let table = store.var(&tape, id).unwrap();
        let rows = tape.embedding(table, ids, None).unwrap();
        let w = tape.constant(Tensor::from_f64(&Cpu, &[2, 2], &w, DType::F64).unwrap());
        let loss = tape.sum_all(tape.mul(rows, w).unwrap()).unwrap();
        let mut grads = tape.backward(loss).unwrap();
        assert!(
            grads.rows(id.index()).is_some(),
            "the embedding gradient is row-sparse"
        );
        drop(tape);
        opt.step(&mut store, &mut grads).unwrap();
        let got = store.get(id).unwrap().to_f64_vec().unwrap();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }
}

/// A sync of lazy Adam stopped between pieces leaves the rows it reached current and the
/// others behind; finishing it later gives the same table as one uninterrupted sync.
#[test]
fn a_stopped_sync_finishes_later_exactly() {
    let (rows, cols) = (5000, 4);
    let init: Vec<f64> = (0..rows * cols)
        .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
        .collect();
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let id = store
        .add_f64("embedding.weight", &[rows, cols], &init)
        .unwrap();
    let mut opt = Adam::new(AdamConfig {
        lr: 0.01,
        lazy_rows: true,
        ..AdamConfig::default()
    });
    // every row touched at the first step, then a few rows at a time: most fall behind
    for step in 0..30 {
        let ids: Vec<usize> = if step == 0 {
            (0..rows).collect()
        } else {
            (0..8).map(|k| (step * 131 + k * 17) % rows).collect()
        };
        opt.prepare_rows(&mut store, &ids).unwrap();
        let tape = Tape::new(&Cpu);
        let table = store.var(&tape, id).unwrap();
        let picked = tape.embedding(table, &ids, None).unwrap();
        let loss = tape.sum_all(tape.mul(picked, picked).unwrap()).unwrap();
        let mut grads = tape.backward(loss).unwrap();
        drop(tape);
        opt.step(&mut store, &mut grads).unwrap();
    }
    let mut whole_store = store.clone();
    let mut whole_opt = Adam::new(AdamConfig {
        lr: 0.01,
        lazy_rows: true,
        ..AdamConfig::default()
    });
    whole_opt
        .import_state(&mut whole_store, opt.export_state(&store))
        .unwrap();
    whole_opt.sync(&mut whole_store).unwrap();
    // stopped after the first piece: not everything is current
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 1
    };
    assert!(!opt.sync_until(&mut store, &stop).unwrap());
    assert!(
        !store.behind().is_empty(),
        "a stopped sync left no row behind"
    );
    assert!(opt.sync_until(&mut store, &|| false).unwrap());
    assert!(store.behind().is_empty());
    let (a, b) = (
        store.get(id).unwrap().to_f32_vec().unwrap(),
        whole_store.get(id).unwrap().to_f32_vec().unwrap(),
    );
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "a sync stopped and finished differs from one sync"
    );
}
