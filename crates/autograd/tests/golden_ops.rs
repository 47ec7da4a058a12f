//! The tape's broadcasting, exp/log, masked and length-wise ops against PyTorch (f64
//! goldens from `tests/golden/make.py`'s `ops`): values, and the gradient of every input
//! under `loss = Σ out · W` (over the kept outputs where a mask leaves some out).

use recur_autograd::{Mask, Tape, Var};
use recur_cpu::Cpu;
use recur_tensor::{DType, Tensor};
use recur_testkit::{check_close, golden, Golden};
use serde_json::Value;

/// The ops cases: from the golden folder in use, else the repo's own (the copies first
/// handed to the project predate them).
fn cases() -> Vec<(String, Value)> {
    let mut dir = recur_testkit::golden_dir().join("ops");
    if !dir.is_dir() {
        dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/ops");
    }
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn lengths(case: &Value) -> Vec<usize> {
    case["lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// The op of case `name` on the tape.
fn build(tape: &Tape<Cpu>, name: &str, case: &Value, v: &[(String, Var)]) -> Var {
    let x = |k: &str| v.iter().find(|(n, _)| n == k).unwrap().1;
    let axis = case["axis"].as_u64().map(|a| a as usize);
    let len_mask = |t: usize| Mask::lengths(&lengths(case), t).unwrap().unsqueeze(2);
    let t_of = |k: &str| tape.shape(x(k)).unwrap()[1];
    match name {
        "add_broadcast" => tape.add(x("a"), x("b")),
        "mul_broadcast" => tape.mul(x("a"), x("b")),
        "sub_broadcast" => tape.sub(x("a"), x("b")),
        "div_broadcast" => tape.div(x("a"), x("b")),
        "exp" => tape.exp(x("a")),
        "log" => tape.log(x("a")),
        "masked_fill" => tape.masked_fill(x("a"), &len_mask(t_of("a")), -2.5),
        "softmax_axis1_masked" => tape.softmax(x("a"), 1, Some(&len_mask(t_of("a")))),
        "log_softmax_axis1_masked" => tape.log_softmax(x("a"), 1, Some(&len_mask(t_of("a")))),
        "softmax_axis2" | "softmax_axis0" => tape.softmax(x("a"), axis.unwrap(), None),
        "sum_lengths" => tape.sum_lengths(x("a"), &lengths(case)),
        "mean_lengths" => tape.mean_lengths(x("a"), &lengths(case)),
        "max_lengths" => tape.max_lengths(x("a"), &lengths(case)),
        other => panic!("no op for golden case {other}"),
    }
    .unwrap()
}

#[test]
fn ops_match_pytorch_values_and_gradients() {
    let all = cases();
    assert!(all.len() >= 14, "{} ops cases", all.len());
    for (name, case) in all {
        let tape = Tape::new(&Cpu);
        let inputs: Vec<(String, Var)> = case["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, g)| {
                let g = golden(g).unwrap();
                let t = Tensor::from_f64(&Cpu, &g.shape, &g.data, DType::F64).unwrap();
                (k.clone(), tape.leaf(t, true))
            })
            .collect();
        let out = build(&tape, &name, &case, &inputs);
        let keep: Option<Vec<bool>> = case["output_mask"]
            .as_array()
            .map(|a| a.iter().map(|b| b.as_bool().unwrap()).collect());
        let mut got = tape.value(out).unwrap().to_f64_vec().unwrap();
        if let Some(k) = &keep {
            // the entries left out are −∞ here, 0 in the file (JSON has no −∞)
            for (g, &k) in got.iter_mut().zip(k) {
                if !k {
                    assert_eq!(*g, f64::NEG_INFINITY, "{name}: a masked entry");
                    *g = 0.0;
                }
            }
        }
        let want: Golden = golden(&case["output"]).unwrap();
        check_close(&format!("{name} output"), &got, &want, DType::F64).unwrap();
        let w = golden(&case["weights"]).unwrap();
        // the loss over the kept outputs: those gathered from the flat output (−∞ · 0 would
        // be NaN)
        let n = w.data.len();
        let idx: Vec<usize> = (0..n)
            .filter(|&i| keep.as_ref().is_none_or(|k| k[i]))
            .collect();
        let flat = tape.reshape(out, &[n, 1]).unwrap();
        let kept = tape.gather_rows(flat, &idx).unwrap();
        let wk: Vec<f64> = idx.iter().map(|&i| w.data[i]).collect();
        let wt = tape.constant(Tensor::from_f64(&Cpu, &[idx.len(), 1], &wk, DType::F64).unwrap());
        let loss = tape.sum_all(tape.mul(kept, wt).unwrap()).unwrap();
        let grads = tape.backward(loss).unwrap();
        for (k, var) in &inputs {
            let want = golden(&case["grads"][k]).unwrap();
            let g = grads.get(*var).unwrap().to_f64_vec().unwrap();
            check_close(&format!("{name} grad {k}"), &g, &want, DType::F64).unwrap();
        }
    }
}

#[test]
fn shapes_that_do_not_broadcast_and_empty_slices_are_errors() {
    let tape = Tape::new(&Cpu);
    let t = |shape: &[usize]| {
        let n = shape.iter().product();
        tape.constant(Tensor::from_f64(&Cpu, shape, &vec![1.0; n], DType::F64).unwrap())
    };
    let e = tape.add(t(&[2, 3]), t(&[4])).unwrap_err().to_string();
    assert!(e.contains("[2, 3]") && e.contains("[4]"), "{e}");
    let all_out = Mask::new(&[1, 2], vec![false, false]).unwrap();
    let e = tape
        .softmax(t(&[1, 2]), 1, Some(&all_out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no finite entry"), "{e}");
    let e = tape
        .sum_lengths(t(&[2, 3, 1]), &[3, 0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("length 0"), "{e}");
    let inf = tape
        .constant(Tensor::from_f64(&Cpu, &[1, 2], &[f64::NEG_INFINITY; 2], DType::F64).unwrap());
    assert!(tape.softmax_rows(inf).is_err());
}
