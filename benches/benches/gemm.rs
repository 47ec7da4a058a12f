//! GEMM at the shapes a recurrent step uses, f32: `[m,k]·[k,n]`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recur_cpu::Cpu;
use recur_tensor::{DType, Tensor};

fn gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_f32");
    for (m, k, n) in [(16, 32, 128), (16, 64, 128), (64, 256, 1024)] {
        let a = Tensor::from_f32(&Cpu, &[m, k], &vec![0.5; m * k], DType::F32).unwrap();
        let b = Tensor::from_f32(&Cpu, &[k, n], &vec![0.25; k * n], DType::F32).unwrap();
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        g.bench_function(format!("[{m},{k}]x[{k},{n}]"), |bench| {
            bench.iter(|| a.matmul(&b, false, false).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, gemm);
criterion_main!(benches);
