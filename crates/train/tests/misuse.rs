//! Misusing the library is an error that says what to do, never a panic or a silently wrong
//! value: variables of another tape, a second backward, a layer run with another store, an
//! optimizer step while a tape still reads the parameters, lazily updated rows read or
//! saved stale, a wrong input width, a hand-made inconsistent `PackedSequence`, and
//! strict / non-strict loading.

use recur_autograd::Tape;
use recur_cpu::Cpu;
use recur_layers::{
    rng, Adam, AdamConfig, Bias, Embedding, EmbeddingConfig, LayerError, Linear, Optimizer,
    ParamStore,
};
use recur_packed::PackedSequence;
use recur_tensor::{DType, Tensor};
use recur_train::{ParamsFile, TrainError};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("recur-misuse-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn ones(shape: &[usize]) -> Tensor<Cpu> {
    Tensor::full(&Cpu, shape, DType::F32, 1.0).unwrap()
}

#[test]
fn a_variable_of_another_tape_is_an_error() {
    let (a, b) = (Tape::new(&Cpu), Tape::new(&Cpu));
    let x = a.leaf(ones(&[2]), true);
    let y = b.leaf(ones(&[2]), true);
    for err in [
        b.value(x).unwrap_err().to_string(),
        b.add(x, y).unwrap_err().to_string(),
        b.tanh(x).unwrap_err().to_string(),
        b.backward(x).unwrap_err().to_string(),
    ] {
        assert!(err.contains("belongs to another tape"), "{err}");
    }
}

#[test]
fn a_second_backward_is_an_error() {
    let tape = Tape::new(&Cpu);
    let x = tape.leaf(ones(&[3]), true);
    let loss = tape.sum_all(tape.tanh(x).unwrap()).unwrap();
    assert!(tape.backward(loss).unwrap().get(x).is_some());
    let err = tape.backward(loss).unwrap_err().to_string();
    assert!(err.contains("already called"), "{err}");
    let no_grad = Tape::no_grad(&Cpu);
    let z = no_grad.leaf(ones(&[1]), true);
    let err = no_grad.backward(z).unwrap_err().to_string();
    assert!(err.contains("no_grad"), "{err}");
}

