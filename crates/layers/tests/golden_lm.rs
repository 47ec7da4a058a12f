//! The language model against PyTorch's `examples/word_language_model` (`RNNModel`, made by
//! `benches/reference/word_lm.py --golden tests/golden/lm`): for LSTM and GRU, tied and
//! untied, 2 layers, one window `[T=5, B=3]` from a random state — the logits, the loss,
//! the state after the window, every parameter's gradient, and every parameter after
//! PyTorch's clipped plain SGD step (`clip_grad_norm_(0.25)`, `p -= 20 · grad`), in f64.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    clip_grad_norm, rng, LanguageModel, LmConfig, LmState, Optimizer, ParamStore, Sgd, SgdConfig,
};
use recur_tensor::{CellKind, DType};
use recur_testkit::{cases, check_tensor, golden};
use serde_json::Value;

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn run_case(name: &str, json: &Value) -> Result<(), String> {
    let dtype = DType::F64;
    let cell = match json["cell"].as_str().unwrap() {
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        other => return Err(format!("{name}: unknown cell {other}")),
    };
    let config = LmConfig {
        vocab_size: usize_of(&json["vocab"]),
        embed_dim: usize_of(&json["embed"]),
        hidden_dim: usize_of(&json["hidden"]),
        num_layers: usize_of(&json["layers"]),
        cell,
        dropout: 0.0,
        tied: json["tied"].as_bool().unwrap(),
    };
    let mut store = ParamStore::new(&Cpu, dtype);
    let model = LanguageModel::new(&mut store, config, &mut rng(0)).map_err(|e| e.to_string())?;
    let params = json["params"].as_object().unwrap();
    let names: Vec<String> = store.iter().map(|(_, n, _)| n.to_string()).collect();
    let mut wanted: Vec<&String> = params.keys().collect();
    wanted.sort();
    let mut have: Vec<&String> = names.iter().collect();
    have.sort();
    assert_eq!(
        have, wanted,
        "{name}: parameter names differ from PyTorch's state_dict"
    );
    for (key, value) in params {
        let id = store.id(key).unwrap();
        store
            .set(id, golden(value).unwrap().tensor(&Cpu, dtype))
            .map_err(|e| e.to_string())?;
    }
    let batch = usize_of(&json["batch"]);
    let tokens: Vec<usize> = json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(usize_of)
        .collect();
    let targets: Vec<usize> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(usize_of)
        .collect();
    let state = LmState {
        h: golden(&json["h0"]).unwrap().tensor(&Cpu, dtype),
        c: golden(&json["c0"]).map(|c| c.tensor(&Cpu, dtype)),
    };

    let tape = Tape::new(&Cpu);
    let (logits, next) = model
        .forward(&tape, &store, &tokens, batch, Some(&state), None)
        .map_err(|e| e.to_string())?;
    check_tensor(
        &format!("{name} logits"),
        &tape.value(logits).unwrap(),
        &golden(&json["logits"]).unwrap(),
    )?;
    let loss = tape
        .cross_entropy(logits, &targets)
        .map_err(|e| e.to_string())?;
    let l = tape.value(loss).unwrap().scalar().unwrap();
    let want = json["loss"].as_f64().unwrap();
    if (l - want).abs() > 1e-9 * want.abs().max(1.0) {
        return Err(format!("{name}: loss {l}, PyTorch {want}"));
    }
    check_tensor(
        &format!("{name} h_n"),
        &next.h,
        &golden(&json["h_n"]).unwrap(),
    )?;
    if let (Some(c), Some(want)) = (&next.c, golden(&json["c_n"])) {
        check_tensor(&format!("{name} c_n"), c, &want)?;
    }
    let mut grads = tape.backward(loss).map_err(|e| e.to_string())?;
    drop(tape);
    for (id, pname, _) in store.iter() {
        let got = grads
            .dense(id.index())
            .map_err(|e| e.to_string())?
            .ok_or(format!("{name}: no gradient for {pname}"))?;
        check_tensor(
            &format!("{name} grad {pname}"),
            &got,
            &golden(&json["grads"][pname]).unwrap(),
        )?;
    }
    // PyTorch's step: clip the global norm to 0.25, then p -= 20 · grad
    clip_grad_norm(&mut grads, json["clip"].as_f64().unwrap()).map_err(|e| e.to_string())?;
    let mut sgd = Sgd::new(SgdConfig {
        lr: json["lr"].as_f64().unwrap(),
        ..SgdConfig::default()
    });
    sgd.step(&mut store, &mut grads)
        .map_err(|e| e.to_string())?;
    for (_, pname, value) in store.iter() {
        check_tensor(
            &format!("{name} after step {pname}"),
            value,
            &golden(&json["after_step"][pname]).unwrap(),
        )?;
    }
    Ok(())
}

#[test]
fn language_model_matches_pytorch() {
    let all = cases("lm");
    assert_eq!(all.len(), 4, "lstm and gru, tied and untied");
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(name, json)| run_case(name, json).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
