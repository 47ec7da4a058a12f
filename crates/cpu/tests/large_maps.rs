//! Large maps and reductions split over threads, and outputs written into recycled buffers:
//! the values equal one thread's and a plain serial reference's, and a recycled buffer's old
//! contents (NaNs here) never show through.

use recur_cpu::Cpu;
use recur_tensor::{DType, Tensor};

/// `[rows, cols]` of values in [-2, 2) that differ from row to row and column to column.
fn t(rows: usize, cols: usize, dtype: DType, seed: usize) -> Tensor<Cpu> {
    let v: Vec<f64> = (0..rows * cols)
        .map(|i| (((i + seed) * 7919) % 1013) as f64 / 253.25 - 2.0)
        .collect();
    Tensor::from_f64(&Cpu, &[rows, cols], &v, dtype).unwrap()
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Every large kernel this file covers, flattened: bias rows, column sums, the sum of
/// squares, scaling, log-softmax and the fused cross-entropy with its gradient.
fn run_all(dtype: DType) -> Vec<Vec<f64>> {
    let (rows, cols) = (300, 3001);
    let x = t(rows, cols, dtype, 1);
    let bias = t(1, cols, dtype, 2).to_f64_vec().unwrap();
    let bias = Tensor::from_f64(&Cpu, &[cols], &bias, dtype).unwrap();
    let mut with_bias = x.clone();
    with_bias.add_bias_rows(&bias).unwrap();
    let labels: Vec<usize> = (0..rows).map(|r| (r * 37) % cols).collect();
    let (loss, grad) = x.cross_entropy_with_grad(&labels, 0.25).unwrap();
    vec![
        with_bias.to_f64_vec().unwrap(),
        x.sum_axis(0).unwrap().to_f64_vec().unwrap(),
        vec![x.sum_squares().unwrap()],
        x.scale(-1.5).unwrap().to_f64_vec().unwrap(),
        x.log_softmax().unwrap().to_f64_vec().unwrap(),
        vec![loss],
        grad.to_f64_vec().unwrap(),
    ]
}

#[test]
fn two_threads_give_one_threads_values() {
    for dtype in [DType::F32, DType::F64] {
        let one = in_pool(1, || run_all(dtype));
        let two = in_pool(2, || run_all(dtype));
        assert_eq!(one, two, "{dtype:?}");
    }
}

#[test]
fn large_kernels_match_a_serial_reference() {
    let (rows, cols) = (300, 3001);
    let x = t(rows, cols, DType::F64, 1).to_f64_vec().unwrap();
    let got = run_all(DType::F64);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
    let bias: Vec<f64> = t(1, cols, DType::F64, 2).to_f64_vec().unwrap();
    for (i, &v) in got[0].iter().enumerate() {
        assert!(close(v, x[i] + bias[i % cols]), "bias at {i}");
    }
    for c in 0..cols {
        let s: f64 = (0..rows).map(|r| x[r * cols + c]).sum();
        assert!(close(got[1][c], s), "column sum {c}");
    }
    assert!(close(got[2][0], x.iter().map(|v| v * v).sum()));
    let mut loss = 0.0;
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        for (c, &v) in row.iter().enumerate() {
            assert!(
                close(got[4][r * cols + c], v - lse),
                "log-softmax [{r}, {c}]"
            );
        }
        loss += lse - row[(r * 37) % cols];
    }
    assert!(
        close(got[5][0], loss / rows as f64),
        "{} vs {}",
        got[5][0],
        loss / rows as f64
    );
}

#[test]
fn a_recycled_buffer_never_shows_its_old_values() {
    // buffers over 32 MiB are recycled: fill such buffers with NaN, free them, and make every
    // op that takes an unwritten output buffer reuse them
    let (rows, cols) = (1040, 8300);
    for _ in 0..4 {
        let nan = Tensor::full(&Cpu, &[rows, cols], DType::F32, f64::NAN).unwrap();
        drop(nan);
    }
    let a = t(rows, 64, DType::F32, 3);
    let b = t(cols, 64, DType::F32, 4);
    let product = a.matmul(&b, false, true).unwrap();
    let x = t(rows, cols, DType::F32, 5);
    let outputs = [
        product,
        x.scale(2.0).unwrap(),
        x.log_softmax().unwrap(),
        x.cross_entropy_with_grad(&vec![0; rows], 1.0).unwrap().1,
        x.add(&x).unwrap(),
    ];
    for (i, out) in outputs.iter().enumerate() {
        let v = out.to_f64_vec().unwrap();
        assert!(
            v.iter().all(|x| x.is_finite()),
            "output {i} shows a stale NaN"
        );
    }
    // and the product is the product
    let (av, bv) = (a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
    let p = outputs[0].to_f64_vec().unwrap();
    for (r, c) in [(0, 0), (17, 4000), (1039, 8299)] {
        let s: f64 = (0..64).map(|k| av[r * 64 + k] * bv[c * 64 + k]).sum();
        assert!(
            (p[r * cols + c] - s).abs() < 1e-3,
            "[{r}, {c}]: {} vs {s}",
            p[r * cols + c]
        );
    }
}
