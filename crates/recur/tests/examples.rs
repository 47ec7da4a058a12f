//! The examples run as tests at the sizes they ship with: `own_sequences` (trains a packed
//! BiLSTM to ≥ 0.97 test accuracy, then checks the reloaded model's logits are identical),
//! `custom_model` (attention pooling written with the tape's masked softmax and
//! broadcasting, trained through the `Model` trait), `in_memory` (texts in memory → a run
//! folder → the same probabilities reloaded), `ag_news` (the readers with a row limit, when
//! the AG News files are there), `load_pytorch` (PyTorch's logits from its
//! safetensors export) and `predict_run` (a run folder classifies strings).

#[allow(dead_code)] // its `main` reads the command line; the test calls `run`
#[path = "../examples/ag_news.rs"]
mod ag_news;
#[path = "../examples/custom_model.rs"]
mod custom_model;
#[allow(dead_code)] // its `main` reads the command line; the test calls `run`
#[path = "../examples/in_memory.rs"]
mod in_memory;
#[allow(dead_code)] // its `main` reads the command line; the test calls `run`
#[path = "../examples/load_pytorch.rs"]
mod load_pytorch;
#[path = "../examples/own_sequences.rs"]
mod own_sequences;
#[allow(dead_code)] // its `main` reads the command line; the test calls `classify`
#[path = "../examples/predict_run.rs"]
mod predict_run;

use recur::prelude::*;
use recur::train::{ClassifierRunConfig, RunConfig, RunDir};

#[test]
fn own_sequences_learns_and_reloads_identically() {
    own_sequences::main().unwrap();
}

#[test]
fn custom_model_learns_through_the_model_trait() {
    custom_model::main().unwrap();
}

#[test]
fn in_memory_trains_saves_and_reloads_the_same_probabilities() {
    let dir = std::env::temp_dir().join(format!("recur-in-memory-{}", std::process::id()));
    let probs = in_memory::run(&dir).unwrap();
    // "what a wonderful film" is positive, "the plot was dull and boring" negative
    assert!(probs[0][1] > 0.5 && probs[1][0] > 0.5, "{probs:?}");
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.matches("\"kind\":\"epoch\"").count(),
        3,
        "{metrics}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ag_news_reads_trains_and_classifies_headlines() {
    let Some(dir) = std::env::var_os("RECUR_DATA_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.join("test.csv").is_file())
    else {
        recur_testkit::skip_without_data("the ag_news example");
        return;
    };
    let (accuracy, classes) = ag_news::run(&dir, 2000).unwrap();
    assert!(accuracy > 0.6, "test accuracy {accuracy}");
    assert_eq!(classes, ["Business", "Sports"]);
}

#[test]
fn load_pytorch_gives_pytorchs_logits() {
    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/pytorch/gru_classifier.safetensors");
    load_pytorch::run(&weights).unwrap();
    // a file that is not the model's is refused with its name
    let err = load_pytorch::run(std::path::Path::new("/nonexistent.safetensors")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent.safetensors"),
        "{err}"
    );
}

#[test]
fn predict_run_classifies_with_a_saved_run() {
    let texts = ["the team won the match", "the bank raised its rates"];
    let vocab = Vocab::from_texts(&texts, VocabOrder::Frequency, 1);
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let config = ClassifierConfig::new(vocab.len(), 2);
    Classifier::new(&mut store, config.clone(), &mut rng(3)).unwrap();
    let names = vec!["sports".into(), "finance".into()];
    let run_config = RunConfig::Classify(ClassifierRunConfig::new(
        config,
        names,
        Tokenizer::BasicEnglish,
        &vocab,
    ));
    let dir = std::env::temp_dir().join(format!("recur-predict-run-{}", std::process::id()));
    RunDir::new(&dir).save(&run_config, &vocab, &store).unwrap();
    let asked: Vec<String> = ["the match", "", "the rates"].map(String::from).to_vec();
    let got = predict_run::classify(&dir, &asked).unwrap();
    assert!(got[1].is_none(), "an empty text has no class");
    for best in [&got[0], &got[2]] {
        let (class, p) = best.as_ref().unwrap();
        assert!(["sports", "finance"].contains(&class.as_str()), "{class}");
        assert!(*p >= 0.5 && *p <= 1.0, "{p}");
    }
}
