//! A classifier of several recurrent members: each member is the lesson's part under its own
//! names (`members.{i}.…`, the first under the lesson's) with its own bag table, drawn
//! apart; the recurrent logits are the mean of the members', the bag's the mean of its
//! tables' (and its folded table their mean), mixed after; in training each member reads
//! its own batch (`forward_member`); the inference path (`forward_tabled`) gives the training
//! path's logits; a config without the field reads as one member.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    member_prefix, rng, Classifier, ClassifierConfig, ModelKind, ParamStore, Pooling, MAX_MEMBERS,
};
use recur_tensor::{CellKind, DType};

const V: usize = 9;

fn config(members: usize) -> ClassifierConfig {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, V)
        .with_cell(CellKind::Gru)
        .with_pooling(Pooling::Attention)
        .with_sizes(4, 3)
        .with_bidirectional()
        .with_members(members);
    c.num_class = 3;
    c.ngram_buckets = 5;
    c
}

/// Two texts padded to 5 tokens.
const TOKENS: [usize; 10] = [1, 7, 1, 7, 3, 2, 5, 0, 0, 0];
const LENGTHS: [usize; 2] = [5, 2];

fn values(tape: &Tape<Cpu>, v: recur_autograd::Var) -> Vec<f64> {
    tape.value(v).unwrap().to_f64_vec().unwrap()
}

#[test]
fn members_are_drawn_apart_and_their_logits_averaged() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = Classifier::new(&mut store, config(3), &mut rng(5)).unwrap();
    assert_eq!(m.members.len(), 3);
    // every parameter registered as param_shapes says, in its order
    let registered: Vec<(String, Vec<usize>)> = store
        .iter()
        .map(|(_, name, t)| (name.to_string(), t.shape().to_vec()))
        .collect();
    assert_eq!(registered, m.config.param_shapes());
    assert_eq!(registered[0].0, "embedding.weight");
    assert!(store.id("members.2.rnn.weight_hh_l0_reverse").is_some());
    assert!(store.id("members.1.attn.weight").is_some());
    assert!(store.id("members.2.bag.weight").is_some());
    assert!(
        store.id("members.1.bag.idf").is_none(),
        "one IDF, one share"
    );
    assert_eq!(member_prefix(0), "");
    let tape = Tape::new(&Cpu);
    let heads = m
        .forward_heads(&tape, &store, &TOKENS, &LENGTHS, None, None)
        .unwrap();
    let each: Vec<Vec<f64>> = heads.members.iter().map(|&v| values(&tape, v)).collect();
    let mean = values(&tape, heads.recurrent);
    for i in 0..6 {
        let want = (each[0][i] + each[1][i] + each[2][i]) / 3.0;
        assert!((mean[i] - want).abs() < 1e-12, "{i}");
    }
    assert!(
        each[0] != each[1] && each[1] != each[2],
        "members drawn alike"
    );
    // the first member and the bag are drawn as a one-member model draws them
    let mut one_store = ParamStore::new(&Cpu, DType::F64);
    let one = Classifier::new(&mut one_store, config(1), &mut rng(5)).unwrap();
    let one_heads = one
        .forward_heads(&tape, &one_store, &TOKENS, &LENGTHS, None, None)
        .unwrap();
    assert_eq!(values(&tape, one_heads.recurrent), each[0]);
    assert_eq!(one_heads.members, vec![one_heads.recurrent]);
    // inference through the input table gives the same logits
    let logits = m.forward(&tape, &store, &TOKENS, &LENGTHS, None).unwrap();
    let table = m.input_table(&store).unwrap();
    let tabled = m
        .forward_tabled(&tape, &store, &table, &TOKENS, &LENGTHS)
        .unwrap();
    for (x, y) in values(&tape, tabled).iter().zip(values(&tape, logits)) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
    assert_eq!(
        m.input_table_bytes(8),
        3 * one.input_table_bytes(8),
        "a table per member"
    );
    // a one-member model's table does not fit a three-member model
    let one_table = one.input_table(&one_store).unwrap();
    assert!(m
        .forward_tabled(&tape, &store, &one_table, &TOKENS, &LENGTHS)
        .is_err());
}

/// Gives each of `bag`'s tables its own values (they start at zero).
fn set_tables(bag: &recur_layers::NgramBag, store: &mut ParamStore<Cpu>) {
    for (t, id) in bag.tables().enumerate() {
        let shape = store.get(id).unwrap().shape().to_vec();
        let n = shape.iter().product::<usize>();
        let v: Vec<f64> = (0..n)
            .map(|i| ((i * 31 + t * 7) % 19) as f64 / 9.0 - 1.0)
            .collect();
        let x = recur_tensor::Tensor::from_f64(&Cpu, &shape, &v, DType::F64).unwrap();
        store.set(id, x).unwrap();
    }
}

#[test]
fn in_training_each_member_reads_its_own_batch() {
    let mut store = ParamStore::new(&Cpu, DType::F64);
    let m = Classifier::new(&mut store, config(2), &mut rng(9)).unwrap();
    set_tables(m.bag.as_ref().unwrap(), &mut store);
    let other: ([usize; 6], [usize; 2]) = ([4, 4, 8, 6, 0, 0], [3, 1]);
    let tape = Tape::new(&Cpu);
    let apart = |i: usize, tokens: &[usize], lengths: &[usize]| {
        m.forward_member(&tape, &store, i, tokens, lengths, None, None)
            .unwrap()
    };
    let (zero, one) = (apart(0, &TOKENS, &LENGTHS), apart(1, &other.0, &other.1));
    let on = |tokens: &[usize], lengths: &[usize]| {
        m.forward_heads(&tape, &store, tokens, lengths, None, None)
            .unwrap()
    };
    let (first, second) = (on(&TOKENS, &LENGTHS), on(&other.0, &other.1));
    assert_eq!(
        values(&tape, zero.recurrent),
        values(&tape, first.members[0])
    );
    assert_eq!(
        values(&tape, one.recurrent),
        values(&tape, second.members[1])
    );
    assert_eq!(
        values(&tape, zero.bag.unwrap()),
        values(&tape, first.bags[0])
    );
    assert_eq!(
        values(&tape, one.bag.unwrap()),
        values(&tape, second.bags[1])
    );
    assert_eq!(
        (one.members, one.bags),
        (vec![one.recurrent], vec![one.bag.unwrap()])
    );
    // a member the model does not have
    assert!(m
        .forward_member(&tape, &store, 2, &TOKENS, &LENGTHS, None, None)
        .is_err());
}

#[test]
fn a_member_count_of_zero_or_over_the_limit_is_refused() {
    for n in [0, MAX_MEMBERS + 1, usize::MAX] {
        let err = config(n).validate().unwrap_err().to_string();
        assert!(err.contains("members"), "{err}");
        let mut store = ParamStore::new(&Cpu, DType::F64);
        assert!(Classifier::new(&mut store, config(n), &mut rng(0)).is_err());
    }
    assert!(config(MAX_MEMBERS).validate().is_ok());
}

#[test]
fn a_config_without_members_reads_as_one_and_one_is_not_written() {
    let one = serde_json::to_value(config(1)).unwrap();
    assert!(one.get("members").is_none());
    let back: ClassifierConfig = serde_json::from_value(one).unwrap();
    assert_eq!(back.members, 1);
    let two = serde_json::to_value(config(2)).unwrap();
    assert_eq!(two["members"], 2);
}
