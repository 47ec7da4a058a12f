//! Bad shapes and indices are errors naming the op and the shapes, never panics.

use recur_cpu::Cpu;
use recur_tensor::{
    scan_backward, scan_forward, seq_backward, seq_forward, CellKind, CellSaved, DType, Error,
    ScanInputs, SeqInputs, SeqSaved, Tensor,
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

/// An LSTM pass over 3 steps of 2, 2 and 1 rows with hidden size 2.
fn lstm_inputs<'a>(
    x: &'a Tensor<Cpu>,
    w: &'a Tensor<Cpu>,
    h0: &'a Tensor<Cpu>,
    c0: &'a Tensor<Cpu>,
) -> SeqInputs<'a, Cpu> {
    SeqInputs {
        kind: CellKind::Lstm,
        hidden: 2,
        x_proj: x,
        w_hh: w,
        b_hh: None,
        w_hr: None,
        h0,
        c0: Some(c0),
        batch_sizes: &[2, 2, 1],
        reverse: false,
        concurrent: false,
    }
}

#[test]
fn recurrent_op_validates_everything() {
    let (x, w, h0, c0) = (t(&[5, 8]), t(&[8, 2]), t(&[2, 2]), t(&[2, 2]));
    let ok = lstm_inputs(&x, &w, &h0, &c0);
    assert!(ok.validate().is_ok());
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
    let bad_h0 = t(&[3, 2]);
    let e = msg(SeqInputs { h0: &bad_h0, ..ok }.validate());
    assert!(e.contains("h0"), "{e}");
    let e = msg(SeqInputs { c0: None, ..ok }.validate());
    assert!(e.contains("c0"), "{e}");
}

#[test]
fn saved_state_of_another_cell_is_an_error() {
    let (x, w, h0, c0) = (t(&[5, 8]), t(&[8, 2]), t(&[2, 2]), t(&[2, 2]));
    let lstm = lstm_inputs(&x, &w, &h0, &c0);
    let mut saved = seq_forward(&Cpu, &lstm).unwrap().saved;
    assert!(seq_backward(&Cpu, &saved, None, Some(&h0), Some(&c0)).is_ok());
    // an LSTM's state handed to the GRU backward, and a GRU's state to the LSTM's
    saved.kind = CellKind::Gru;
    let e = msg(seq_backward(&Cpu, &saved, None, Some(&h0), None));
    assert!(e.contains("another cell") || e.contains("gates"), "{e}");
    saved.kind = CellKind::Lstm;
    saved.cell = CellSaved::Gru { gh_n: t(&[5, 2]) };
    let e = msg(seq_backward(&Cpu, &saved, None, Some(&h0), None));
    assert!(e.contains("another cell"), "{e}");
    // a saved state must be of its pass's kind, and a projection saves what it projected
    let e = msg(SeqSaved::from_inputs(
        &lstm,
        x.clone(),
        x.clone(),
        CellSaved::Rnn,
    ));
    assert!(e.contains("another cell"), "{e}");
    let e = msg(CellSaved::lstm(&lstm, t(&[5, 2]), Some(t(&[5, 2]))));
    assert!(e.contains("hidden_pre without w_hr"), "{e}");
}

#[test]
fn scan_op_validates_everything_and_each_family_refuses_the_other() {
    let (x, h0) = (t(&[5, 4]), t(&[2, 2]));
    let ok = ScanInputs {
        kind: CellKind::MinGru,
        hidden: 2,
        x_proj: &x,
        h0: &h0,
        batch_sizes: &[2, 2, 1],
        reverse: false,
    };
    assert_eq!(ok.validate().unwrap(), (5, 2));
    let e = msg(ScanInputs {
        kind: CellKind::MinLstm,
        ..ok
    }
    .validate());
    assert!(e.contains("x_proj") && e.contains("[5, 6]"), "{e}");
    let e = msg(ScanInputs {
        kind: CellKind::Gru,
        ..ok
    }
    .validate());
    assert!(e.contains("not a scan cell"), "{e}");
    let e = msg(ScanInputs {
        batch_sizes: &[2, 0, 1],
        ..ok
    }
    .validate());
    assert!(e.contains("zero"), "{e}");
    let bad_h0 = t(&[2, 3]);
    let e = msg(ScanInputs { h0: &bad_h0, ..ok }.validate());
    assert!(e.contains("h0") && e.contains("[2, 2]"), "{e}");
    let h0_f64 = Tensor::from_f64(&Cpu, &[2, 2], &[0.0; 4], DType::F64).unwrap();
    assert!(ScanInputs { h0: &h0_f64, ..ok }.validate().is_err());
    // the gated op refuses a scan cell
    let (w, c0) = (t(&[4, 2]), t(&[2, 2]));
    let e = msg(seq_forward(
        &Cpu,
        &SeqInputs {
            kind: CellKind::MinGru,
            c0: None,
            w_hh: &w,
            x_proj: &x,
            ..lstm_inputs(&x, &w, &h0, &c0)
        },
    ));
    assert!(e.contains("scan cell"), "{e}");
    // backward checks the gradients against what the pass saved
    let saved = scan_forward(&Cpu, &ok).unwrap().saved;
    assert!(scan_backward(&Cpu, &saved, Some(&t(&[5, 2])), None).is_ok());
    let e = msg(scan_backward(&Cpu, &saved, Some(&t(&[4, 2])), None));
    assert!(e.contains("grad_output") && e.contains("[5, 2]"), "{e}");
    let e = msg(scan_backward(&Cpu, &saved, None, Some(&t(&[3, 2]))));
    assert!(e.contains("grad_h_n"), "{e}");
}
