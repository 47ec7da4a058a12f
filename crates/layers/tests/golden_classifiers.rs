//! The lesson's classifiers against PyTorch (`tests/golden/classifiers`): logits, loss,
//! every gradient, and the parameters after three `torch.optim.Adam(lr=0.01)` steps
//! (`zero_grad(); loss.backward(); step()` on the same batch), in f64 and f32. Made by
//! `classifier_case` in `tests/golden/make.py` (`cargo xtask goldens`).

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, Optimizer, ParamStore,
};
use recur_tensor::DType;
use recur_testkit::{cases, check_tensor, golden, ints, Golden};
use serde_json::Value;

fn config(name: &str, json: &Value) -> ClassifierConfig {
    let model = match name {
        "rnn_classifier" => ModelKind::Rnn,
        "lstm_classifier" => ModelKind::Lstm,
        "gru_classifier" => ModelKind::Gru,
        "lstm_pack_classifier" | "bilstm2_pack_classifier" => ModelKind::LstmPacked,
        other => panic!("unknown classifier case {other}"),
    };
    let mut c = ClassifierConfig::lesson(model, json["vocab_size"].as_u64().unwrap() as usize);
    c.embed_dim = json["embed_dim"].as_u64().unwrap() as usize;
    c.hidden_dim = json["hidden_dim"].as_u64().unwrap() as usize;
    c.num_class = json["num_class"].as_u64().unwrap() as usize;
    if name.starts_with("bilstm2") {
        c.num_layers = 2;
        c.bidirectional = true;
    }
    c
}

fn scalar(x: f64) -> Golden {
    Golden {
        shape: vec![],
        data: vec![x],
    }
}

fn run_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let mut store = ParamStore::new(&Cpu, dtype);
    let model =
        Classifier::new(&mut store, config(name, json), &mut rng(0)).map_err(|e| e.to_string())?;
    let params = json["params"].as_object().unwrap();
    assert_eq!(params.len(), store.len(), "{name}: parameter count");
    for (pname, t) in params {
        let id = store
            .id(pname)
            .ok_or(format!("{name}: no parameter {pname}"))?;
        store
            .set(id, golden(t).unwrap().tensor(&Cpu, dtype))
            .map_err(|e| e.to_string())?;
    }
    let tokens = golden(&json["tokens"]).unwrap().ints();
    let lengths = ints(&json["lengths"]).unwrap();
    let labels = golden(&json["labels"]).unwrap().ints();
    let adam = &json["adam"];
    let mut opt = Adam::new(AdamConfig {
        lr: adam["lr"].as_f64().unwrap(),
        ..AdamConfig::default()
    });
    let losses = adam["losses"].as_array().unwrap();
    for (step, want_loss) in losses.iter().enumerate() {
        let tape = Tape::new(&Cpu);
        let logits = model
            .forward(&tape, &store, &tokens, &lengths, None)
            .map_err(|e| e.to_string())?;
        let loss = tape
            .cross_entropy(logits, &labels)
            .map_err(|e| e.to_string())?;
        check_tensor(
            &format!("{name} loss before step {}", step + 1),
            &tape.value(loss).unwrap(),
            &scalar(want_loss.as_f64().unwrap()),
        )?;
        let mut grads = tape.backward(loss).map_err(|e| e.to_string())?;
        if step == 0 {
            check_tensor(
                &format!("{name} logits"),
                &tape.value(logits).unwrap(),
                &golden(&json["logits"]).unwrap(),
            )?;
            for (id, pname, _) in store.iter() {
                let got = grads
                    .dense(id.index())
                    .map_err(|e| e.to_string())?
                    .ok_or(format!("{name}: no grad for {pname}"))?;
                check_tensor(
                    &format!("{name} grad {pname}"),
                    &got,
                    &golden(&json["grads"][pname]).unwrap(),
                )?;
            }
        }
        drop(tape);
        opt.step(&mut store, &mut grads)
            .map_err(|e| e.to_string())?;
    }
    opt.sync(&mut store).map_err(|e| e.to_string())?;
    for (_, pname, value) in store.iter() {
        check_tensor(
            &format!("{name} {pname} after Adam"),
            value,
            &golden(&adam["params_after"][pname]).unwrap(),
        )?;
    }
    let tape = Tape::no_grad(&Cpu);
    let logits = model
        .forward(&tape, &store, &tokens, &lengths, None)
        .map_err(|e| e.to_string())?;
    check_tensor(
        &format!("{name} logits after"),
        &tape.value(logits).unwrap(),
        &golden(&adam["logits_after"]).unwrap(),
    )?;
    let loss = tape
        .cross_entropy(logits, &labels)
        .map_err(|e| e.to_string())?;
    check_tensor(
        &format!("{name} loss after"),
        &tape.value(loss).unwrap(),
        &scalar(adam["loss_after"].as_f64().unwrap()),
    )?;
    Ok(())
}

#[test]
fn golden_classifiers() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, json) in cases("classifiers") {
        for dtype in [DType::F64, DType::F32] {
            match run_case(&name, &json, dtype) {
                Ok(()) => checked += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    println!(
        "golden classifiers: {checked} case×dtype checks passed ({} failed)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 0);
}
