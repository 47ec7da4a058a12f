//! Layer misuse is a clear error naming what was expected and found, as PyTorch words it.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{rng, ParamStore, Recurrent, RecurrentConfig};
use recur_tensor::{CellKind, DType, Tensor};

fn layer(cfg: RecurrentConfig) -> Result<Recurrent, String> {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    Recurrent::new(&mut store, "rnn", cfg, &mut rng(0)).map_err(|e| e.to_string())
}

#[test]
fn bad_configurations() {
    let mut c = RecurrentConfig::lstm(4, 3);
    c.proj_size = 3;
    assert!(layer(c.clone())
        .unwrap_err()
        .contains("proj_size (3) has to be smaller than hidden_size (3)"));
    c.proj_size = 0;
    c.dropout = 1.5;
    assert!(layer(c.clone())
        .unwrap_err()
        .contains("dropout should be a number in range [0, 1]"));
    let mut g = RecurrentConfig::gru(4, 3);
    g.proj_size = 1;
    assert!(layer(g).unwrap_err().contains("only supported for LSTM"));
    let mut z = RecurrentConfig::rnn(4, 3);
    z.num_layers = 0;
    assert!(layer(z).unwrap_err().contains("num_layers"));
    // dropout with one layer is a warning, not an error
    let mut w = RecurrentConfig::lstm(4, 3);
    w.dropout = 0.5;
    assert_eq!(w.validate().unwrap().len(), 1);
}

#[test]
fn bad_shapes() {
    let mut cfg = RecurrentConfig::lstm(4, 3);
    cfg.batch_first = true;
    cfg.num_layers = 2;
    assert_eq!(cfg.kind, CellKind::Lstm);
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let l = Recurrent::new(&mut store, "rnn", cfg, &mut rng(0)).unwrap();
    let tape = Tape::new(&Cpu);
    let t = |shape: &[usize]| tape.constant(Tensor::zeros(&Cpu, shape, DType::F64).unwrap());
    let err = |r: Result<recur_layers::RecurrentOutput, recur_layers::LayerError>| {
        r.unwrap_err().to_string()
    };
    let e = err(l.forward(&tape, &store, t(&[2, 5, 7]), None, None, None));
    assert!(
        e.contains("input.size(-1) must be equal to input_size. Expected 4, got 7"),
        "{e}"
    );
    let e = err(l.forward(
        &tape,
        &store,
        t(&[2, 5, 4]),
        Some(t(&[2, 3, 3])),
        None,
        None,
    ));
    assert!(
        e.contains("expected hidden size [2, 2, 3], got [2, 3, 3]"),
        "{e}"
    );
    let e = err(l.forward(
        &tape,
        &store,
        t(&[2, 5, 4]),
        Some(t(&[2, 2, 3])),
        Some(t(&[2, 2, 4])),
        None,
    ));
    assert!(
        e.contains("expected cell size [2, 2, 3], got [2, 2, 4]"),
        "{e}"
    );
    let e = err(l.forward(&tape, &store, t(&[5, 4]), None, None, None));
    assert!(e.contains("3-D input"), "{e}");
}
