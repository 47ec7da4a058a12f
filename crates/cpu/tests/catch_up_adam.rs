//! Catch-up Adam is bit-identical to dense Adam: a table updated densely every step (zero
//! gradient for untouched rows) equals one where only touched rows are updated, replaying
//! their missed steps, and every row is brought up to date at the end. f32 and f64, with and
//! without weight decay, rows of 7 (scalar tails) and 64 (whole vector blocks), over a few
//! hundred steps of random sparse touches, and over 2,000 steps where most rows wait
//! hundreds of steps between touches (long replays).

use rand::{Rng, SeedableRng};
use recur_cpu::Cpu;
use recur_tensor::{AdamHyper, DType, Tensor};

fn run(dtype: DType, weight_decay: f64, seed: u64, cols: usize, steps: u64) {
    let rows = 700;
    let long_gaps = steps > 1000;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let init: Vec<f64> = (0..rows * cols)
        .map(|_| rng.gen::<f64>() * 2.0 - 1.0)
        .collect();
    let t = |v: &[f64], shape: &[usize]| Tensor::from_f64(&Cpu, shape, v, dtype).unwrap();
    let (mut dense_p, mut dense_m, mut dense_v) = (
        t(&init, &[rows, cols]),
        t(&vec![0.0; rows * cols], &[rows, cols]),
        t(&vec![0.0; rows * cols], &[rows, cols]),
    );
    let (mut lazy_p, mut lazy_m, mut lazy_v) = (dense_p.clone(), dense_m.clone(), dense_v.clone());
    let mut last = vec![0u64; rows];
    for step in 1..=steps {
        let hyper = AdamHyper {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            step,
        };
        // distinct rows touched (sometimes enough for the parallel path), rows 600.. never
        let n_touch = if step % 7 == 0 && !long_gaps {
            rng.gen_range(256..400)
        } else if step % 500 == 0 {
            300
        } else {
            rng.gen_range(1..3)
        };
        let mut touched: Vec<usize> = Vec::new();
        while touched.len() < n_touch {
            let r = rng.gen_range(0..600);
            if !touched.contains(&r) {
                touched.push(r);
            }
        }
        let gvals: Vec<f64> = (0..n_touch * cols)
            .map(|_| rng.gen::<f64>() - 0.5)
            .collect();
        let g_rows = t(&gvals, &[n_touch, cols]);
        let g_dense = g_rows.scatter_rows(rows, &touched, 0.0, true).unwrap();
        dense_p
            .adam_step(&g_dense, &mut dense_m, &mut dense_v, &hyper)
            .unwrap();
        lazy_p
            .adam_rows_catch_up(
                &g_rows,
                &mut lazy_m,
                &mut lazy_v,
                &touched,
                &mut last,
                &hyper,
            )
            .unwrap();
    }
    // bring every row to the last step: a zero-gradient step at `steps` for stale rows
    let stale: Vec<usize> = (0..rows).filter(|&r| last[r] < steps).collect();
    let hyper = AdamHyper {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay,
        step: steps,
    };
    let zeros = t(&vec![0.0; stale.len() * cols], &[stale.len(), cols]);
    lazy_p
        .adam_rows_catch_up(&zeros, &mut lazy_m, &mut lazy_v, &stale, &mut last, &hyper)
        .unwrap();
    assert!(last.iter().all(|&s| s == steps));
    for (what, a, b) in [
        ("p", &dense_p, &lazy_p),
        ("m", &dense_m, &lazy_m),
        ("v", &dense_v, &lazy_v),
    ] {
        let (a, b) = (a.to_host().unwrap(), b.to_host().unwrap());
        assert!(
            a == b,
            "{dtype} wd={weight_decay} cols={cols} steps={steps}: {what} differs bitwise \
             between dense and catch-up Adam"
        );
    }
}

