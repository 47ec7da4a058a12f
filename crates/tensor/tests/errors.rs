//! Bad shapes and indices are errors naming the op and the shapes, never panics.

use recur_cpu::Cpu;
use recur_tensor::{
    seq_backward, seq_forward, CellKind, CellSaved, CellSpec, DType, Error, SeqInputs, SeqSaved,
    Tensor,
};

fn t(shape: &[usize]) -> Tensor<Cpu> {
    let n = shape.iter().product();
    Tensor::from_f64(&Cpu, shape, &vec![0.5; n], DType::F32).unwrap()
}

fn msg<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn gemm_with_mismatched_inner_dims() {
    let e = msg(t(&[2, 3]).matmul(&t(&[4, 5]), false, false));
    assert!(
        e.contains("matmul") && e.contains("[2, 3]") && e.contains("[4, 5]"),
        "{e}"
    );
}

#[test]
fn gather_out_of_range() {
    let e = msg(t(&[3, 2]).gather_rows(&[0, 3]));
    assert!(
        e.contains("gather_rows") && e.contains("index 3") && e.contains("size 3"),
        "{e}"
    );
}

#[test]
fn other_shape_errors() {
    assert!(msg(t(&[2, 3]).add(&t(&[3, 2]))).contains("add"));
    assert!(msg(t(&[2, 3]).reshape(&[4])).contains("reshape"));
    assert!(msg(t(&[2, 3]).narrow(1, 2, 2)).contains("narrow"));
    assert!(msg(Tensor::cat(&[&t(&[2, 3]), &t(&[3, 3])], 1)).contains("cat"));
    assert!(msg(t(&[2, 3]).sum_axis(2)).contains("sum_axis"));
    assert!(msg(t(&[2, 3]).nll_mean(&[0, 3])).contains("index 3"));
    assert!(msg(Tensor::<Cpu>::from_f64(
        &Cpu,
        &[2, 2],
        &[1.0; 3],
        DType::F64
    ))
    .contains("from_host"));
    let f64t = Tensor::from_f64(&Cpu, &[2, 3], &[1.0; 6], DType::F64).unwrap();
    assert!(msg(t(&[2, 3]).add(&f64t)).contains("dtype"));
}

#[test]
fn add_rows_checks_shapes_and_indices_and_adds() {
    let mut d = t(&[4, 3]);
    let e = msg(d.add_rows(&[0, 1], &t(&[2, 2])));
    assert!(
        e.contains("add_rows") && e.contains("[4, 3]") && e.contains("[2, 2]"),
        "{e}"
    );
    let e = msg(d.add_rows(&[0], &t(&[2, 3])));
    assert!(e.contains("1 indices") && e.contains("[2, 3]"), "{e}");
    let e = msg(d.add_rows(&[0, 4], &t(&[2, 3])));
    assert!(e.contains("index 4") && e.contains("size 4"), "{e}");
    let e = msg(Tensor::<Cpu>::zeros(&Cpu, &[], DType::F32)
        .unwrap()
        .add_rows(&[], &t(&[0])));
    assert!(e.contains("add_rows"), "{e}");
    // repeated rows accumulate; the others keep their values
    d.add_rows(&[2, 0, 2], &t(&[3, 3])).unwrap();
    let v = d.to_f64_vec().unwrap();
    assert_eq!(&v[..3], &[1.0; 3]);
    assert_eq!(&v[3..6], &[0.5; 3]);
    assert_eq!(&v[6..9], &[1.5; 3]);
}

/// A pass of `cell` (hidden size 2, no bias) over 3 steps of 2, 2 and 1 rows.
fn inputs<'a>(
    kind: CellKind,
    x: &'a Tensor<Cpu>,
    params: &'a [Tensor<Cpu>],
    state0: &'a [Tensor<Cpu>],
) -> SeqInputs<'a, Cpu> {
    SeqInputs {
        cell: CellSpec::new(kind, 2, false),
        x_proj: x,
        params,
        state0,
        batch_sizes: &[2, 2, 1],
        reverse: false,
        concurrent: false,
    }
}

