//! PyTorch parity for cells and recurrent layers (padded and packed, every gradient), in
//! f64 and f32, against `tests/golden/{cells,rnn}` (or `$RECUR_GOLDEN_DIR`); minGRU and
//! minLSTM against the PyTorch reference `MinRNN` of `make.py`.
//!
//! The goldens are made by `cell_case` and `rnn_case` in `tests/golden/make.py` (`cargo
//! xtask goldens`) with PyTorch 2.15 as: `out, h_n[, c_n] = module(input, h0[, c0])`
//! (packed cases: `pack_padded_sequence(input, lengths, batch_first=True,
//! enforce_sorted=False)` then `pad_packed_sequence(.., total_length=T)`), and
//! `loss = (out*W_o).sum() + (h_n*W_h).sum() [+ (c_n*W_c).sum()]; loss.backward()`.

use recur_autograd::{Tape, Var};
use recur_cpu::Cpu;
use recur_layers::{rng, Bias, Cell, ParamStore, Recurrent, RecurrentConfig};
use recur_packed::{pack_padded_sequence, pad_packed_sequence, Layout, Order};
use recur_tensor::{CellKind, DType};
use recur_testkit::{cases, check_tensor, golden, ints, Golden};
use serde_json::Value;

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

fn kind_of(module: &str) -> CellKind {
    match module {
        "RNN_TANH" | "RNNCell_tanh" => CellKind::RnnTanh,
        "RNN_RELU" | "RNNCell_relu" => CellKind::RnnRelu,
        "LSTM" | "LSTMCell" => CellKind::Lstm,
        "GRU" | "GRUCell" => CellKind::Gru,
        "MinGRU" => CellKind::MinGru,
        "MinLSTM" => CellKind::MinLstm,
        other => panic!("unknown module {other}"),
    }
}

/// `Σ value·weights` on the tape (the goldens' loss convention).
fn weighted_sum(tape: &Tape<Cpu>, v: Var, w: &Golden, dtype: DType) -> Var {
    let w = tape.constant(w.tensor(&Cpu, dtype));
    tape.sum_all(tape.mul(v, w).unwrap()).unwrap()
}

fn load_params(store: &mut ParamStore<Cpu>, weights: &Value, dtype: DType) {
    let obj = weights.as_object().expect("weights object");
    assert_eq!(
        obj.len(),
        store.len(),
        "parameter count differs from PyTorch's"
    );
    for (name, t) in obj {
        let id = store
            .id(name)
            .unwrap_or_else(|| panic!("no parameter named {name}"));
        store
            .set(id, golden(t).unwrap().tensor(&Cpu, dtype))
            .unwrap();
    }
}

fn check_grads(
    case: &str,
    tape_grads: &recur_autograd::Grads<Cpu>,
    store: &ParamStore<Cpu>,
    json: &Value,
    leaves: &[(&str, Option<Var>)],
) -> Result<usize, String> {
    let mut checked = 0;
    let grads = &json["grads"];
    for (name, var) in leaves {
        if let (Some(var), Some(want)) = (var, golden(&grads[*name])) {
            let got = tape_grads
                .get(*var)
                .ok_or(format!("{case}: no gradient for {name}"))?;
            check_tensor(&format!("{case} grad {name}"), got, &want)?;
            checked += 1;
        }
    }
    for (id, name, _) in store.iter() {
        let want = golden(&grads[name]).ok_or(format!("{case}: golden lacks grad {name}"))?;
        let got = tape_grads
            .param(id.index())
            .ok_or(format!("{case}: no gradient for {name}"))?;
        check_tensor(&format!("{case} grad {name}"), got, &want)?;
        checked += 1;
    }
    Ok(checked)
}