#[test]
fn catch_up_adam_is_bitwise_dense_adam() {
    for dtype in [DType::F32, DType::F64] {
        for wd in [0.0, 0.01] {
            for seed in 0..2 {
                run(dtype, wd, seed, 7, 300);
                run(dtype, wd, seed, 64, 300);
            }
            run(dtype, wd, 9, 64, 2000);
        }
    }
}

/// Rows touched in the first steps only, then idle for thousands of steps: `m` decays into
/// subnormal numbers and stops moving, `p` stops moving before it — the replay that skips
/// what cannot change must still equal the dense steps bit for bit (values of `p` near
/// zero and exactly zero included, where nothing may be skipped).
#[test]
fn a_long_idle_gap_replays_bitwise_as_dense_adam() {
    for dtype in [DType::F32, DType::F64] {
        let (rows, cols, steps) = (40, 33, 6000u64);
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut init: Vec<f64> = (0..rows * cols).map(|_| rng.gen::<f64>() - 0.5).collect();
        init[0] = 0.0;
        init[1] = 1e-30;
        init[2] = -3e-38;
        let t = |v: &[f64], shape: &[usize]| Tensor::from_f64(&Cpu, shape, v, dtype).unwrap();
        let zeros = vec![0.0; rows * cols];
        let (mut dp, mut dm, mut dv) = (
            t(&init, &[rows, cols]),
            t(&zeros, &[rows, cols]),
            t(&zeros, &[rows, cols]),
        );
        let (mut lp, mut lm, mut lv) = (dp.clone(), dm.clone(), dv.clone());
        let mut last = vec![0u64; rows];
        let all: Vec<usize> = (0..rows).collect();
        for step in 1..=steps {
            let h = AdamHyper {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                step,
            };
            // every row touched in the first 5 steps and the last one, idle between
            let touched: Vec<usize> = if step <= 5 || step == steps {
                all.clone()
            } else {
                Vec::new()
            };
            let gvals: Vec<f64> = (0..touched.len() * cols)
                .map(|_| rng.gen::<f64>() - 0.5)
                .collect();
            let dense_g = if touched.is_empty() {
                t(&zeros, &[rows, cols])
            } else {
                t(&gvals, &[rows, cols])
            };
            dp.adam_step(&dense_g, &mut dm, &mut dv, &h).unwrap();
            if !touched.is_empty() {
                let g = t(&gvals, &[touched.len(), cols]);
                lp.adam_rows_catch_up(&g, &mut lm, &mut lv, &touched, &mut last, &h)
                    .unwrap();
            }
        }
        for (what, a, b) in [("p", &dp, &lp), ("m", &dm, &lm), ("v", &dv, &lv)] {
            assert!(
                a.to_host().unwrap() == b.to_host().unwrap(),
                "{dtype}: {what} differs bitwise after a long idle gap"
            );
        }
    }
}

#[test]
fn catch_up_refuses_bad_rows() {
    let mut p = Tensor::from_f64(&Cpu, &[3, 2], &[0.0; 6], DType::F32).unwrap();
    let (mut m, mut v) = (p.clone(), p.clone());
    let g = Tensor::from_f64(&Cpu, &[2, 2], &[1.0; 4], DType::F32).unwrap();
    let h = AdamHyper {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step: 1,
    };
    let mut last = vec![0; 3];
    assert!(p
        .adam_rows_catch_up(&g, &mut m, &mut v, &[1, 1], &mut last, &h)
        .unwrap_err()
        .to_string()
        .contains("distinct"));
    assert!(p
        .adam_rows_catch_up(&g, &mut m, &mut v, &[1, 3], &mut last, &h)
        .unwrap_err()
        .to_string()
        .contains("index 3"));
    p.adam_rows_catch_up(&g, &mut m, &mut v, &[0, 1], &mut last, &h)
        .unwrap();
    assert!(p
        .adam_rows_catch_up(&g, &mut m, &mut v, &[0, 2], &mut last, &h)
        .unwrap_err()
        .to_string()
        .contains("already updated"));
}
