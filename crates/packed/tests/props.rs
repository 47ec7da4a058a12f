//! Packing invariants on random lengths: pack → pad is the identity on the valid steps
//! (sorted or not, ties, length = T, length 1), `unpack_sequence(pack_sequence(x)) = x`,
//! gradients flow through pack and pad, and PyTorch's errors are raised.

#![allow(clippy::needless_range_loop)] // rows, steps and features index several buffers at once

use proptest::prelude::*;
use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_packed::{
    pack_padded_sequence, pack_sequence, pad_packed_sequence, unpack_sequence, Layout, Order,
    PackError,
};
use recur_tensor::{DType, Tensor};

fn lengths() -> impl Strategy<Value = (Vec<usize>, bool)> {
    (prop::collection::vec(1usize..6, 1..6), any::<bool>()).prop_map(|(mut l, sorted)| {
        if sorted {
            l.sort_by(|a, b| b.cmp(a));
        }
        (l, sorted)
    })
}

proptest! {
    #[test]
    fn pack_then_pad_is_identity((lens, sorted) in lengths(), batch_first in any::<bool>(),
        feat in 1usize..3, extra in 0usize..2) {
        let (b, t) = (lens.len(), lens.iter().max().unwrap() + extra);
        let shape = if batch_first { vec![b, t, feat] } else { vec![t, b, feat] };
        let n: usize = shape.iter().product();
        let vals: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
        let tape = Tape::new(&Cpu);
        let x = tape.leaf(Tensor::from_f64(&Cpu, &shape, &vals, DType::F64).unwrap(), true);
        let packed = pack_padded_sequence(&tape, x, &lens, Layout::from_batch_first(batch_first),
            Order::from_enforce_sorted(sorted)).unwrap();
        prop_assert_eq!(packed.lengths(), lens.clone());
        prop_assert_eq!(packed.sorted_indices().is_none(), sorted);
        let (out, out_lens) = pad_packed_sequence(&tape, &packed,
            Layout::from_batch_first(batch_first), -7.0, Some(t)).unwrap();
        prop_assert_eq!(&out_lens, &lens);
        let got = tape.value(out).unwrap().to_f64_vec().unwrap();
        for row in 0..b {
            for s in 0..t {
                for f in 0..feat {
                    let at = if batch_first {
                        (row * t + s) * feat + f
                    } else {
                        (s * b + row) * feat + f
                    };
                    let want = if s < lens[row] { vals[at] } else { -7.0 };
                    prop_assert_eq!(got[at], want);
                }
            }
        }
        // d Σ(pad(pack(x))) / dx = 1 on valid steps, 0 on padding
        let grads = tape.backward(tape.sum_all(out).unwrap()).unwrap();
        let g = grads.get(x).unwrap().to_f64_vec().unwrap();
        for row in 0..b {
            for s in 0..t {
                let at = if batch_first { (row * t + s) * feat } else { (s * b + row) * feat };
                prop_assert_eq!(g[at], if s < lens[row] { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn unpack_of_pack_sequence_is_identity((lens, sorted) in lengths(), feat in 1usize..3) {
        let tape = Tape::new(&Cpu);
        let seqs: Vec<_> = lens.iter().enumerate().map(|(k, &l)| {
            let v: Vec<f64> = (0..l * feat).map(|i| (k * 100 + i) as f64).collect();
            tape.constant(Tensor::from_f64(&Cpu, &[l, feat], &v, DType::F64).unwrap())
        }).collect();
        let packed = pack_sequence(&tape, &seqs, Order::from_enforce_sorted(sorted)).unwrap();
        let back = unpack_sequence(&tape, &packed).unwrap();
        prop_assert_eq!(back.len(), seqs.len());
        for (a, b) in seqs.iter().zip(&back) {
            prop_assert_eq!(tape.shape(*a).unwrap(), tape.shape(*b).unwrap());
            prop_assert_eq!(tape.value(*a).unwrap().to_f64_vec().unwrap(),
                tape.value(*b).unwrap().to_f64_vec().unwrap());
        }
    }
}

#[test]
fn pytorch_errors() {
    let tape = Tape::new(&Cpu);
    let x = tape.constant(Tensor::zeros(&Cpu, &[3, 4, 2], DType::F32).unwrap());
    let e = |r: Result<_, PackError>| {
        r.map(|_: recur_packed::PackedSequence| ())
            .unwrap_err()
            .to_string()
    };
    assert!(e(pack_padded_sequence(
        &tape,
        x,
        &[2, 0, 1],
        Layout::BatchFirst,
        Order::Any
    ))
    .contains("greater than 0"));
    assert!(e(pack_padded_sequence(
        &tape,
        x,
        &[1, 2, 1],
        Layout::BatchFirst,
        Order::Sorted
    ))
    .contains("sorted in decreasing order"));
    assert!(e(pack_padded_sequence(
        &tape,
        x,
        &[5, 2, 1],
        Layout::BatchFirst,
        Order::Any
    ))
    .contains("exceeds"));
    assert!(e(pack_padded_sequence(
        &tape,
        x,
        &[2, 1],
        Layout::BatchFirst,
        Order::Any
    ))
    .contains("3 lengths"));
    let p = pack_padded_sequence(&tape, x, &[4, 2, 1], Layout::BatchFirst, Order::Sorted).unwrap();
    let err = pad_packed_sequence(&tape, &p, Layout::BatchFirst, 0.0, Some(3))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("total_length=3") && err.contains("being 4"),
        "{err}"
    );
}
