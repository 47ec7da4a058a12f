//! A direct call of a safe `Backend` method with operands that do not fit is an error
//! naming the op, never an out-of-bounds read or write (the CPU twin of every CUDA check).

use recur_cpu::Cpu;
use recur_tensor::{
    AdamHyper, Backend, BinaryOp, GemmSpec, HostData, MatLayout, SgdHyper, UnaryOp,
};

fn st(n: usize) -> <Cpu as Backend>::Storage {
    Cpu.upload(HostData::F32(vec![1.0; n])).unwrap()
}

fn err<T>(r: recur_tensor::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mismatched_operands_are_errors() {
    let (a3, a4) = (st(3), st(4));
    assert!(err(Cpu.binary(BinaryOp::Add, &a3, &a4)).starts_with("add:"));
    assert!(err(Cpu.unary_backward(UnaryOp::Tanh, &a3, &a4)).starts_with("tanh:"));
    assert!(err(Cpu.axpy(1.0, &a3, &mut st(4))).starts_with("axpy:"));
    assert!(err(Cpu.add_bias_rows(&mut st(6), 4, &a4)).contains("rows of 4"));
    assert!(err(Cpu.add_bias_rows(&mut st(6), 3, &a4)).contains("bias"));
    assert!(err(Cpu.sum_axis(&a3, 2, 2, 1)).starts_with("sum_axis:"));
    assert!(err(Cpu.broadcast_axis(&a3, 2, 2, 2)).starts_with("broadcast_axis:"));
    assert!(err(Cpu.log_softmax(&a3, 2)).starts_with("log_softmax:"));
    assert!(err(Cpu.nll_mean(&a4, 2, &[0, 1, 1])).starts_with("nll_loss:"));
    assert!(err(Cpu.nll_mean(&a4, 2, &[0, 2])).contains("index 2"));
    assert!(err(Cpu.cross_entropy_backward(&a4, 2, &[5, 0], 1.0)).contains("index 5"));
    assert!(err(Cpu.transpose01(&a3, 2, 2, 1)).starts_with("transpose01:"));
    assert!(err(Cpu.gather_rows(&a4, 2, &[0, 2])).contains("index 2"));
    assert!(err(Cpu.scatter_rows(&mut st(4), 2, &[1], &a4)).contains("gradient rows"));
    assert!(err(Cpu.scatter_add_rows(&mut st(4), 2, &[3], &st(2))).contains("index 3"));
    let mut dst = st(4);
    assert!(err(Cpu.copy_block(&a4, 1, 1, 4, 2, &mut dst, 4, 0, 3)).starts_with("copy_block:"));
    assert!(err(Cpu.copy_block(&a4, 2, 1, 4, 0, &mut dst, 4, 0, 1)).starts_with("copy_block:"));
    let h = AdamHyper {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step: 1,
    };
    assert!(
        err(Cpu.adam_step(&mut st(4), &a3, &mut st(4), &mut st(4), &h)).starts_with("adam_step:")
    );
    let mut last = vec![0u64; 1];
    assert!(err(Cpu.adam_rows_catch_up(
        &mut st(4),
        &st(2),
        &mut st(4),
        &mut st(4),
        2,
        &[1],
        &mut last,
        &h
    ))
    .contains("last"));
    assert!(
        err(Cpu.sparse_adam_rows(&mut st(4), &st(2), &mut st(4), &mut st(4), 2, &[2], &h))
            .contains("index 2")
    );
    assert!(err(Cpu.sgd_step(
        &mut st(4),
        &a3,
        None,
        &SgdHyper {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            first: true,
        }
    ))
    .starts_with("sgd_step:"));
    let spec = GemmSpec {
        m: 2,
        n: 2,
        k: 2,
        alpha: 1.0,
        beta: 0.0,
        a: MatLayout::row_major(0, 2),
        b: MatLayout::row_major(0, 2),
        c: MatLayout::row_major(0, 2),
    };
    assert!(err(Cpu.gemm(&spec, &a3, &a4, &mut st(4))).contains("A reaches element 4"));
    assert!(err(Cpu.gemm(&spec, &a4, &a4, &mut st(3))).contains("C reaches"));
    // the same calls with fitting operands succeed
    Cpu.gemm(&spec, &a4, &a4, &mut st(4)).unwrap();
    assert_eq!(Cpu.len_of(&Cpu.binary(BinaryOp::Mul, &a4, &a4).unwrap()), 4);
}
