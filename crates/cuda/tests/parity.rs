//! Every CUDA op against its CPU twin of the same name on random inputs (f32, with a
//! tolerance per op). Without a GPU each test says it skipped; with `REQUIRE_GPU=1` a
//! missing GPU is a failure.

use rand::{Rng, SeedableRng};
use recur_cpu::Cpu;
use recur_cuda::Cuda;
use recur_tensor::{
    seq_backward, seq_forward, AdamHyper, Backend, BinaryOp, CellKind, CellSpec, DType, GemmSpec,
    MatLayout, SeqInputs, SgdHyper, Tensor, UnaryOp,
};

/// Momentum 0.9, dampening 0.1, weight decay 0.01, Nesterov, at 0.1.
fn sgd(first: bool) -> SgdHyper {
    SgdHyper {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.1,
        weight_decay: 0.01,
        nesterov: true,
        first,
    }
}

fn gpu() -> Option<Cuda> {
    match Cuda::new(0) {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                std::env::var("REQUIRE_GPU").map_or(true, |v| v != "1"),
                "REQUIRE_GPU=1 but no GPU: {e}"
            );
            println!("SKIPPED (no GPU): {e}");
            None
        }
    }
}

fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| r.gen::<f64>() * 2.0 - 1.0).collect()
}

fn pair(g: &Cuda, shape: &[usize], seed: u64) -> (Tensor<Cpu>, Tensor<Cuda>) {
    let v = rand_vec(shape.iter().product(), seed);
    (
        Tensor::from_f64(&Cpu, shape, &v, DType::F32).unwrap(),
        Tensor::from_f64(g, shape, &v, DType::F32).unwrap(),
    )
}

fn close(op: &str, cpu: &Tensor<Cpu>, gpu: &Tensor<Cuda>, tol: f64) {
    assert_eq!(cpu.shape(), gpu.shape(), "{op}: shapes");
    let (a, b) = (cpu.to_f64_vec().unwrap(), gpu.to_f64_vec().unwrap());
    let scale = a.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{op}[{i}]: cpu {x} vs cuda {y} (tol {tol})"
        );
    }
}

