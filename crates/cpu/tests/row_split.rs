//! Large batches run their rows as two halves on two threads. The halves must give the same
//! values and gradients as one thread doing every row: every cell kind, padded and packed,
//! both directions, with and without an LSTM projection, f32 and f64; the scan cells too.

use recur_cpu::kernels::steps::Steps;
use recur_cpu::Cpu;
use recur_tensor::{
    scan_backward, scan_forward, seq_backward, seq_forward, CellKind, DType, ScanInputs, SeqInputs,
    Tensor,
};

fn t(shape: &[usize], dtype: DType, seed: usize) -> Tensor<Cpu> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| (((i + seed) * 7919) % 101) as f64 / 101.0 - 0.5)
        .collect();
    Tensor::from_f64(&Cpu, shape, &v, dtype).unwrap()
}

/// Every output and gradient of one forward + backward, flattened.
fn pass(
    kind: CellKind,
    dtype: DType,
    batch_sizes: &[usize],
    reverse: bool,
    proj: bool,
) -> Vec<Vec<f64>> {
    let (b, h) = (batch_sizes[0], 48);
    let p = if proj { 24 } else { h };
    let n: usize = batch_sizes.iter().sum();
    let g = kind.gates() * h;
    let (x, w, bias) = (
        t(&[n, g], dtype, 1),
        t(&[g, p], dtype, 2),
        t(&[g], dtype, 3),
    );
    let (w_hr, h0, c0) = (
        t(&[p, h], dtype, 4),
        t(&[b, p], dtype, 5),
        t(&[b, h], dtype, 6),
    );
    let (gout, gh, gc) = (
        t(&[n, p], dtype, 7),
        t(&[b, p], dtype, 8),
        t(&[b, h], dtype, 9),
    );
    let lstm = kind == CellKind::Lstm;
    let inputs = SeqInputs {
        kind,
        hidden: h,
        x_proj: &x,
        w_hh: &w,
        b_hh: Some(&bias),
        w_hr: proj.then_some(&w_hr),
        h0: &h0,
        c0: lstm.then_some(&c0),
        batch_sizes,
        reverse,
        concurrent: false,
    };
    let out = seq_forward(&Cpu, &inputs).unwrap();
    let gr = seq_backward(
        &Cpu,
        &out.saved,
        Some(&gout),
        Some(&gh),
        lstm.then_some(&gc),
    )
    .unwrap();
    let mut all = vec![&out.output, &out.h_n, &gr.x_proj, &gr.w_hh, &gr.h0];
    all.extend(out.c_n.iter().chain(&gr.b_hh).chain(&gr.w_hr).chain(&gr.c0));
    all.iter().map(|t| t.to_f64_vec().unwrap()).collect()
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
    let (b, h) = (batch_sizes[0], SCAN_H);
    let n: usize = batch_sizes.iter().sum();
    let (x, h0) = (t(&[n, kind.gates() * h], dtype, 1), t(&[b, h], dtype, 5));
    let (gout, gh) = (t(&[n, h], dtype, 7), t(&[b, h], dtype, 8));
    let inputs = ScanInputs {
        kind,
        hidden: h,
        x_proj: &x,
        h0: &h0,
        batch_sizes,
        reverse,
    };
    let out = scan_forward(&Cpu, &inputs).unwrap();
    let gr = scan_backward(&Cpu, &out.saved, Some(&gout), Some(&gh)).unwrap();
    [&out.output, &out.h_n, &gr.x_proj, &gr.h0]
        .iter()
        .map(|t| t.to_f64_vec().unwrap())
        .collect()
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
