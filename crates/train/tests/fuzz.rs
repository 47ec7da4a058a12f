//! Fuzzing on stable Rust: random bytes and mutated valid files fed to the loaders a user
//! controls — vocabulary files, `config.json`, safetensors parameters and optimizer state,
//! the text path of `predict`/`serve` — must give an error, never a panic. Cases per target:
//! `RECUR_FUZZ_CASES` (default 256; `cargo xtask fuzz --cases N` runs more).

use proptest::prelude::*;
use recur_cpu::Cpu;
use recur_data::{TextEncoder, Tokenizer};
use recur_data::{Vocab, VocabOrder};
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore};
use recur_tensor::DType;
use recur_train::{
    load_params_bytes, params_to_bytes, state_from_bytes, ClassifierRunConfig, Predictor, RunConfig,
};

/// A valid `config.json`.
fn config_bytes() -> Vec<u8> {
    let vocab = Vocab::from_counts(vec![("a".into(), 1)], VocabOrder::PadUnk, 1);
    let mut model = ClassifierConfig::lesson(ModelKind::Gru, 3);
    model.num_class = 2;
    let names = vec!["x".into(), "y".into()];
    let config = ClassifierRunConfig::new(model, names, Tokenizer::BasicEnglish, &vocab);
    RunConfig::Classify(config).to_json().unwrap()
}

fn cases() -> u32 {
    std::env::var("RECUR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn model() -> (ParamStore<Cpu>, Classifier) {
    let mut c = ClassifierConfig::lesson(ModelKind::LstmPacked, 9);
    c.embed_dim = 3;
    c.hidden_dim = 2;
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let m = Classifier::new(&mut store, c, &mut rng(0)).unwrap();
    (store, m)
}

/// A valid file with a few bytes flipped, cut, or spliced.
fn mutate(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = valid.len().max(1);
    (
        prop::collection::vec((0..n, any::<u8>()), 0..8),
        0..=n,
        any::<bool>(),
    )
        .prop_map(move |(flips, cut, do_cut)| {
            let mut v = valid.clone();
            for (i, b) in flips {
                if i < v.len() {
                    v[i] = b;
                }
            }
            if do_cut {
                v.truncate(cut);
            }
            v
        })
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("recur-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn fuzz_vocab_files(bytes in prop::collection::vec(any::<u8>(), 0..200), order in 0..3usize) {
        let p = tmp(&format!("vocab-{order}.txt"));
        std::fs::write(&p, &bytes).unwrap();
        let order = [VocabOrder::Frequency, VocabOrder::FirstSeen, VocabOrder::PadUnk][order];
        let _ = Vocab::load_as(&p, order);
    }

    #[test]
    fn fuzz_config_json(bytes in mutate(config_bytes())) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(RunConfig::Classify(cfg)) = RunConfig::parse(&text, "config.json".as_ref()) {
            // a config that parses builds a model or says why not
            let mut store = ParamStore::new(&Cpu, DType::F32);
            let _ = Classifier::new(&mut store, cfg.model.clone(), &mut rng(0));
            let _ = cfg.classes.classes();
        }
    }

    #[test]
    fn fuzz_safetensors_params(bytes in mutate(params_to_bytes(&model().0).unwrap())) {
        let (mut store, _) = model();
        let _ = load_params_bytes(&mut store, &bytes, std::path::Path::new("fuzz.safetensors"));
        let _ = state_from_bytes(&Cpu, &bytes, std::path::Path::new("fuzz.safetensors"));
    }

    #[test]
    fn fuzz_text_input(words in prop::collection::vec("w[0-9]|[a-z]{1,3}|\\PC{1,4}", 0..24)) {
        // words of the vocabulary, other words and any characters: often over the limit
        let text = words.join(" ");
        let (store, model) = model();
        let vocab = Vocab::from_counts((0..9).map(|i| (format!("w{i}"), 1)).collect(),
            VocabOrder::FirstSeen, 1);
        let names = ["a", "b", "c", "d"].map(String::from).to_vec();
        let mut config =
            ClassifierRunConfig::new(model.config.clone(), names, Tokenizer::Whitespace, &vocab);
        config.text.max_tokens = Some(5);
        let encoder = TextEncoder::new(Tokenizer::Whitespace, vocab, Some(5));
        let run = Predictor::new(config, encoder, store, model).unwrap();
        let n = text.split_whitespace().count();
        match run.encode(&text) {
            None => prop_assert_eq!(n, 0),
            Some(ids) => {
                prop_assert_eq!(ids.len(), n.min(5), "{:?}", text);
                let p = run.probabilities(&[ids]).unwrap();
                prop_assert!(p[0].iter().all(|x| x.is_finite()));
                prop_assert!((p[0].iter().sum::<f64>() - 1.0).abs() < 1e-5);
            }
        }
    }
}
