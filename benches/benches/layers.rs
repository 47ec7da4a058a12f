//! One recurrent layer, forward + backward, f32, at the shapes of
//! `../shared/reference/layer_bench.py`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use recur_benches::LayerBench;
use recur_layers::RecurrentConfig;

fn layers(c: &mut Criterion) {
    recur_cpu::keep_freed_memory();
    let mut g = c.benchmark_group("layer_fwd_bwd");
    let mut bilstm = RecurrentConfig::lstm(64, 32);
    bilstm.num_layers = 2;
    bilstm.bidirectional = true;
    let cases = [
        (
            "lstm B16 T40 I64 H32",
            RecurrentConfig::lstm(64, 32),
            16,
            40,
        ),
        (
            "lstm B64 T50 I128 H256",
            RecurrentConfig::lstm(128, 256),
            64,
            50,
        ),
        ("gru B16 T40 I64 H32", RecurrentConfig::gru(64, 32), 16, 40),
        ("rnn B16 T40 I64 H32", RecurrentConfig::rnn(64, 32), 16, 40),
        ("bilstm x2 B16 T40 I64 H32", bilstm, 16, 40),
    ];
    for (name, cfg, b, t) in cases {
        let lb = LayerBench::new(cfg, b, t);
        g.bench_function(name, |bench| bench.iter(|| lb.step(None)));
    }
    g.finish();
}

criterion_group!(benches, layers);
criterion_main!(benches);
