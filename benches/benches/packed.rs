//! LSTM forward + backward over packed vs padded input with AG News token lengths (B=16).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use recur_benches::{ag_news_lengths, LayerBench};
use recur_layers::RecurrentConfig;

fn packed(c: &mut Criterion) {
    recur_cpu::keep_freed_memory();
    let lengths = ag_news_lengths();
    let t = *lengths.iter().max().unwrap_or(&1);
    let lb = LayerBench::new(RecurrentConfig::lstm(64, 32), lengths.len(), t);
    let mut g = c.benchmark_group(format!("lstm_ag_lengths_T{t}"));
    g.bench_function("padded", |bench| bench.iter(|| lb.step(None)));
    g.bench_function("packed", |bench| bench.iter(|| lb.step(Some(&lengths))));
    g.finish();
}

criterion_group!(benches, packed);
criterion_main!(benches);
