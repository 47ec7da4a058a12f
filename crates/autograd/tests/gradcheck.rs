//! Every tape op's gradient against central finite differences in f64 on random shapes and
//! values (relative error ≤ 1e-6).

#![allow(clippy::needless_range_loop)] // finite differences index inputs and gradients together

use proptest::prelude::*;
use recur_autograd::{Mask, Tape, Var};
use recur_cpu::Cpu;
use recur_tensor::{DType, Tensor, UnaryOp};

type Build = dyn Fn(&Tape<Cpu>, &[Var]) -> Var;

/// `Σ out · w` with fixed pseudo-random weights, so every output element matters.
fn weighted_loss(tape: &Tape<Cpu>, out: Var) -> Var {
    let shape = tape.shape(out).unwrap();
    let n: usize = shape.iter().product();
    let w: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.731 + 0.3).sin()).collect();
    let w = tape.constant(Tensor::from_f64(&Cpu, &shape, &w, DType::F64).unwrap());
    tape.sum_all(tape.mul(out, w).unwrap()).unwrap()
}

fn loss_at(build: &Build, inputs: &[(Vec<usize>, Vec<f64>)]) -> f64 {
    let tape = Tape::no_grad(&Cpu);
    let vars: Vec<Var> = inputs
        .iter()
        .map(|(s, v)| tape.constant(Tensor::from_f64(&Cpu, s, v, DType::F64).unwrap()))
        .collect();
    let out = build(&tape, &vars);
    tape.value(weighted_loss(&tape, out))
        .unwrap()
        .scalar()
        .unwrap()
}

fn gradcheck(build: &Build, inputs: &[(Vec<usize>, Vec<f64>)]) -> Result<(), TestCaseError> {
    let tape = Tape::new(&Cpu);
    let vars: Vec<Var> = inputs
        .iter()
        .map(|(s, v)| tape.leaf(Tensor::from_f64(&Cpu, s, v, DType::F64).unwrap(), true))
        .collect();
    let out = build(&tape, &vars);
    let loss = weighted_loss(&tape, out);
    let grads = tape.backward(loss).unwrap();
    let h = 1e-6;
    for (k, var) in vars.iter().enumerate() {
        let analytic = match grads.get(*var) {
            Some(g) => g.to_f64_vec().unwrap(),
            None => vec![0.0; inputs[k].1.len()],
        };
        for j in 0..inputs[k].1.len() {
            let mut plus = inputs.to_vec();
            plus[k].1[j] += h;
            let mut minus = inputs.to_vec();
            minus[k].1[j] -= h;
            let fd = (loss_at(build, &plus) - loss_at(build, &minus)) / (2.0 * h);
            let a = analytic[j];
            let err = (a - fd).abs() / a.abs().max(fd.abs()).max(1.0);
            prop_assert!(
                err <= 1e-6,
                "input {k}[{j}]: analytic {a}, finite difference {fd}"
            );
        }
    }
    Ok(())
}

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    // away from 0 so relu's kink is never within h of a value
    prop::collection::vec(prop_oneof![-2.0..-0.05f64, 0.05..2.0f64], n)
}

fn matrix(r: usize, c: usize) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    values(r * c).prop_map(move |v| (vec![r, c], v))
}

fn dims() -> impl Strategy<Value = usize> {
    1usize..4
}

