//! Property tests of the recurrent layers on random sizes (f64): the fused layer equals the
//! cell-by-cell unrolled reference (values and every gradient, 1e-10), analytic gradients
//! equal central finite differences (1e-6), a packed batch equals each sequence run
//! alone, and stepping one step per call equals one call over the sequence.

#![allow(clippy::needless_range_loop)] // finite differences index inputs and gradients together

use proptest::prelude::*;
use recur_autograd::{Grads, Tape, Var};
use recur_cpu::Cpu;
use recur_layers::{rng, ParamStore, Recurrent, RecurrentConfig, RecurrentOutput};
use recur_packed::{pack_padded_sequence, pad_packed_sequence, Layout, Order};
use recur_tensor::{CellKind, DType, Tensor};

#[derive(Clone, Debug)]
struct Case {
    cfg: RecurrentConfig,
    b: usize,
    t: usize,
    with_h0: bool,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..6,
        1usize..4,
        1usize..5,
        1usize..4,
        1usize..4,
        1usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(k, b, t, i, h, layers, bidir, bias, batch_first, with_h0, proj, seed)| {
                let kind = [
                    CellKind::RnnTanh,
                    CellKind::RnnRelu,
                    CellKind::Lstm,
                    CellKind::Gru,
                    CellKind::MinGru,
                    CellKind::MinLstm,
                ][k];
                let h = if proj && kind == CellKind::Lstm {
                    h + 1
                } else {
                    h
                };
                let mut cfg = RecurrentConfig::lstm(i, h);
                cfg.kind = kind;
                cfg.num_layers = layers;
                cfg.bidirectional = bidir;
                cfg.bias = bias;
                cfg.batch_first = batch_first;
                cfg.proj_size = if proj && kind == CellKind::Lstm {
                    h - 1
                } else {
                    0
                };
                Case {
                    cfg,
                    b,
                    t,
                    with_h0,
                    seed,
                }
            },
        )
}

fn noise(n: usize, salt: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.6180339 + salt).sin() * 0.9)
        .collect()
}

struct Built {
    store: ParamStore<Cpu>,
    layer: Recurrent,
    input: (Vec<usize>, Vec<f64>),
    h0: Option<(Vec<usize>, Vec<f64>)>,
    c0: Option<(Vec<usize>, Vec<f64>)>,
}

fn build(c: &Case) -> Built {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let layer = Recurrent::new(&mut store, "rnn", c.cfg.clone(), &mut rng(c.seed)).unwrap();
    let shape = if c.cfg.batch_first {
        vec![c.b, c.t, c.cfg.input_size]
    } else {
        vec![c.t, c.b, c.cfg.input_size]
    };
    let n = shape.iter().product();
    let ld = c.cfg.num_layers * c.cfg.directions();
    let h0 = c.with_h0.then(|| {
        (
            vec![ld, c.b, c.cfg.out_size()],
            noise(ld * c.b * c.cfg.out_size(), 0.3),
        )
    });
    let c0 = (c.with_h0 && c.cfg.kind == CellKind::Lstm).then(|| {
        (
            vec![ld, c.b, c.cfg.hidden_size],
            noise(ld * c.b * c.cfg.hidden_size, 0.7),
        )
    });
    Built {
        store,
        layer,
        input: (shape, noise(n, (c.seed % 97) as f64)),
        h0,
        c0,
    }
}

fn leaf(tape: &Tape<Cpu>, x: &(Vec<usize>, Vec<f64>)) -> Var {
    tape.leaf(
        Tensor::from_f64(&Cpu, &x.0, &x.1, DType::F64).unwrap(),
        true,
    )
}

fn weighted(tape: &Tape<Cpu>, v: Var, salt: f64) -> Var {
    let shape = tape.shape(v).unwrap();
    let w = noise(shape.iter().product(), salt);
    let w = tape.constant(Tensor::from_f64(&Cpu, &shape, &w, DType::F64).unwrap());
    tape.sum_all(tape.mul(v, w).unwrap()).unwrap()
}