#[test]
fn elementwise_reductions_layout_rows() {
    let Some(g) = gpu() else { return };
    let (c, d) = pair(&g, &[7, 5, 3], 1);
    let (c2, d2) = pair(&g, &[7, 5, 3], 2);
    for &op in UnaryOp::ALL {
        close(
            op.name(),
            &c.unary(op).unwrap(),
            &d.unary(op).unwrap(),
            1e-6,
        );
        close(
            op.backward_name(),
            &c.unary(op).unwrap().unary_backward(op, &c2).unwrap(),
            &d.unary(op).unwrap().unary_backward(op, &d2).unwrap(),
            1e-6,
        );
    }
    for &op in BinaryOp::ALL {
        close(
            op.name(),
            &c.binary(op, &c2).unwrap(),
            &d.binary(op, &d2).unwrap(),
            1e-7,
        );
    }
    close(
        "scale",
        &c.scale(-0.3).unwrap(),
        &d.scale(-0.3).unwrap(),
        1e-7,
    );
    let (mut ca, mut da) = (c.clone(), d.clone());
    ca.axpy(0.7, &c2).unwrap();
    da.axpy(0.7, &d2).unwrap();
    close("axpy", &ca, &da, 1e-6);
    for axis in 0..3 {
        close(
            "sum_axis",
            &c.sum_axis(axis).unwrap(),
            &d.sum_axis(axis).unwrap(),
            1e-5,
        );
        close(
            "broadcast_axis",
            &c.sum_axis(axis).unwrap().broadcast_axis(axis, 4).unwrap(),
            &d.sum_axis(axis).unwrap().broadcast_axis(axis, 4).unwrap(),
            1e-5,
        );
        close(
            "narrow",
            &c.narrow(axis, 1, 2).unwrap(),
            &d.narrow(axis, 1, 2).unwrap(),
            0.0,
        );
        close(
            "cat",
            &Tensor::cat(&[&c, &c2], axis).unwrap(),
            &Tensor::cat(&[&d, &d2], axis).unwrap(),
            0.0,
        );
    }
    close(
        "transpose01",
        &c.transpose01().unwrap(),
        &d.transpose01().unwrap(),
        0.0,
    );
    let (cb, db) = pair(&g, &[3], 3);
    let (mut cm, mut dm) = (c.reshape(&[35, 3]).unwrap(), d.reshape(&[35, 3]).unwrap());
    cm.add_bias_rows(&cb).unwrap();
    dm.add_bias_rows(&db).unwrap();
    close("add_bias_rows", &cm, &dm, 1e-7);
    let idx = [4, 0, 6, 4, 2];
    close(
        "gather_rows",
        &c.gather_rows(&idx).unwrap(),
        &d.gather_rows(&idx).unwrap(),
        0.0,
    );
    let (cs, ds) = pair(&g, &[5, 5, 3], 4);
    close(
        "scatter_add_rows",
        &cs.scatter_rows(7, &idx, 0.0, true).unwrap(),
        &ds.scatter_rows(7, &idx, 0.0, true).unwrap(),
        1e-6,
    );
    close(
        "scatter_rows",
        &cs.scatter_rows(9, &[8, 0, 3, 5, 1], -1.5, false).unwrap(),
        &ds.scatter_rows(9, &[8, 0, 3, 5, 1], -1.5, false).unwrap(),
        0.0,
    );
    let labels = [0, 2, 1, 1, 0, 2, 2];
    let (cl, dl) = (
        c.reshape(&[7, 15]).unwrap().narrow(1, 0, 3).unwrap(),
        d.reshape(&[7, 15]).unwrap().narrow(1, 0, 3).unwrap(),
    );
    let (lc, ld) = (cl.log_softmax().unwrap(), dl.log_softmax().unwrap());
    close("log_softmax", &lc, &ld, 1e-6);
    assert!(
        (lc.nll_mean(&labels).unwrap() - ld.nll_mean(&labels).unwrap()).abs() < 1e-6,
        "nll_loss"
    );
    close(
        "cross_entropy_backward",
        &lc.cross_entropy_backward(&labels, 0.25).unwrap(),
        &ld.cross_entropy_backward(&labels, 0.25).unwrap(),
        1e-6,
    );
}

#[test]
fn gemm_every_transpose() {
    let Some(g) = gpu() else { return };
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let (m, k, n) = (13, 29, 7);
        let sa = if ta { [k, m] } else { [m, k] };
        let sb = if tb { [n, k] } else { [k, n] };
        let (ca, da) = pair(&g, &sa, 5);
        let (cb, db) = pair(&g, &sb, 6);
        close(
            "matmul",
            &ca.matmul(&cb, ta, tb).unwrap(),
            &da.matmul(&db, ta, tb).unwrap(),
            1e-5,
        );
    }
    // strided, accumulating: C[2.., :] += A·Bᵀ
    let (ca, da) = pair(&g, &[4, 6], 7);
    let (cb, db) = pair(&g, &[5, 6], 8);
    let (mut cc, mut dc) = pair(&g, &[7, 5], 9);
    let spec = GemmSpec {
        m: 4,
        n: 5,
        k: 6,
        alpha: 0.5,
        beta: 1.0,
        a: MatLayout::row_major(0, 6),
        b: MatLayout::row_major(0, 6).t(),
        c: MatLayout::row_major(10, 5),
    };
    cc.gemm_into(&spec, &ca, &cb).unwrap();
    dc.gemm_into(&spec, &da, &db).unwrap();
    close("gemm strided", &cc, &dc, 1e-5);
}