/// Two shapes that broadcast: a common shape of rank 1–3 whose axes each operand keeps or
/// sets to 1, the second possibly without leading axes; with values for both.
type Input = (Vec<usize>, Vec<f64>);
fn broadcast_pair() -> impl Strategy<Value = (Input, Input)> {
    (
        prop::collection::vec(dims(), 1..4),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(any::<bool>(), 3),
        0usize..3,
    )
        .prop_flat_map(|(shape, ka, kb, drop)| {
            let a: Vec<usize> = shape
                .iter()
                .zip(&ka)
                .map(|(&d, &k)| if k { d } else { 1 })
                .collect();
            let b: Vec<usize> = shape
                .iter()
                .zip(&kb)
                .map(|(&d, &k)| if k { d } else { 1 })
                .collect();
            let b = b[drop.min(b.len() - 1)..].to_vec();
            let (na, nb) = (a.iter().product(), b.iter().product());
            (
                values(na).prop_map(move |v| (a.clone(), v)),
                values(nb).prop_map(move |v| (b.clone(), v)),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn matmul_all_transposes(
        (a, b, ta, tb) in (dims(), dims(), dims(), any::<bool>(), any::<bool>()).prop_flat_map(|(m,
            k, n, ta, tb)| {
            let (ar, ac) = if ta { (k, m) } else { (m, k) };
            let (br, bc) = if tb { (n, k) } else { (k, n) };
            (matrix(ar, ac), matrix(br, bc), Just(ta), Just(tb))
        })
    ) {
        gradcheck(&move |t, v| t.matmul(v[0], v[1], ta, tb).unwrap(), &[a, b])?;
    }

    #[test]
    fn linear_with_and_without_bias(x in matrix(3, 4), w in matrix(2, 4), b in values(2),
        bias in any::<bool>()) {
        if bias {
            gradcheck(&|t, v| t.linear(v[0], v[1], Some(v[2])).unwrap(), &[x, w, (vec![2], b)])?;
        } else {
            gradcheck(&|t, v| t.linear(v[0], v[1], None).unwrap(), &[x, w])?;
        }
    }

    #[test]
    fn elementwise(a in matrix(2, 3), b in matrix(2, 3), alpha in -2.0..2.0f64) {
        gradcheck(&|t, v| t.add(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        gradcheck(&|t, v| t.sub(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        gradcheck(&|t, v| t.mul(v[0], v[1]).unwrap(), &[a.clone(), b])?;
        gradcheck(&move |t, v| t.scale(v[0], alpha).unwrap(), std::slice::from_ref(&a))?;
        // every activation recur-tensor defines (log on positive values)
        let positive = (a.0.clone(), a.1.iter().map(|x| x.abs()).collect::<Vec<_>>());
        for &op in UnaryOp::ALL {
            let input = if op == UnaryOp::Log { &positive } else { &a };
            gradcheck(&move |t, v| t.unary(v[0], op).unwrap(), std::slice::from_ref(input))?;
        }
    }

    #[test]
    fn broadcasting_ops((a, b) in broadcast_pair()) {
        gradcheck(&|t, v| t.add(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        gradcheck(&|t, v| t.sub(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        gradcheck(&|t, v| t.mul(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        gradcheck(&|t, v| t.div(v[0], v[1]).unwrap(), &[a.clone(), b.clone()])?;
        // the same as expanding both explicitly first
        let tape = Tape::no_grad(&Cpu);
        let (x, y) = (
            tape.constant(Tensor::from_f64(&Cpu, &a.0, &a.1, DType::F64).unwrap()),
            tape.constant(Tensor::from_f64(&Cpu, &b.0, &b.1, DType::F64).unwrap()),
        );
        let shape = recur_autograd::broadcast_shape("test", &a.0, &b.0).unwrap();
        let direct = tape.value(tape.mul(x, y).unwrap()).unwrap().to_f64_vec().unwrap();
        let ex = tape.broadcast_to(x, &shape).unwrap();
        let ey = tape.broadcast_to(y, &shape).unwrap();
        prop_assert_eq!(tape.shape(ex).unwrap(), shape.clone());
        let expanded = tape.value(tape.mul(ex, ey).unwrap()).unwrap().to_f64_vec().unwrap();
        prop_assert_eq!(direct, expanded);
    }

    #[test]
    fn masked_and_length_ops(
        (b, tt, h) in (dims(), dims(), dims()),
        seed in values(27),
        lens in prop::collection::vec(1usize..4, 3),
        axis in 0usize..3,
    ) {
        let n = b * tt * h;
        let x = (vec![b, tt, h], seed.iter().cycle().take(n).copied().collect::<Vec<_>>());
        let lens: Vec<usize> = lens[..b].iter().map(|&l| l.min(tt)).collect();
        let l2 = lens.clone();
        gradcheck(&move |t, v| t.sum_lengths(v[0], &l2).unwrap(), std::slice::from_ref(&x))?;
        let l2 = lens.clone();
        gradcheck(&move |t, v| t.mean_lengths(v[0], &l2).unwrap(), std::slice::from_ref(&x))?;
        let mask = Mask::lengths(&lens, tt).unwrap().unsqueeze(2);
        let m2 = mask.clone();
        gradcheck(&move |t, v| t.masked_fill(v[0], &m2, 0.5).unwrap(), std::slice::from_ref(&x))?;
        let m2 = mask.clone();
        gradcheck(&move |t, v| t.softmax(v[0], 1, Some(&m2)).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&move |t, v| t.softmax(v[0], axis, None).unwrap(), std::slice::from_ref(&x))?;
        // log-softmax: the kept entries (the others are −∞), gathered from the flat output
        let kept: Vec<usize> = (0..n).filter(|&i| lens[i / (tt * h)] > (i / h) % tt).collect();
        gradcheck(&move |t, v| {
            let y = t.log_softmax(v[0], 1, Some(&mask)).unwrap();
            let flat = t.reshape(y, &[n, 1]).unwrap();
            t.gather_rows(flat, &kept).unwrap()
        }, std::slice::from_ref(&x))?;
    }

    #[test]
    fn embedding_lookup(table in matrix(5, 3), ids in prop::collection::vec(0usize..5, 1..8)) {
        gradcheck(&move |t, v| t.gather_rows(v[0], &ids).unwrap(), &[table])?;
    }

    #[test]
    fn padding_idx_gets_no_gradient(table in matrix(4, 2), ids in prop::collection::vec(0usize..4,
        1..6)) {
        let tape = Tape::new(&Cpu);
        let w = tape.leaf(Tensor::from_f64(&Cpu, &table.0, &table.1, DType::F64).unwrap(), true);
        let out = tape.gather_rows_skip(w, &ids, Some(1)).unwrap();
        let g = tape.backward(weighted_loss(&tape,
            out)).unwrap().get(w).unwrap().to_f64_vec().unwrap();
        prop_assert_eq!(&g[2..4], &[0.0, 0.0]);
    }

    #[test]
    fn reductions((b, tt, h) in (dims(), dims(), dims()), seed in values(27)) {
        let x = (vec![b, tt, h], seed[..b * tt * h].to_vec());
        gradcheck(&|t, v| t.mean_axis(v[0], 1).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&|t, v| t.sum_axis(v[0], 2).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&|t, v| t.max_axis(v[0], 1).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&|t, v| t.max_axis(v[0], 2).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&|t, v| t.transpose01(v[0]).unwrap(), std::slice::from_ref(&x))?;
        gradcheck(&move |t, v| t.reshape(v[0], &[tt * b, h]).unwrap(), &[x])?;
    }

    #[test]
    fn narrow_and_cat(a in matrix(2, 5), b in matrix(2, 3), start in 0usize..3, axis in 0usize..2) {
        gradcheck(&move |t, v| t.narrow(v[0], 1, start, 2).unwrap(), std::slice::from_ref(&a))?;
        if axis == 1 {
            gradcheck(&|t, v| t.cat(&[v[0], v[1], v[0]], 1).unwrap(), &[a, b])?;
        } else {
            let bt = (vec![3, 2], b.1.clone());
            let at = (vec![5, 2], a.1.clone());
            gradcheck(&|t, v| t.cat(&[v[0], v[1]], 0).unwrap(), &[at, bt])?;
        }
    }

    #[test]
    fn scatter_rows(src in matrix(3, 2), fill in -1.0..1.0f64) {
        gradcheck(&move |t, v| t.scatter_rows(v[0], 5, &[4, 0, 2], fill).unwrap(), &[src])?;
    }

    #[test]
    fn softmax_rows(x in matrix(3, 4)) {
        gradcheck(&|t, v| t.softmax_rows(v[0]).unwrap(), &[x])?;
    }

    #[test]
    fn cross_entropy(logits in matrix(4, 3), labels in prop::collection::vec(0usize..3, 4)) {
        gradcheck(&move |t, v| t.cross_entropy(v[0], &labels).unwrap(), &[logits])?;
    }
}
