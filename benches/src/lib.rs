//! Shared setup for the criterion benchmarks in `benches/benches/`: one recurrent layer's
//! forward + backward step (as `../shared/reference/layer_bench.py` times PyTorch), AG
//! News-like lengths, and where the AG News files are.

use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{rng, ParamStore, Recurrent, RecurrentConfig};
use recur_packed::{pack_padded_sequence, Layout, Order};
use recur_tensor::{DType, Tensor};

/// A layer, its parameters and a fixed input `[B, T, I]` (f32, batch_first).
pub struct LayerBench {
    /// Parameters.
    pub store: ParamStore<Cpu>,
    /// The layer.
    pub layer: Recurrent,
    /// Input.
    pub x: Tensor<Cpu>,
}

impl LayerBench {
    /// Builds `cfg` (forced batch_first) with a random input of `b × t`.
    pub fn new(mut cfg: RecurrentConfig, b: usize, t: usize) -> LayerBench {
        cfg.batch_first = true;
        let mut store = ParamStore::new(&Cpu, DType::F32);
        let layer =
            Recurrent::new(&mut store, "rnn", cfg.clone(), &mut rng(0)).expect("valid config");
        let mut r = rand::rngs::StdRng::seed_from_u64(1);
        let n = b * t * cfg.input_size;
        let v: Vec<f32> = (0..n).map(|_| r.gen::<f32>() * 2.0 - 1.0).collect();
        let x = Tensor::from_f32(&Cpu, &[b, t, cfg.input_size], &v, DType::F32).expect("input");
        LayerBench { store, layer, x }
    }

    /// Forward + backward of `output.sum()`, padded (`lengths = None`) or packed, run on a
    /// worker of rayon's pool (as `recur train` runs its steps).
    pub fn step(&self, lengths: Option<&[usize]>) {
        rayon_pool().install(|| self.step_here(lengths))
    }

    fn step_here(&self, lengths: Option<&[usize]>) {
        let tape = Tape::new(&Cpu);
        let x = tape.leaf(self.x.clone(), true);
        let out = match lengths {
            None => {
                self.layer
                    .forward(&tape, &self.store, x, None, None, None)
                    .expect("forward")
                    .output
            }
            Some(l) => {
                let p = pack_padded_sequence(&tape, x, l, Layout::BatchFirst, Order::Any)
                    .expect("pack");
                self.layer
                    .forward_packed(&tape, &self.store, &p, None, None, None)
                    .expect("forward")
                    .1
                    .output
            }
        };
        let loss = tape.sum_all(out).expect("sum");
        tape.backward(loss).expect("backward");
    }
}

/// The AG News folder: `$RECUR_DATA_DIR`, else `../shared/datasets/ag_news` beside the
/// checkout, if it holds `file`.
pub fn ag_news_file(file: &str) -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/ag_news")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
}

/// The 16 AG News token lengths `../shared/reference/layer_bench.py --lengths-from test.csv`
/// draws from the real test.csv (`torch.randint` with seed 0), so both sides time the same
/// batch (T = 134).
pub fn ag_news_lengths() -> Vec<usize> {
    vec![
        43, 50, 24, 46, 48, 40, 49, 61, 29, 44, 52, 56, 55, 134, 74, 38,
    ]
}

/// The rayon pool the benchmarks step in (entered with `install`, so the stepping thread is
/// a worker and the two-way splits inside a step need no cross-thread wake-up of the caller,
/// as in `recur train`).
pub fn rayon_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .build()
            .expect("thread pool")
    })
}
