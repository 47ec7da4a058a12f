//! Fuzzing on stable Rust: random bytes and mutated valid files fed to the loaders a user
//! controls — vocabulary files, `config.json`, safetensors parameters and optimizer state,
//! the text path of `predict`/`serve` — must give an error, never a panic. Cases per target:
//! `RECUR_FUZZ_CASES` (default 256; `cargo xtask fuzz --cases N` runs more).

use proptest::prelude::*;
use recur_cpu::Cpu;
use recur_data::{Vocab, VocabOrder};
use recur_layers::{rng, Classifier, ClassifierConfig, ModelKind, ParamStore};
use recur_tensor::DType;
use recur_train::{load_params_bytes, params_to_bytes, state_from_bytes, LoadedRun, RunConfig};

/// A valid `config.json`.
fn config_bytes() -> Vec<u8> {
    let config = RunConfig::for_model(ClassifierConfig::lesson(ModelKind::Gru, 5));
    serde_json::to_vec(&config).unwrap()
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
        if let Ok(cfg) = serde_json::from_slice::<RunConfig>(&bytes) {
            // a config that parses builds a model or says why not
            let mut store = ParamStore::new(&Cpu, DType::F32);
            let _ = Classifier::new(&mut store, cfg.model.clone(), &mut rng(0));
            let _ = cfg.classes();
        }
    }

    #[test]
    fn fuzz_safetensors_params(bytes in mutate(params_to_bytes(&model().0).unwrap())) {
        let (mut store, _) = model();
        let _ = load_params_bytes(&mut store, &bytes, std::path::Path::new("fuzz.safetensors"));
        let _ = state_from_bytes(&Cpu, &bytes, std::path::Path::new("fuzz.safetensors"));
    }

    #[test]
    fn fuzz_text_input(text in "\\\\PC{0,80}") {
        let (store, model) = model();
        let vocab = Vocab::from_counts((0..9).map(|i| (format!("w{i}"), 1)).collect(),
            VocabOrder::FirstSeen, 1);
        let mut config = RunConfig::for_model(model.config.clone());
        config.max_tokens = Some(5);
        let run = LoadedRun { config, vocab, store, model };
        if let Some(ids) = run.encode(&text) {
            prop_assert!(ids.len() <= 5);
            let p = run.probabilities(&[ids]).unwrap();
            prop_assert!(p[0].iter().all(|x| x.is_finite()));
        }
    }
}