#[test]
fn a_layer_run_with_another_store_names_the_layer() {
    let mut built_with = ParamStore::new(&Cpu, DType::F32);
    let mut other = ParamStore::new(&Cpu, DType::F32);
    let fc = Linear::new(&mut built_with, "fc", 4, 2, Bias::With, &mut rng(0)).unwrap();
    let _ = Linear::new(&mut other, "head", 4, 2, Bias::With, &mut rng(0)).unwrap();
    let tape = Tape::new(&Cpu);
    let x = tape.constant(ones(&[3, 4]));
    let err = fc.forward(&tape, &other, x).unwrap_err();
    assert!(matches!(err, LayerError::Store { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("fc: parameter") && msg.contains("another ParamStore"),
        "{msg}"
    );
    // a clone of the store holds the same parameters: that is fine
    let clone = built_with.clone();
    assert!(fc.forward(&tape, &clone, x).is_ok());
}

#[test]
fn a_wrong_input_width_names_the_layer_and_the_shapes() {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let fc = Linear::new(&mut store, "fc", 64, 4, Bias::With, &mut rng(0)).unwrap();
    let tape = Tape::new(&Cpu);
    let x = tape.constant(ones(&[3, 8]));
    let msg = fc.forward(&tape, &store, x).unwrap_err().to_string();
    assert_eq!(msg, "fc: expected input [*, 64], got [3, 8]");
}

#[test]
fn a_step_while_a_tape_reads_the_parameters_is_refused() {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let fc = Linear::new(&mut store, "fc", 2, 1, Bias::With, &mut rng(0)).unwrap();
    let mut opt = Adam::<Cpu>::new(AdamConfig::default());
    // syncing or preparing rows before any step is harmless
    opt.sync(&mut store).unwrap();
    opt.prepare_rows(&mut store, &[0]).unwrap();
    let tape = Tape::new(&Cpu);
    let y = fc
        .forward(&tape, &store, tape.constant(ones(&[1, 2])))
        .unwrap();
    let mut grads = tape.backward(tape.sum_all(y).unwrap()).unwrap();
    let err = opt.step(&mut store, &mut grads).unwrap_err().to_string();
    assert!(err.contains("drop the tape"), "{err}");
    drop(tape);
    opt.step(&mut store, &mut grads).unwrap();
}

/// One lazy-Adam step on an embedding of 10 rows touching rows 1 and 2.
fn lazy_step() -> (ParamStore<Cpu>, Embedding, Adam<Cpu>) {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let emb = Embedding::new(
        &mut store,
        "embedding",
        EmbeddingConfig::new(10, 3),
        &mut rng(0),
    )
    .unwrap();
    let mut opt = Adam::new(AdamConfig {
        lazy_rows: true,
        ..AdamConfig::default()
    });
    for ids in [[1usize, 2], [3, 4]] {
        opt.prepare_rows(&mut store, &ids).unwrap();
        let tape = Tape::new(&Cpu);
        let e = emb.forward(&tape, &store, &ids, &[2]).unwrap();
        let mut grads = tape.backward(tape.sum_all(e).unwrap()).unwrap();
        drop(tape);
        opt.step(&mut store, &mut grads).unwrap();
    }
    (store, emb, opt)
}

#[test]
fn rows_left_behind_by_lazy_adam_are_neither_read_nor_saved() {
    let (mut store, emb, mut opt) = lazy_step();
    assert_eq!(store.behind(), vec!["embedding.weight"]);
    // rows 1 and 2 missed the second step: reading them is refused ...
    let tape = Tape::new(&Cpu);
    let msg = emb
        .forward(&tape, &store, &[2, 7], &[2])
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("embedding:") && msg.contains("prepare_rows"),
        "{msg}"
    );
    // ... rows 3 and 4 are current
    assert!(emb.forward(&tape, &store, &[3, 4], &[2]).is_ok());
    drop(tape);
    // saving is refused until synced
    let path = tmp("lazy.safetensors");
    let err = store.save(&path).unwrap_err();
    assert!(matches!(err, TrainError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("opt.sync"), "{err}");
    store.save_synced(&mut opt, &path).unwrap();
    assert!(store.behind().is_empty());
    let tape = Tape::new(&Cpu);
    assert!(emb.forward(&tape, &store, &[2, 7], &[2]).is_ok());
}

#[test]
fn strict_and_non_strict_loads_report_keys() {
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let _ = Linear::new(&mut store, "fc", 2, 2, Bias::With, &mut rng(0)).unwrap();
    let path = tmp("fc.safetensors");
    store.save(&path).unwrap();
    // a bigger model: fc plus an extra layer
    let mut bigger = ParamStore::new(&Cpu, DType::F32);
    let _ = Linear::new(&mut bigger, "fc", 2, 2, Bias::With, &mut rng(1)).unwrap();
    let _ = Linear::new(&mut bigger, "out", 2, 3, Bias::Without, &mut rng(1)).unwrap();
    let before = bigger.clone();
    let err = bigger.load(&path).unwrap_err().to_string();
    assert!(err.contains("missing key out.weight"), "{err}");
    let report = bigger.load_non_strict(&path).unwrap();
    assert_eq!(report.missing, vec!["out.weight".to_string()]);
    assert!(report.unexpected.is_empty());
    assert_eq!(
        report.to_string(),
        "missing keys: [out.weight], unexpected keys: []"
    );
    // fc came from the file, out kept its values
    let value =
        |s: &ParamStore<Cpu>, n: &str| s.get(s.id(n).unwrap()).unwrap().to_f64_vec().unwrap();
    assert_eq!(value(&bigger, "fc.weight"), value(&store, "fc.weight"));
    assert_eq!(value(&bigger, "out.weight"), value(&before, "out.weight"));
    // a smaller model: the file's extra keys are unexpected
    let mut smaller = ParamStore::new(&Cpu, DType::F32);
    let _ = Linear::new(&mut smaller, "fc", 2, 2, Bias::Without, &mut rng(2)).unwrap();
    assert!(smaller
        .load(&path)
        .unwrap_err()
        .to_string()
        .contains("unknown key(s) fc.bias"));
    let report = smaller.load_non_strict(&path).unwrap();
    assert_eq!(report.unexpected, vec!["fc.bias".to_string()]);
    assert!(!report.is_complete());
    // a shape mismatch is an error even when not strict, and changes nothing
    let mut wide = ParamStore::new(&Cpu, DType::F32);
    let _ = Linear::new(&mut wide, "fc", 3, 2, Bias::With, &mut rng(3)).unwrap();
    let untouched = value(&wide, "fc.bias");
    let err = wide.load_non_strict(&path).unwrap_err().to_string();
    assert!(err.contains("key fc.weight has shape [2, 2]"), "{err}");
    assert_eq!(value(&wide, "fc.bias"), untouched);
}

#[test]
fn a_hand_made_packed_sequence_is_checked() {
    let tape = Tape::new(&Cpu);
    let data = tape.constant(ones(&[5, 2]));
    let ok = PackedSequence::new(&tape, data, vec![3, 2], Some(vec![2, 0, 1])).unwrap();
    assert_eq!(ok.unsorted_indices(), Some(&[1, 2, 0][..]));
    assert_eq!(ok.lengths(), vec![2, 1, 2]);
    for (sizes, sorted, needle) in [
        (vec![], None, "non-empty and positive"),
        (vec![3, 0], None, "non-empty and positive"),
        (vec![2, 3], None, "non-increasing"),
        (vec![3, 1], None, "data with 4 rows"),
        (vec![3, 2], Some(vec![0, 0, 1]), "permutation of 0..3"),
        (vec![3, 2], Some(vec![0, 1]), "permutation of 0..3"),
        (vec![3, 2], Some(vec![0, 1, 3]), "permutation of 0..3"),
    ] {
        let err = PackedSequence::new(&tape, data, sizes, sorted)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
}

#[test]
fn a_vocabulary_numbered_otherwise_than_its_config_cannot_be_saved_or_used() {
    use recur_data::{TextEncoder, Tokenizer, Vocab, VocabOrder};
    use recur_layers::{Classifier, ClassifierConfig};
    use recur_train::{ClassifierRunConfig, Predictor, RunConfig, RunDir, RunOutput};

    let texts = ["the cat sat", "the dog ran"];
    let pad_unk = Vocab::from_texts(&texts, VocabOrder::PadUnk, 1);
    let frequency = Vocab::from_texts(&texts, VocabOrder::Frequency, 1);
    assert_eq!(pad_unk.len(), frequency.len());
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let config = ClassifierConfig::new(pad_unk.len(), 2);
    let model = Classifier::new(&mut store, config.clone(), &mut rng(0)).unwrap();
    let names = vec!["a".to_string(), "b".to_string()];
    // the config takes the numbering from the vocabulary it is given...
    let tok = Tokenizer::BasicEnglish;
    let run = ClassifierRunConfig::new(config, names.clone(), tok, &frequency);
    assert_eq!(run.text.vocab_order, VocabOrder::Frequency);
    // ...so saving it with another vocabulary is refused, by every writer
    let run = RunConfig::Classify(run);
    let dir = tmp("vocab-order");
    for err in [
        RunDir::new(&dir).save(&run, &pad_unk, &store).unwrap_err(),
        RunOutput::for_model(&dir, &run, &pad_unk).err().unwrap(),
    ] {
        let err = err.to_string();
        assert!(
            err.contains("numbered pad-unk") && err.contains("frequency"),
            "{err}"
        );
    }
    assert!(!dir.exists(), "nothing is written");
    let RunConfig::Classify(run) = run else {
        unreachable!()
    };
    let encoder = TextEncoder::new(tok, pad_unk.clone(), None);
    let err = Predictor::new(run, encoder, store.clone(), model.clone())
        .err()
        .unwrap();
    assert!(err.to_string().contains("numbered pad-unk"), "{err}");
    // a predictor made from the model reads unknown words as its vocabulary's <unk>
    let p = Predictor::from_model(model, store, tok, pad_unk.clone(), names).unwrap();
    assert_eq!(
        p.encode("the zebra"),
        Some(vec![pad_unk.id("the").unwrap(), 1])
    );
    assert_eq!(p.config().text.vocab_order, VocabOrder::PadUnk);
}
