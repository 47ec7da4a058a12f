//! Adam on an embedding table, f32: catch-up of rows that missed `gap` steps (the exact lazy
//! Adam's replay; throughput in element-steps), and the dense step for comparison.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recur_cpu::Cpu;
use recur_tensor::{AdamHyper, DType, Tensor};

fn hyper(step: u64) -> AdamHyper {
    AdamHyper {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step,
    }
}

fn adam(c: &mut Criterion) {
    let (rows, cols, gap) = (1024, 64, 2000u64);
    let mut g = c.benchmark_group("adam_f32");
    let t = |v: f32| Tensor::from_f32(&Cpu, &[rows, cols], &vec![v; rows * cols], DType::F32);
    let (p0, m0, v0) = (t(0.5).unwrap(), t(0.01).unwrap(), t(0.001).unwrap());
    let grads = t(0.0).unwrap();
    let all: Vec<usize> = (0..rows).collect();
    g.throughput(Throughput::Elements((rows * cols) as u64 * gap));
    g.bench_function(format!("catch-up {rows}x{cols}, {gap} steps behind"), |b| {
        b.iter_batched(
            || (p0.clone(), m0.clone(), v0.clone(), vec![1u64; rows]),
            |(mut p, mut m, mut v, mut last)| {
                p.adam_rows_catch_up(&grads, &mut m, &mut v, &all, &mut last, &hyper(gap + 1))
                    .unwrap();
                p
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements((rows * cols) as u64));
    g.bench_function(format!("dense step {rows}x{cols}"), |b| {
        let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
        b.iter(|| p.adam_step(&grads, &mut m, &mut v, &hyper(10)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, adam);
criterion_main!(benches);