fn run_rnn_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let kind = kind_of(json["module"].as_str().unwrap());
    let mut cfg = RecurrentConfig::lstm(
        json["input_size"].as_u64().unwrap() as usize,
        json["hidden_size"].as_u64().unwrap() as usize,
    );
    cfg.kind = kind;
    cfg.num_layers = json["num_layers"].as_u64().unwrap() as usize;
    cfg.bidirectional = json["bidirectional"].as_bool().unwrap();
    cfg.bias = json["bias"].as_bool().unwrap();
    cfg.batch_first = json["batch_first"].as_bool().unwrap();
    cfg.proj_size = json["proj_size"].as_u64().unwrap() as usize;
    cfg.dropout = json["dropout"].as_f64().unwrap();
    let mut store = ParamStore::new(&Cpu, dtype);
    let layer = Recurrent::new(&mut store, "", cfg, &mut rng(0)).map_err(|e| e.to_string())?;
    load_params(&mut store, &json["weights"], dtype);

    let tape = Tape::new(&Cpu);
    let input_g = golden(&json["input"]).unwrap();
    let t = input_g.shape[1];
    let input = tape.leaf(input_g.tensor(&Cpu, dtype), true);
    let h0 = golden(&json["h0"]).map(|g| tape.leaf(g.tensor(&Cpu, dtype), true));
    let c0 = golden(&json["c0"]).map(|g| tape.leaf(g.tensor(&Cpu, dtype), true));
    let lengths = ints(&json["lengths"]);
    let e = |e: recur_layers::LayerError| format!("{name}: {e}");
    let out = match &lengths {
        None => layer
            .forward(&tape, &store, input, h0, c0, None)
            .map_err(e)?,
        Some(lengths) => {
            let packed =
                pack_padded_sequence(&tape, input, lengths, Layout::BatchFirst, Order::Any)
                    .map_err(|x| x.to_string())?;
            let (packed_out, mut out) = layer
                .forward_packed(&tape, &store, &packed, h0, c0, None)
                .map_err(e)?;
            out.output = pad_packed_sequence(&tape, &packed_out, Layout::BatchFirst, 0.0, Some(t))
                .map_err(|x| x.to_string())?
                .0;
            out
        }
    };
    check_tensor(
        &format!("{name} output"),
        &tape.value(out.output).unwrap(),
        &golden(&json["output"]).unwrap(),
    )?;
    check_tensor(
        &format!("{name} h_n"),
        &tape.value(out.h_n).unwrap(),
        &golden(&json["h_n"]).unwrap(),
    )?;
    let lw = &json["loss_weights"];
    let mut loss = tape
        .add(
            weighted_sum(&tape, out.output, &golden(&lw["output"]).unwrap(), dtype),
            weighted_sum(&tape, out.h_n, &golden(&lw["h_n"]).unwrap(), dtype),
        )
        .unwrap();
    if let Some(c_n) = out.c_n {
        check_tensor(
            &format!("{name} c_n"),
            &tape.value(c_n).unwrap(),
            &golden(&json["c_n"]).unwrap(),
        )?;
        loss = tape
            .add(
                loss,
                weighted_sum(&tape, c_n, &golden(&lw["c_n"]).unwrap(), dtype),
            )
            .unwrap();
    }
    let want_loss = Golden {
        shape: vec![],
        data: vec![json["loss"].as_f64().unwrap()],
    };
    check_tensor(
        &format!("{name} loss"),
        &tape.value(loss).unwrap(),
        &want_loss,
    )?;
    let grads = tape.backward(loss).map_err(|x| x.to_string())?;
    check_grads(
        name,
        &grads,
        &store,
        json,
        &[("input", Some(input)), ("h0", h0), ("c0", c0)],
    )?;
    Ok(())
}

fn run_cell_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let cell = json["cell"].as_str().unwrap();
    let kind = match (cell, json["nonlinearity"].as_str()) {
        ("RNNCell", Some("relu")) => CellKind::RnnRelu,
        ("RNNCell", _) => CellKind::RnnTanh,
        (other, _) => kind_of(other),
    };
    let mut store = ParamStore::new(&Cpu, dtype);
    let c = Cell::new(
        &mut store,
        "",
        kind,
        json["input_size"].as_u64().unwrap() as usize,
        json["hidden_size"].as_u64().unwrap() as usize,
        Bias::from_flag(json["bias"].as_bool().unwrap()),
        &mut rng(0),
    )
    .map_err(|e| e.to_string())?;
    load_params(&mut store, &json["weights"], dtype);
    let tape = Tape::new(&Cpu);
    let x = tape.leaf(golden(&json["input"]).unwrap().tensor(&Cpu, dtype), true);
    let hx = golden(&json["hx"]).map(|g| tape.leaf(g.tensor(&Cpu, dtype), true));
    let cx = golden(&json["cx"]).map(|g| tape.leaf(g.tensor(&Cpu, dtype), true));
    let (h, c_out) = c
        .forward(&tape, &store, x, hx, cx)
        .map_err(|e| e.to_string())?;
    check_tensor(
        &format!("{name} h_out"),
        &tape.value(h).unwrap(),
        &golden(&json["h_out"]).unwrap(),
    )?;
    let lw = &json["loss_weights"];
    let mut loss = weighted_sum(&tape, h, &golden(&lw["h_out"]).unwrap(), dtype);
    if let Some(c_out) = c_out {
        check_tensor(
            &format!("{name} c_out"),
            &tape.value(c_out).unwrap(),
            &golden(&json["c_out"]).unwrap(),
        )?;
        loss = tape
            .add(
                loss,
                weighted_sum(&tape, c_out, &golden(&lw["c_out"]).unwrap(), dtype),
            )
            .unwrap();
    }
    let want_loss = Golden {
        shape: vec![],
        data: vec![json["loss"].as_f64().unwrap()],
    };
    check_tensor(
        &format!("{name} loss"),
        &tape.value(loss).unwrap(),
        &want_loss,
    )?;
    let grads = tape.backward(loss).map_err(|x| x.to_string())?;
    check_grads(
        name,
        &grads,
        &store,
        json,
        &[("input", Some(x)), ("hx", hx), ("cx", cx)],
    )?;
    Ok(())
}

fn run_folder(
    folder: &str,
    run: fn(&str, &Value, DType) -> Result<(), String>,
    filter: fn(&str) -> bool,
) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, json) in cases(folder) {
        if !filter(&name) {
            continue;
        }
        for dtype in DTYPES {
            match run(&name, &json, dtype) {
                Ok(()) => checked += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    println!(
        "golden {folder}: {checked} case×dtype checks passed ({} failed)",
        failures.len()
    );
    assert!(checked > 0, "no golden case was checked in {folder}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_cells() {
    run_folder("cells", run_cell_case, |_| true);
}

#[test]
fn golden_rnn_padded() {
    run_folder("rnn", run_rnn_case, |n| !n.contains("_packed"));
}

#[test]
fn golden_rnn_packed() {
    run_folder("rnn", run_rnn_case, |n| n.contains("_packed"));
}