fn loss_of(tape: &Tape<Cpu>, out: &RecurrentOutput) -> Var {
    let mut loss = tape
        .add(
            weighted(tape, out.output, 1.1),
            weighted(tape, out.h_n, 2.2),
        )
        .unwrap();
    if let Some(c_n) = out.c_n {
        loss = tape.add(loss, weighted(tape, c_n, 3.3)).unwrap();
    }
    loss
}

/// Runs the layer (fused or unrolled) and returns every value and gradient, flattened.
fn run(bt: &Built, unrolled: bool) -> (Vec<Vec<f64>>, f64) {
    let tape = Tape::new(&Cpu);
    let x = leaf(&tape, &bt.input);
    let h0 = bt.h0.as_ref().map(|h| leaf(&tape, h));
    let c0 = bt.c0.as_ref().map(|c| leaf(&tape, c));
    let out = if unrolled {
        bt.layer
            .forward_unrolled(&tape, &bt.store, x, h0, c0)
            .unwrap()
    } else {
        bt.layer.forward(&tape, &bt.store, x, h0, c0, None).unwrap()
    };
    let loss = loss_of(&tape, &out);
    let lv = tape.value(loss).unwrap().scalar().unwrap();
    let mut vals = vec![
        tape.value(out.output).unwrap().to_f64_vec().unwrap(),
        tape.value(out.h_n).unwrap().to_f64_vec().unwrap(),
    ];
    if let Some(c) = out.c_n {
        vals.push(tape.value(c).unwrap().to_f64_vec().unwrap());
    }
    let grads: Grads<Cpu> = tape.backward(loss).unwrap();
    for v in [Some(x), h0, c0].into_iter().flatten() {
        vals.push(
            grads
                .get(v)
                .map(|g| g.to_f64_vec().unwrap())
                .unwrap_or_default(),
        );
    }
    for (id, _, _) in bt.store.iter() {
        vals.push(
            grads
                .param(id.index())
                .map(|g| g.to_f64_vec().unwrap())
                .unwrap_or_default(),
        );
    }
    (vals, lv)
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * x.abs().max(y.abs()).max(1.0))
}