#[test]
fn recurrent_op_validates_everything_the_cell_declares() {
    let x = t(&[5, 8]);
    let (w, states) = ([t(&[8, 2])], [t(&[2, 2]), t(&[2, 2])]);
    let ok = inputs(CellKind::Lstm, &x, &w, &states);
    assert_eq!(ok.validate().unwrap(), (5, 2, 2));
    let e = msg(SeqInputs {
        batch_sizes: &[1, 2, 2],
        ..ok
    }
    .validate());
    assert!(e.contains("non-increasing"), "{e}");
    let e = msg(SeqInputs {
        batch_sizes: &[2, 2, 2],
        ..ok
    }
    .validate());
    assert!(e.contains("x_proj") && e.contains("[6, 8]"), "{e}");
    let bad_h0 = [t(&[3, 2]), t(&[2, 2])];
    let e = msg(SeqInputs {
        state0: &bad_h0,
        ..ok
    }
    .validate());
    assert!(e.contains("h0") && e.contains("[2, 2]"), "{e}");
    let bad_c0 = [t(&[2, 2]), t(&[2, 3])];
    let e = msg(SeqInputs {
        state0: &bad_c0,
        ..ok
    }
    .validate());
    assert!(e.contains("c0") && e.contains("[2, 3]"), "{e}");
    // an LSTM carries two states, the other cells one
    let e = msg(SeqInputs {
        state0: &states[..1],
        ..ok
    }
    .validate());
    assert!(e.contains("2 initial states, found 1"), "{e}");
    let (gx, gw) = (t(&[5, 6]), [t(&[6, 2])]);
    let e = msg(inputs(CellKind::Gru, &gx, &gw, &states).validate());
    assert!(e.contains("1 initial states, found 2"), "{e}");
    // the parameters the cell declares, each with its shape
    let bias = CellSpec::new(CellKind::Lstm, 2, true);
    let e = msg(SeqInputs { cell: bias, ..ok }.validate());
    assert!(
        e.contains("weight_hh") && e.contains("bias_hh") && e.contains("found 1"),
        "{e}"
    );
    let bad_w = [t(&[8, 3])];
    let e = msg(SeqInputs {
        params: &bad_w,
        ..ok
    }
    .validate());
    assert!(e.contains("weight_hh") && e.contains("[8, 2]"), "{e}");
    // a projection is the LSTM's alone, and declares weight_hr [P, H]
    let proj = CellSpec {
        proj: 1,
        ..CellSpec::new(CellKind::Gru, 2, false)
    };
    let gru = inputs(CellKind::Gru, &gx, &gw, &states[..1]);
    assert!(gru.validate().is_ok());
    let e = msg(SeqInputs { cell: proj, ..gru }.validate());
    assert!(
        e.contains("projection") && e.contains("only for LSTM"),
        "{e}"
    );
    // a scan cell takes no recurrent parameter
    let (sx, sh0) = (t(&[5, 4]), [t(&[2, 2])]);
    assert_eq!(
        inputs(CellKind::MinGru, &sx, &[], &sh0).validate().unwrap(),
        (5, 2, 2)
    );
    let e = msg(inputs(CellKind::MinGru, &sx, &w, &sh0).validate());
    assert!(e.contains("0 recurrent parameters"), "{e}");
    let e = msg(inputs(CellKind::MinLstm, &sx, &[], &sh0).validate());
    assert!(e.contains("x_proj") && e.contains("[5, 6]"), "{e}");
    let h0_f64 = [Tensor::from_f64(&Cpu, &[2, 2], &[0.0; 4], DType::F64).unwrap()];
    let e = msg(inputs(CellKind::MinGru, &sx, &[], &h0_f64).validate());
    assert!(e.contains("F64") || e.contains("f64"), "{e}");
}

#[test]
fn backward_checks_the_gradients_and_the_saved_buffers() {
    let x = t(&[5, 8]);
    let (w, states) = ([t(&[8, 2])], [t(&[2, 2]), t(&[2, 2])]);
    let lstm = inputs(CellKind::Lstm, &x, &w, &states);
    let mut saved = seq_forward(&Cpu, &lstm).unwrap().saved;
    let grads = [Some(t(&[2, 2])), Some(t(&[2, 2]))];
    let g = seq_backward(&Cpu, &saved, Some(&t(&[5, 2])), &grads).unwrap();
    assert_eq!((g.params.len(), g.state0.len()), (1, 2));
    assert!(seq_backward(&Cpu, &saved, None, &[]).is_ok());
    let e = msg(seq_backward(&Cpu, &saved, Some(&t(&[4, 2])), &[]));
    assert!(e.contains("grad_output") && e.contains("[5, 2]"), "{e}");
    let e = msg(seq_backward(&Cpu, &saved, None, &[None, Some(t(&[3, 2]))]));
    assert!(e.contains("grad_c_n"), "{e}");
    let e = msg(seq_backward(&Cpu, &saved, None, &[None, None, None]));
    assert!(e.contains("3 final-state gradients"), "{e}");
    // an LSTM's buffers handed to the GRU backward, and a GRU's to the LSTM's
    saved.cell.kind = CellKind::Gru;
    let e = msg(seq_backward(&Cpu, &saved, None, &[]));
    assert!(e.contains("another cell"), "{e}");
    saved.cell.kind = CellKind::Lstm;
    saved.buffers = CellSaved::Gru {
        gates: t(&[5, 6]),
        gh_n: t(&[5, 2]),
    };
    let e = msg(seq_backward(&Cpu, &saved, None, &[]));
    assert!(e.contains("another cell"), "{e}");
    // a pass's buffers must be of its kind
    let e = msg(SeqSaved::from_inputs(&lstm, x.clone(), CellSaved::Rnn));
    assert!(e.contains("another cell"), "{e}");
    // a scan cell's backward
    let (sx, sh0) = (t(&[5, 4]), [t(&[2, 2])]);
    let saved = seq_forward(&Cpu, &inputs(CellKind::MinGru, &sx, &[], &sh0))
        .unwrap()
        .saved;
    let g = seq_backward(&Cpu, &saved, Some(&t(&[5, 2])), &[]).unwrap();
    assert_eq!(
        (g.x_proj.shape(), g.params.len(), g.state0.len()),
        (&[5, 4][..], 0, 1)
    );
    let e = msg(seq_backward(&Cpu, &saved, None, &[Some(t(&[3, 2]))]));
    assert!(e.contains("grad_h_n"), "{e}");
}