#[test]
fn optimizers() {
    let Some(g) = gpu() else { return };
    let (cg, dg) = pair(&g, &[40, 3], 10);
    let (mut cp, mut dp) = pair(&g, &[40, 3], 11);
    let (mut cm, mut dm) = (cp.zeros_like().unwrap(), dp.zeros_like().unwrap());
    let (mut cv, mut dv) = (cm.clone(), dm.clone());
    for step in 1..=4 {
        let h = AdamHyper {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            step,
        };
        cp.adam_step(&cg, &mut cm, &mut cv, &h).unwrap();
        dp.adam_step(&dg, &mut dm, &mut dv, &h).unwrap();
    }
    close("adam_step", &cp, &dp, 1e-5);
    let rows = [3, 17, 0];
    let (crg, drg) = pair(&g, &[3, 3], 12);
    let (mut cl, mut dl) = (vec![0u64; 40], vec![0u64; 40]);
    for step in [5, 9] {
        let h = AdamHyper {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step,
        };
        cp.adam_rows_catch_up(&crg, &mut cm, &mut cv, &rows, &mut cl, &h)
            .unwrap();
        dp.adam_rows_catch_up(&drg, &mut dm, &mut dv, &rows, &mut dl, &h)
            .unwrap();
    }
    close("adam_rows_catch_up", &cp, &dp, 1e-5);
    let h = AdamHyper {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step: 3,
    };
    cp.sparse_adam_rows(&crg, &mut cm, &mut cv, &rows, &h)
        .unwrap();
    dp.sparse_adam_rows(&drg, &mut dm, &mut dv, &rows, &h)
        .unwrap();
    close("sparse_adam_rows", &cp, &dp, 1e-5);
    let (mut cb, mut db) = (cp.zeros_like().unwrap(), dp.zeros_like().unwrap());
    for first in [true, false] {
        cp.sgd_step(&cg, Some(&mut cb), &sgd(first)).unwrap();
        dp.sgd_step(&dg, Some(&mut db), &sgd(first)).unwrap();
    }
    close("sgd_step", &cp, &dp, 1e-5);
}

/// The inputs of one pass on backend `B`.
fn pass<'a, B: Backend>(
    cell: CellSpec,
    x_proj: &'a Tensor<B>,
    params: &'a [Tensor<B>],
    state0: &'a [Tensor<B>],
    batch_sizes: &'a [usize],
    reverse: bool,
) -> SeqInputs<'a, B> {
    SeqInputs {
        cell,
        x_proj,
        params,
        state0,
        batch_sizes,
        reverse,
        concurrent: false,
    }
}

/// One fused pass of `cell` on both backends from the same random inputs (every parameter
/// and state the cell declares), forward and backward, with and without an output gradient.
fn check_pass(g: &Cuda, name: &str, cell: CellSpec, bs: &[usize], reverse: bool, seed: u64) {
    let (n, b) = (bs.iter().sum::<usize>(), bs[0]);
    let mut seed = seed;
    let mut draw = |shape: &[usize]| {
        seed += 1;
        pair(g, shape, seed)
    };
    let (cx, dx) = draw(&[n, cell.gate_width()]);
    let (cp, dp): (Vec<_>, Vec<_>) = cell
        .recurrent_params()
        .iter()
        .map(|s| draw(&s.shape))
        .unzip();
    let widths: Vec<usize> = cell
        .kind
        .states()
        .iter()
        .map(|&s| cell.state_width(s))
        .collect();
    let (cs, ds): (Vec<_>, Vec<_>) = widths.iter().map(|&w| draw(&[b, w])).unzip();
    let (cgo, dgo) = draw(&[n, cell.out()]);
    let (cgs, dgs): (Vec<_>, Vec<_>) = widths.iter().map(|&w| draw(&[b, w])).unzip();
    let co = seq_forward(&Cpu, &pass(cell, &cx, &cp, &cs, bs, reverse)).unwrap();
    let dout = seq_forward(g, &pass(cell, &dx, &dp, &ds, bs, reverse)).unwrap();
    let fwd = format!("{name} forward");
    close(&fwd, &co.output, &dout.output, 1e-5);
    assert_eq!(co.state_n.len(), dout.state_n.len(), "{fwd}: states");
    for (c, d) in co.state_n.iter().zip(&dout.state_n) {
        close(&format!("{fwd} state_n"), c, d, 1e-5);
    }
    let (cgs, dgs): (Vec<_>, Vec<_>) = (
        cgs.into_iter().map(Some).collect(),
        dgs.into_iter().map(Some).collect(),
    );
    for with_output in [true, false] {
        let bwd = format!("{name} backward (output gradient: {with_output})");
        let cg = seq_backward(&Cpu, &co.saved, with_output.then_some(&cgo), &cgs).unwrap();
        let dg = seq_backward(g, &dout.saved, with_output.then_some(&dgo), &dgs).unwrap();
        close(&format!("{bwd} x_proj"), &cg.x_proj, &dg.x_proj, 1e-4);
        assert_eq!(cg.params.len(), dg.params.len(), "{bwd}: params");
        for (slot, (c, d)) in cell
            .recurrent_params()
            .iter()
            .zip(cg.params.iter().zip(&dg.params))
        {
            close(&format!("{bwd} {}", slot.name), c, d, 1e-4);
        }
        assert_eq!(cg.state0.len(), dg.state0.len(), "{bwd}: states");
        for (c, d) in cg.state0.iter().zip(&dg.state0) {
            close(&format!("{bwd} state0"), c, d, 1e-4);
        }
    }
}

