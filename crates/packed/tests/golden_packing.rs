//! PyTorch parity of the packing functions against `tests/golden/packing`.
//!
//! Made by `pack_case` and `pad_sequence_case` in `tests/golden/make.py` (`cargo xtask
//! goldens`) as `packed = pack_padded_sequence(padded, lengths, batch_first, enforce_sorted)`,
//! `pad_packed_sequence(packed, batch_first, padding_value=pv, total_length=tl)` for
//! `(pv, tl)` in `(0, None), (-1, None), (0, T+2)`, and `pad_sequence(seqs, batch_first, pv)`.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_packed::{pack_padded_sequence, pad_packed_sequence, pad_sequence, Layout, Order};
use recur_tensor::DType;
use recur_testkit::{cases, check_tensor, golden, ints};
use serde_json::Value;

fn idx(v: &Value) -> Option<Vec<usize>> {
    golden(v).map(|g| g.ints())
}

fn run_pack_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let tape = Tape::new(&Cpu);
    let batch_first = json["batch_first"].as_bool().unwrap();
    let enforce = json["enforce_sorted"].as_bool().unwrap();
    let lengths = ints(&json["lengths"]).unwrap();
    let padded = tape.constant(golden(&json["padded"]).unwrap().tensor(&Cpu, dtype));
    let packed = pack_padded_sequence(
        &tape,
        padded,
        &lengths,
        Layout::from_batch_first(batch_first),
        Order::from_enforce_sorted(enforce),
    )
    .map_err(|e| format!("{name}: {e}"))?;
    let want = &json["packed"];
    check_tensor(
        &format!("{name} data"),
        &tape.value(packed.data()).unwrap(),
        &golden(&want["data"]).unwrap(),
    )?;
    let bs = golden(&want["batch_sizes"]).unwrap().ints();
    if packed.batch_sizes() != bs {
        return Err(format!(
            "{name}: batch_sizes {:?}, expected {bs:?}",
            packed.batch_sizes()
        ));
    }
    if packed.sorted_indices() != idx(&want["sorted_indices"]).as_deref()
        || packed.unsorted_indices() != idx(&want["unsorted_indices"]).as_deref()
    {
        return Err(format!(
            "{name}: indices {:?}/{:?} differ from PyTorch's",
            packed.sorted_indices(),
            packed.unsorted_indices()
        ));
    }
    for u in json["unpacked"].as_array().unwrap() {
        let pv = u["padding_value"].as_f64().unwrap();
        let tl = u["total_length"].as_u64().map(|x| x as usize);
        let (out, lens) = pad_packed_sequence(
            &tape,
            &packed,
            Layout::from_batch_first(batch_first),
            pv,
            tl,
        )
        .map_err(|e| format!("{name}: {e}"))?;
        check_tensor(
            &format!("{name} unpacked pv={pv} tl={tl:?}"),
            &tape.value(out).unwrap(),
            &golden(&u["padded"]).unwrap(),
        )?;
        let want_lens = golden(&u["lengths"])
            .map(|g| g.ints())
            .or_else(|| ints(&u["lengths"]))
            .unwrap();
        if lens != want_lens {
            return Err(format!("{name}: lengths {lens:?}, expected {want_lens:?}"));
        }
    }
    Ok(())
}

fn run_pad_sequence_case(name: &str, json: &Value, dtype: DType) -> Result<(), String> {
    let tape = Tape::new(&Cpu);
    let seqs: Vec<_> = json["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| tape.constant(golden(s).unwrap().tensor(&Cpu, dtype)))
        .collect();
    for r in json["results"].as_array().unwrap() {
        let bf = r["batch_first"].as_bool().unwrap();
        let pv = r["padding_value"].as_f64().unwrap();
        let out = pad_sequence(&tape, &seqs, Layout::from_batch_first(bf), pv)
            .map_err(|e| format!("{name}: {e}"))?;
        check_tensor(
            &format!("{name} batch_first={bf} pv={pv}"),
            &tape.value(out).unwrap(),
            &golden(&r["output"]).unwrap(),
        )?;
    }
    Ok(())
}

#[test]
fn golden_packing() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, json) in cases("packing") {
        for dtype in [DType::F64, DType::F32] {
            let r = if name.starts_with("pad_sequence") {
                run_pad_sequence_case(&name, &json, dtype)
            } else {
                run_pack_case(&name, &json, dtype)
            };
            match r {
                Ok(()) => checked += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    println!(
        "golden packing: {checked} case×dtype checks passed ({} failed)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 0);
}
