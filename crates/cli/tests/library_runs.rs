//! Run folders written by a program through the library, read by the command line: a
//! classifier trained on texts in memory (its run written by the trainer as it goes) is
//! evaluated by `recur eval` and classifies with `recur predict` as it did in memory; a
//! language model trained on texts in memory continues a prompt with `recur generate` as
//! its `Generator` does.

use std::path::Path;
use std::process::Output;

use recur_cpu::Cpu;
use recur_data::{lm_ids, lm_vocab, Encoded, Streams, TextEncoder, Tokenizer, Vocab, VocabOrder};
use recur_layers::{rng, Adam, Classifier, ClassifierConfig, LanguageModel, LmConfig, ParamStore};
use recur_tensor::{CellKind, DType};
use recur_testkit::succeeded;
use recur_train::{
    Classify, ClassifyConfig, Datasets, Generator, LanguageModeling, LmRunConfig, Predictor,
    RunConfig, RunOutput, Sampling, Silent, TrainConfig, Trainer,
};

fn recur(args: &[&str], stdin: &str) -> Output {
    recur_testkit::run_with_stdin(env!("CARGO_BIN_EXE_recur"), args, stdin.as_bytes())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Reviews whose class (by name) is whether they hold a good or a bad word.
fn reviews(n: usize) -> (Vec<String>, Vec<usize>) {
    let (good, bad) = (["great", "superb", "fun"], ["awful", "dull", "weak"]);
    (0..n)
        .map(|i| {
            let word = if i % 2 == 1 { good[i % 3] } else { bad[i % 3] };
            let filler = ["the film was", "its plot is", "acting felt"][i % 3];
            (format!("{filler} {word}"), i % 2)
        })
        .unzip()
}

#[test]
fn a_classifier_trained_in_memory_is_evaluated_and_predicts_from_the_command_line() {
    let dir = recur_testkit::fresh_dir("library", "classifier");
    let run = dir.join("run");
    let (texts, labels) = reviews(300);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vocab = Vocab::from_texts(&refs, VocabOrder::PadUnk, 1);
    let encoder = TextEncoder::new(Tokenizer::BasicEnglish, vocab.clone(), None);
    let data = Encoded::from_texts(&encoder, &texts, &labels).unwrap();
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let config = ClassifierConfig::new(vocab.len(), 2);
    let model = Classifier::new(&mut store, config.clone(), &mut rng(1)).unwrap();
    let names = vec!["neg".to_string(), "pos".to_string()];
    let run_config = recur_train::ClassifierRunConfig::new(
        config,
        names.clone(),
        Tokenizer::BasicEnglish,
        &vocab,
    );
    let output = RunOutput::for_model(&run, &RunConfig::Classify(run_config), &vocab).unwrap();
    let task = Classify::new(&model, Datasets::new(data), ClassifyConfig::new(16));
    let adam = Box::new(Adam::with_lr(0.02));
    let mut trainer =
        Trainer::new(TrainConfig::epochs(4), task, store, adam, rng(2)).with_output(output);
    trainer.fit(&mut Silent).unwrap();
    let store = trainer.store().clone();
    let p = Predictor::from_model(model, store, Tokenizer::BasicEnglish, vocab, names).unwrap();
    for file in [
        "config.json",
        "vocab.txt",
        "model.safetensors",
        "metrics.jsonl",
    ] {
        assert!(run.join(file).is_file(), "{file} is missing");
    }
    assert!(run.join("checkpoint").is_dir());

    // eval reads labels by class name, as the config says
    let test = dir.join("test.csv");
    std::fs::write(
        &test,
        "pos,the film was great\nneg,its plot is dull\npos,fun\n",
    )
    .unwrap();
    let out = succeeded(&recur(&["eval", "--run", s(&run), "--test", s(&test)], ""));
    let expected = p
        .evaluate(&p.encode_examples(&read(&test, &p)).0, 16)
        .unwrap();
    let accuracy = format!("3 examples, accuracy {:.4}", expected.scores.accuracy());
    assert!(out.contains(&accuracy), "{out} lacks {accuracy}");

    // predict gives the classes the model in memory gives
    let asked = ["the film was great", "its plot is dull"];
    let out = succeeded(&recur(&["predict", "--run", s(&run)], &asked.join("\n")));
    let in_memory: Vec<&str> = p
        .predict(&asked)
        .unwrap()
        .iter()
        .map(|x| p.class_names()[x.as_ref().unwrap().class].as_str())
        .collect();
    assert_eq!(in_memory, ["pos", "neg"]);
    let printed: Vec<&str> = out.lines().collect();
    assert_eq!(printed.len(), 2, "{out}");
    for (line, class) in printed.iter().zip(&in_memory) {
        assert_eq!(line.split('\t').next(), Some(*class), "{line:?}");
    }
}

/// `file`'s examples as the predictor's run reads labelled files.
fn read(file: &Path, p: &Predictor<Cpu>) -> Vec<recur_data::Example> {
    let classes = p.config().classes.classes().unwrap();
    let raw = recur_data::read_labelled(file, &p.config().data, Tokenizer::BasicEnglish, false);
    classes.assign(raw.unwrap(), false).unwrap().examples
}

#[test]
fn a_language_model_trained_in_memory_generates_from_the_command_line() {
    let dir = recur_testkit::fresh_dir("library", "lm");
    let docs = ["the cat sat on the mat", "the dog sat on the log"].repeat(20);
    let vocab = lm_vocab(&docs, Tokenizer::Whitespace, 1, None);
    let ids = lm_ids(&docs, Tokenizer::Whitespace, &vocab);
    let config = LmConfig {
        vocab_size: vocab.len(),
        embed_dim: 16,
        hidden_dim: 16,
        num_layers: 1,
        cell: CellKind::Gru,
        dropout: 0.0,
        tied: true,
    };
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = LanguageModel::new(&mut store, config.clone(), &mut rng(3)).unwrap();
    let run_config = LmRunConfig::new(config, Tokenizer::Whitespace, &vocab);
    let trained = dir.join("trained");
    let output = RunOutput::for_model(&trained, &RunConfig::Lm(run_config), &vocab).unwrap();
    let task = LanguageModeling::new(&model, Streams::new(&ids, 4).unwrap(), None, 6).unwrap();
    let adam = Box::new(Adam::with_lr(0.02));
    let mut trainer =
        Trainer::new(TrainConfig::epochs(3), task, store, adam, rng(4)).with_output(output);
    trainer.fit(&mut Silent).unwrap();
    let store = trainer.store().clone();
    let g = Generator::from_model(model, store, Tokenizer::Whitespace, vocab).unwrap();
    let saved = dir.join("saved");
    g.save(&saved).unwrap();

    let greedy = Sampling {
        temperature: 1e-4,
        top_k: Some(1),
    };
    let text = g.generate_text("the cat", 4, greedy, &mut rng(0)).unwrap();
    for run in [&trained, &saved] {
        let args = [
            "generate",
            "--run",
            s(run),
            "--prompt",
            "the cat",
            "--words",
            "4",
        ];
        let mut args: Vec<&str> = args.to_vec();
        args.extend(["--top-k", "1", "--temperature", "0.0001"]);
        let out = succeeded(&recur(&args, ""));
        assert_eq!(
            out.trim_end(),
            format!("the cat{text}").trim_end(),
            "{}",
            run.display()
        );
    }
}