fn loss_value(bt: &Built) -> f64 {
    let tape = Tape::no_grad(&Cpu);
    let x = tape.constant(Tensor::from_f64(&Cpu, &bt.input.0, &bt.input.1, DType::F64).unwrap());
    let h0 = bt
        .h0
        .as_ref()
        .map(|h| tape.constant(Tensor::from_f64(&Cpu, &h.0, &h.1, DType::F64).unwrap()));
    let c0 = bt
        .c0
        .as_ref()
        .map(|h| tape.constant(Tensor::from_f64(&Cpu, &h.0, &h.1, DType::F64).unwrap()));
    let out = bt.layer.forward(&tape, &bt.store, x, h0, c0, None).unwrap();
    tape.value(loss_of(&tape, &out)).unwrap().scalar().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fused_equals_unrolled(c in case()) {
        let bt = build(&c);
        let (fused, lf) = run(&bt, false);
        let (unrolled, lu) = run(&bt, true);
        prop_assert!((lf - lu).abs() <= 1e-10 * lf.abs().max(1.0));
        for (i, (f, u)) in fused.iter().zip(&unrolled).enumerate() {
            prop_assert!(close(f, u, 1e-10), "tensor {i} differs: {f:?} vs {u:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn gradients_match_finite_differences(c in case()) {
        let mut bt = build(&c);
        let (analytic, _) = run(&bt, false);
        let n_states = 1 + usize::from(bt.h0.is_some()) + usize::from(bt.c0.is_some());
        let first_grad = analytic.len() - bt.store.len() - n_states;
        let h = 1e-6;
        // input gradient
        for j in 0..bt.input.1.len() {
            let orig = bt.input.1[j];
            bt.input.1[j] = orig + h;
            let lp = loss_value(&bt);
            bt.input.1[j] = orig - h;
            let lm = loss_value(&bt);
            bt.input.1[j] = orig;
            let fd = (lp - lm) / (2.0 * h);
            let a = analytic[first_grad][j];
            prop_assert!((a - fd).abs() <= 1e-6 * a.abs().max(fd.abs()).max(1.0), "input[{j}]: {a} \
                vs {fd}");
        }
        // every parameter
        let ids: Vec<_> = bt.store.iter().map(|(id, n, _)| (id, n.to_string())).collect();
        for (k, (id, name)) in ids.into_iter().enumerate() {
            let base = bt.store.get(id).unwrap().to_f64_vec().unwrap();
            let shape = bt.store.get(id).unwrap().shape().to_vec();
            for j in 0..base.len() {
                let mut v = base.clone();
                v[j] += h;
                bt.store.set(id, Tensor::from_f64(&Cpu, &shape, &v, DType::F64).unwrap()).unwrap();
                let lp = loss_value(&bt);
                v[j] -= 2.0 * h;
                bt.store.set(id, Tensor::from_f64(&Cpu, &shape, &v, DType::F64).unwrap()).unwrap();
                let lm = loss_value(&bt);
                bt.store.set(id, Tensor::from_f64(&Cpu, &shape, &base,
                    DType::F64).unwrap()).unwrap();
                let fd = (lp - lm) / (2.0 * h);
                let a = analytic[first_grad + n_states + k][j];
                prop_assert!((a - fd).abs() <= 1e-6 * a.abs().max(fd.abs()).max(1.0),
                    "{name}[{j}]: {a} vs {fd}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn packed_equals_each_sequence_alone(c in case(), lens in prop::collection::vec(1usize..5,
        1..4)) {
        let mut c = c;
        c.cfg.batch_first = true;
        c.b = lens.len();
        c.t = *lens.iter().max().unwrap();
        let bt = build(&c);
        let (b, t, i) = (c.b, c.t, c.cfg.input_size);
        let width = c.cfg.directions() * c.cfg.out_size();
        // packed batch
        let tape = Tape::new(&Cpu);
        let x = leaf(&tape, &bt.input);
        let h0 = bt.h0.as_ref().map(|h| leaf(&tape, h));
        let c0 = bt.c0.as_ref().map(|h| leaf(&tape, h));
        let packed = pack_padded_sequence(&tape, x, &lens, Layout::BatchFirst, Order::Any).unwrap();
        let (pout, out) = bt.layer.forward_packed(&tape, &bt.store, &packed, h0, c0, None).unwrap();
        let (padded, _) = pad_packed_sequence(&tape, &pout, Layout::BatchFirst, 0.0,
            Some(t)).unwrap();
        let loss = tape.add(weighted(&tape, padded, 1.1), weighted(&tape, out.h_n, 2.2)).unwrap();
        let loss = match out.c_n { Some(cn) => tape.add(loss, weighted(&tape, cn, 3.3)).unwrap(),
            None => loss };
        let out_v = tape.value(padded).unwrap().to_f64_vec().unwrap();
        let hn_v = tape.value(out.h_n).unwrap().to_f64_vec().unwrap();
        let grads = tape.backward(loss).unwrap();
        let gx = grads.get(x).unwrap().to_f64_vec().unwrap();
        let mut gparams: Vec<Vec<f64>> = bt.store.iter().map(|(id, _, v)| {
            let g = grads.param(id.index());
            g.map(|g| g.to_f64_vec().unwrap()).unwrap_or(vec![0.0; v.numel()])
        }).collect();

        // each sequence alone, accumulating parameter gradients
        let ld = c.cfg.num_layers * c.cfg.directions();
        let p = c.cfg.out_size();
        let w_out = noise(b * t * width, 1.1);
        let w_hn = noise(ld * b * p, 2.2);
        for (row, &len) in lens.iter().enumerate() {
            let tape = Tape::new(&Cpu);
            let xs: Vec<f64> = bt.input.1[row * t * i..row * t * i + len * i].to_vec();
            let xr = tape.leaf(Tensor::from_f64(&Cpu, &[1, len, i], &xs, DType::F64).unwrap(),
                true);
            let pick = |all: &(Vec<usize>, Vec<f64>)| {
                let w = all.0[2];
                let v: Vec<f64> = (0..ld)
                    .flat_map(|k| all.1[(k * b + row) * w..(k * b + row + 1) * w].to_vec())
                    .collect();
                tape.constant(Tensor::from_f64(&Cpu, &[ld, 1, w], &v, DType::F64).unwrap())
            };
            let h0r = bt.h0.as_ref().map(pick);
            let c0r = bt.c0.as_ref().map(pick);
            let o = bt.layer.forward(&tape, &bt.store, xr, h0r, c0r, None).unwrap();
            let ov = tape.value(o.output).unwrap().to_f64_vec().unwrap();
            for s in 0..len {
                let got = &out_v[(row * t + s) * width..(row * t + s + 1) * width];
                prop_assert!(close(got, &ov[s * width..(s + 1) * width], 1e-10), "row {row} step \
                    {s}");
            }
            let padding = &out_v[(row * t + len) * width..(row + 1) * t * width];
            prop_assert!(padding.iter().all(|&v| v == 0.0), "padding must be 0");
            let hv = tape.value(o.h_n).unwrap().to_f64_vec().unwrap();
            for k in 0..ld {
                prop_assert!(close(&hn_v[(k * b + row) * p..(k * b + row + 1) * p],
                    &hv[k * p..(k + 1) * p], 1e-10), "h_n row {row}");
            }
            // same loss terms restricted to this row
            let wo: Vec<f64> = (0..len)
                .flat_map(|s| w_out[(row * t + s) * width..(row * t + s + 1) * width].to_vec())
                .collect();
            let wo = tape.constant(Tensor::from_f64(&Cpu, &[1, len, width], &wo,
                DType::F64).unwrap());
            let wh: Vec<f64> = (0..ld)
                .flat_map(|k| w_hn[(k * b + row) * p..(k * b + row + 1) * p].to_vec())
                .collect();
            let wh = tape.constant(Tensor::from_f64(&Cpu, &[ld, 1, p], &wh, DType::F64).unwrap());
            let mut l = tape.add(tape.sum_all(tape.mul(o.output, wo).unwrap()).unwrap(),
                tape.sum_all(tape.mul(o.h_n, wh).unwrap()).unwrap()).unwrap();
            if let Some(cn) = o.c_n {
                let hsz = c.cfg.hidden_size;
                let w_cn = noise(ld * b * hsz, 3.3);
                let wc: Vec<f64> = (0..ld)
                    .flat_map(|k| w_cn[(k * b + row) * hsz..(k * b + row + 1) * hsz].to_vec())
                    .collect();
                let wc = tape.constant(Tensor::from_f64(&Cpu, &[ld, 1, hsz], &wc,
                    DType::F64).unwrap());
                l = tape.add(l, tape.sum_all(tape.mul(cn, wc).unwrap()).unwrap()).unwrap();
            }
            let g = tape.backward(l).unwrap();
            let gxr = g.get(xr).unwrap().to_f64_vec().unwrap();
            prop_assert!(close(&gx[row * t * i..row * t * i + len * i], &gxr, 1e-9), "input grad \
                row {row}");
            for (k, (id, _, _)) in bt.store.iter().enumerate() {
                if let Some(gp) = g.param(id.index()) {
                    for (acc, v) in gparams[k].iter_mut().zip(gp.to_f64_vec().unwrap()) {
                        *acc -= v;
                    }
                }
            }
        }
        for (k, rest) in gparams.iter().enumerate() {
            prop_assert!(rest.iter().all(|v| v.abs() < 1e-9), "param {k}: packed gradient != sum \
                of per-sequence gradients ({rest:?})");
        }
    }
}

/// The shapes a config reports without allocating are the ones its model registers, name
/// for name, in order: a file's shapes are checked against them before a model is built.
#[test]
fn param_shapes_are_what_the_models_register() {
    use recur_layers::{Classifier, ClassifierConfig, LanguageModel, LmConfig, ModelKind, Pooling};

    let registered = |store: &ParamStore<Cpu>| -> Vec<(String, Vec<usize>)> {
        store
            .iter()
            .map(|(_, n, t)| (n.to_string(), t.shape().to_vec()))
            .collect()
    };
    for cell in [
        CellKind::RnnTanh,
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::MinGru,
        CellKind::MinLstm,
    ] {
        for (layers, bi, proj, pooling) in [
            (1, false, 0, Pooling::Last),
            (2, true, 0, Pooling::Attention),
            (3, true, 3, Pooling::Max),
        ] {
            if proj > 0 && cell != CellKind::Lstm {
                continue;
            }
            let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 11)
                .with_cell(cell)
                .with_pooling(pooling)
                .with_sizes(5, 4)
                .with_layers(layers, 0.0);
            c.bidirectional = bi;
            c.proj_size = proj;
            c.num_class = 3;
            let mut store = ParamStore::new(&Cpu, DType::F32);
            Classifier::new(&mut store, c.clone(), &mut rng(1)).unwrap();
            assert_eq!(registered(&store), c.param_shapes(), "{c:?}");
        }
        for tied in [false, true] {
            let c = LmConfig {
                vocab_size: 9,
                embed_dim: 4,
                hidden_dim: 4,
                num_layers: 2,
                cell,
                dropout: 0.0,
                tied,
            };
            let mut store = ParamStore::new(&Cpu, DType::F32);
            LanguageModel::new(&mut store, c.clone(), &mut rng(1)).unwrap();
            assert_eq!(registered(&store), c.param_shapes(), "{c:?}");
        }
    }
    // a size no machine holds is refused before anything is allocated
    let mut huge = ClassifierConfig::lesson(ModelKind::Lstm, 100);
    huge.hidden_dim = 10_000_000;
    let e = Classifier::new(&mut ParamStore::new(&Cpu, DType::F32), huge, &mut rng(1));
    assert!(e.unwrap_err().to_string().contains("over the limit"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The sequential mode (one step per call, the state carried, as `recur generate` runs
    /// a language model) gives the numbers of one call over the whole sequence, for every
    /// cell (one direction: a reversed pass cannot be stepped forward).
    #[test]
    fn one_step_at_a_time_equals_the_whole_sequence(c in case()) {
        let mut c = c;
        c.cfg.bidirectional = false;
        c.cfg.batch_first = true;
        let bt = build(&c);
        let (b, t, i) = (c.b, c.t, c.cfg.input_size);
        let tape = Tape::no_grad(&Cpu);
        let x = leaf(&tape, &bt.input);
        let h0 = bt.h0.as_ref().map(|h| leaf(&tape, h));
        let c0 = bt.c0.as_ref().map(|h| leaf(&tape, h));
        let whole = bt.layer.forward(&tape, &bt.store, x, h0, c0, None).unwrap();
        let want = tape.value(whole.output).unwrap().to_f64_vec().unwrap();
        let want_h = tape.value(whole.h_n).unwrap().to_f64_vec().unwrap();
        let width = c.cfg.out_size();
        let (mut h, mut cs) = (h0, c0);
        for s in 0..t {
            let xs: Vec<f64> = (0..b)
                .flat_map(|r| bt.input.1[(r * t + s) * i..(r * t + s + 1) * i].to_vec())
                .collect();
            let xs = tape.constant(Tensor::from_f64(&Cpu, &[b, 1, i], &xs, DType::F64).unwrap());
            let o = bt.layer.forward(&tape, &bt.store, xs, h, cs, None).unwrap();
            let got = tape.value(o.output).unwrap().to_f64_vec().unwrap();
            for r in 0..b {
                let w = &want[(r * t + s) * width..(r * t + s + 1) * width];
                prop_assert!(close(&got[r * width..(r + 1) * width], w, 1e-12), "{:?} step {s} \
                    row {r}", c.cfg.kind);
            }
            h = Some(o.h_n);
            cs = o.c_n;
        }
        let got_h = tape.value(h.unwrap()).unwrap().to_f64_vec().unwrap();
        prop_assert!(close(&got_h, &want_h, 1e-12), "{:?} h_n", c.cfg.kind);
    }
}