#[test]
fn fused_recurrent_ops() {
    let Some(g) = gpu() else { return };
    // Layers with H <= 64 (LSTMs without projection) take the persistent kernels (H = 6, 32,
    // 40, 64 cover both register widths); H > 64 and the projected LSTM take the per-step path.
    let cases: [(CellKind, usize, usize, Vec<usize>, bool); 13] = [
        (CellKind::Lstm, 6, 0, vec![5, 5, 4, 2, 1], false),
        (CellKind::Lstm, 6, 3, vec![5, 3, 3, 1], true),
        (CellKind::Lstm, 32, 0, vec![5, 5, 4, 2, 1], true),
        (CellKind::Lstm, 64, 0, vec![5, 4, 4, 1], false),
        (CellKind::Lstm, 80, 0, vec![5, 3, 2], true),
        (CellKind::Gru, 6, 0, vec![5, 5, 5], false),
        (CellKind::Gru, 6, 0, vec![5, 4, 2, 2], true),
        (CellKind::RnnTanh, 6, 0, vec![5, 2, 1], true),
        (CellKind::RnnRelu, 6, 0, vec![5, 5, 3], false),
        (CellKind::Lstm, 40, 0, vec![5, 5, 5, 5, 5, 5], true),
        (CellKind::Gru, 80, 0, vec![5, 4, 1], false),
        (CellKind::Gru, 40, 0, vec![5, 5, 3, 3, 1], true),
        (CellKind::RnnTanh, 70, 0, vec![5, 5, 2], true),
    ];
    for (k, (kind, h, proj, bs, reverse)) in cases.into_iter().enumerate() {
        let cell = CellSpec {
            kind,
            hidden: h,
            proj,
            // one case without biases
            bias: k != 6,
        };
        let name = format!("{} #{k}", kind.name());
        check_pass(&g, &name, cell, &bs, reverse, 100 + 10 * k as u64);
    }
}

#[test]
fn scan_cells() {
    let Some(g) = gpu() else { return };
    // Rows of lengths 150, 97, 33 and 1: more steps than the kernel has chunks, so the
    // chunks' composed maps (not only the replay) carry the state.
    let long: Vec<usize> = (0..150)
        .map(|t| [150, 97, 33, 1].iter().filter(|&&l| l > t).count())
        .collect();
    let cases: [(CellKind, usize, Vec<usize>, bool); 8] = [
        (CellKind::MinGru, 6, vec![5, 5, 4, 2, 1], false),
        (CellKind::MinGru, 6, vec![5, 5, 4, 2, 1], true),
        (CellKind::MinGru, 300, vec![7, 7, 7, 7], false),
        (CellKind::MinGru, 40, long.clone(), true),
        (CellKind::MinLstm, 6, vec![5, 3, 3, 1], true),
        (CellKind::MinLstm, 6, vec![5, 5, 5], false),
        (CellKind::MinLstm, 130, vec![9, 8, 8, 3, 1], true),
        (CellKind::MinLstm, 33, long, false),
    ];
    for (k, (kind, h, bs, reverse)) in cases.into_iter().enumerate() {
        let name = format!("{} #{k}", kind.name());
        let cell = CellSpec::new(kind, h, true);
        check_pass(&g, &name, cell, &bs, reverse, 500 + 10 * k as u64);
    }
}

#[test]
fn missing_gpu_is_a_clear_error_not_a_crash() {
    match Cuda::new(0) {
        Ok(g) => assert_eq!(g.name(), "cuda"),
        Err(e) => assert!(e.to_string().contains("cuda"), "{e}"),
    }
}
