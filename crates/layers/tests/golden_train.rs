//! Gradient clipping, AdamW and packed mean/max/attention pooling against PyTorch
//! (`tests/golden/train`, made by `tests/golden/train/make.py`): for each classifier case,
//! three steps of `loss.backward(); clip_grad_norm_(params, max_norm); opt.step()` — the loss
//! and total norm of every step, the clipped gradients of step 1, the parameters after step
//! 3 — in f64 (1e-9) and f32 (1e-4).

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    clip_grad_norm, rng, Adam, AdamConfig, Classifier, ClassifierConfig, ModelKind, Optimizer,
    ParamStore, Pooling,
};
use recur_tensor::{CellKind, DType};
use recur_testkit::{cases, check_close, check_tensor, golden, ints, Golden};
use serde_json::Value;

fn config(json: &Value) -> ClassifierConfig {
    let n = |k: &str| json[k].as_u64().unwrap() as usize;
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, n("vocab_size"));
    c.embed_dim = n("embed_dim");
    c.hidden_dim = n("hidden_dim");
    c.num_class = n("num_class");
    c.bidirectional = json["bidirectional"].as_bool().unwrap();
    c.cell_override = Some(match json["cell"].as_str().unwrap() {
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        other => panic!("unknown cell {other}"),
    });
    c.packed_override = Some(true);
    c.pooling_override = Some(
        json["pooling"]
            .as_str()
            .unwrap()
            .parse::<Pooling>()
            .unwrap(),
    );
    c
}

fn run_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| format!("{name}: {e}");
    let mut store = ParamStore::new(&Cpu, dtype);
    let model = Classifier::new(&mut store, config(json), &mut rng(0)).map_err(|x| e(&x))?;
    let params = json["params"].as_object().unwrap();
    assert_eq!(params.len(), store.len(), "{name}: parameter count");
    for (pname, t) in params {
        let id = store
            .id(pname)
            .ok_or(format!("{name}: no parameter {pname}"))?;
        store
            .set(id, golden(t).unwrap().tensor(&Cpu, dtype))
            .map_err(|x| e(&x))?;
    }
    let tokens = golden(&json["tokens"]).unwrap().ints();
    let lengths = ints(&json["lengths"]).unwrap();
    let labels = golden(&json["labels"]).unwrap().ints();
    let o = &json["optimizer"];
    let mut cfg = if o["name"] == "adamw" {
        AdamConfig::adamw()
    } else {
        AdamConfig::default()
    };
    cfg.lr = o["lr"].as_f64().unwrap();
    cfg.weight_decay = o["weight_decay"].as_f64().unwrap();
    let mut opt = Adam::new(cfg);
    let max_norm = json["max_norm"].as_f64().unwrap();
    let losses = json["losses"].as_array().unwrap();
    let totals = json["total_norms"].as_array().unwrap();
    for step in 0..losses.len() {
        let tape = Tape::new(&Cpu);
        let logits = model
            .forward(&tape, &store, &tokens, &lengths, None)
            .map_err(|x| e(&x))?;
        let loss = tape.cross_entropy(logits, &labels).map_err(|x| e(&x))?;
        let scalar = |v: &Value| Golden {
            shape: vec![],
            data: vec![v.as_f64().unwrap()],
        };
        check_tensor(
            &format!("{name} loss {step}"),
            &tape.value(loss).unwrap(),
            &scalar(&losses[step]),
        )?;
        let mut grads = tape.backward(loss).map_err(|x| e(&x))?;
        drop(tape);
        let total = clip_grad_norm(&mut grads, max_norm).map_err(|x| e(&x))?;
        check_close(
            &format!("{name} total norm {step}"),
            &[total],
            &scalar(&totals[step]),
            dtype,
        )?;
        if step == 0 {
            for (id, pname, _) in store.iter() {
                let got = grads
                    .dense(id.index())
                    .map_err(|x| e(&x))?
                    .ok_or(format!("{name}: no grad for {pname}"))?;
                check_tensor(
                    &format!("{name} clipped grad {pname}"),
                    &got,
                    &golden(&json["clipped_grads_step1"][pname]).unwrap(),
                )?;
            }
        }
        opt.step(&mut store, &mut grads).map_err(|x| e(&x))?;
    }
    opt.sync(&mut store).map_err(|x| e(&x))?;
    for (_, pname, value) in store.iter() {
        check_tensor(
            &format!("{name} {pname} after 3 steps"),
            value,
            &golden(&json["params_after"][pname]).unwrap(),
        )?;
    }
    Ok(())
}

#[test]
fn clip_adamw_and_pooling_match_pytorch() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, json) in cases("train") {
        if json.get("params").is_none() {
            continue; // schedules.json: tested by recur-train
        }
        for dtype in [DType::F64, DType::F32] {
            match run_case(&name, &json, dtype) {
                Ok(()) => checked += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 10, "five cases in two dtypes");
}
