//! Large batches run their rows as two halves on two threads. The halves must give the same
//! values and gradients as one thread doing every row: every cell kind, padded and packed,
//! both directions, with and without an LSTM projection, f32 and f64; the scan cells too.

use recur_cpu::kernels::steps::Steps;
use recur_cpu::Cpu;
use recur_tensor::{seq_backward, seq_forward, CellKind, CellSpec, DType, SeqInputs, Tensor};

fn t(shape: &[usize], dtype: DType, seed: usize) -> Tensor<Cpu> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| (((i + seed) * 7919) % 101) as f64 / 101.0 - 0.5)
        .collect();
    Tensor::from_f64(&Cpu, shape, &v, dtype).unwrap()
}

/// Every output and gradient of one forward + backward of `cell`, flattened.
fn run(cell: CellSpec, dtype: DType, batch_sizes: &[usize], reverse: bool) -> Vec<Vec<f64>> {
    let b = batch_sizes[0];
    let n: usize = batch_sizes.iter().sum();
    let mut seed = 0;
    let mut draw = |shape: &[usize]| {
        seed += 1;
        t(shape, dtype, seed)
    };
    let x = draw(&[n, cell.gate_width()]);
    let params: Vec<_> = cell
        .recurrent_params()
        .iter()
        .map(|s| draw(&s.shape))
        .collect();
    let widths: Vec<usize> = cell
        .kind
        .states()
        .iter()
        .map(|&s| cell.state_width(s))
        .collect();
    let state0: Vec<_> = widths.iter().map(|&w| draw(&[b, w])).collect();
    let gout = draw(&[n, cell.out()]);
    let gstate: Vec<_> = widths.iter().map(|&w| Some(draw(&[b, w]))).collect();
    let inputs = SeqInputs {
        cell,
        x_proj: &x,
        params: &params,
        state0: &state0,
        batch_sizes,
        reverse,
        concurrent: false,
    };
    let out = seq_forward(&Cpu, &inputs).unwrap();
    let gr = seq_backward(&Cpu, &out.saved, Some(&gout), &gstate).unwrap();
    let mut all = vec![&out.output, &gr.x_proj];
    all.extend(out.state_n.iter().chain(&gr.params).chain(&gr.state0));
    all.iter().map(|t| t.to_f64_vec().unwrap()).collect()
}

/// [`run`] of a gated cell with `H = 48`, with or without a projection (`P = 24`).
fn pass(
    kind: CellKind,
    dtype: DType,
    batch_sizes: &[usize],
    reverse: bool,
    proj: bool,
) -> Vec<Vec<f64>> {
    let cell = CellSpec {
        kind,
        hidden: 48,
        proj: if proj { 24 } else { 0 },
        bias: true,
    };
    run(cell, dtype, batch_sizes, reverse)
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn two_halves_match_one_thread() {
    let padded = vec![24; 30];
    let packed: Vec<usize> = (0..50).map(|s| 24 - s * 23 / 49).collect();
    for kind in [CellKind::Lstm, CellKind::Gru, CellKind::RnnTanh] {
        for batch_sizes in [&padded, &packed] {
            let work = kind.gates() * 48 * 48;
            let steps = Steps::new(batch_sizes, false);
            assert!(
                in_pool(2, || steps.split_for(work)) < 24,
                "the test must split"
            );
            assert_eq!(in_pool(1, || steps.split_for(work)), 24);
            let beside = Steps::new(batch_sizes, false).concurrent(true);
            assert_eq!(
                in_pool(2, || beside.split_for(work)),
                24,
                "beside another pass"
            );
            for reverse in [false, true] {
                for proj in [false, kind == CellKind::Lstm] {
                    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-5)] {
                        let one = in_pool(1, || pass(kind, dtype, batch_sizes, reverse, proj));
                        let two = in_pool(2, || pass(kind, dtype, batch_sizes, reverse, proj));
                        for (i, (a, b)) in one.iter().zip(&two).enumerate() {
                            for (x, y) in a.iter().zip(b) {
                                assert!(
                                    (x - y).abs() <= tol * (1.0 + x.abs()),
                                    "{kind:?} {dtype:?} packed={} reverse={reverse} proj={proj} \
                                        tensor {i}: {x} vs {y}",
                                    batch_sizes[0] != batch_sizes[batch_sizes.len() - 1]
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn balanced_split_halves_the_rows() {
    let steps = Steps::new(&[4, 4, 3, 1], false);
    // Σ min(bs, 2) = 2 + 2 + 2 + 1 = 7 ≥ 12 / 2.
    assert_eq!(steps.balanced_split(), 2);
    assert_eq!(Steps::new(&[1, 1, 1], true).balanced_split(), 1);
    let mut buf = [0u8; 24];
    let (lo, hi) = steps.split_rows(&mut buf, 2, 2);
    let lens = |v: &Vec<&mut [u8]>| v.iter().map(|s| s.len()).collect::<Vec<_>>();
    assert_eq!((lens(&lo), lens(&hi)), (vec![4, 4, 4, 2], vec![4, 4, 2, 0]));
}

/// Every output and gradient of one scan-cell forward + backward, flattened.
fn scan_pass(kind: CellKind, dtype: DType, batch_sizes: &[usize], reverse: bool) -> Vec<Vec<f64>> {
    run(
        CellSpec::new(kind, SCAN_H, true),
        dtype,
        batch_sizes,
        reverse,
    )
}

/// Hidden size of the scan test: wide enough for the split.
const SCAN_H: usize = 256;

#[test]
fn scan_halves_match_one_thread() {
    let padded = vec![24; 200];
    let packed: Vec<usize> = (0..300).map(|s| 24 - s * 23 / 299).collect();
    for kind in [CellKind::MinGru, CellKind::MinLstm] {
        for batch_sizes in [&padded, &packed] {
            let steps = Steps::new(batch_sizes, false);
            assert!(
                in_pool(2, || steps.split_for(12 * SCAN_H)) < 24,
                "the test must split"
            );
            for reverse in [false, true] {
                for dtype in [DType::F64, DType::F32] {
                    let one = in_pool(1, || scan_pass(kind, dtype, batch_sizes, reverse));
                    let two = in_pool(2, || scan_pass(kind, dtype, batch_sizes, reverse));
                    // the rows never interact: the halves give the same bits
                    assert_eq!(one, two, "{kind:?} {dtype:?} reverse={reverse}");
                }
            }
        }
    }
}
