//! AG News through the readers: the first rows of the training file read with `read_csv`
//! (a row limit), a vocabulary and encoder built from them, a packed bidirectional GRU with
//! mean pooling trained while the test rows are scored after every epoch, then headlines
//! classified by the model in memory.
//! `cargo run --release --example ag_news [DATA_DIR]` (default: `$RECUR_DATA_DIR`, else
//! `datasets/ag_news`; `cargo xtask download` fetches it)
use std::path::{Path, PathBuf};

use recur::data::{read_csv, ReadOptions, AG_NEWS_CLASSES};
use recur::prelude::*;

/// Trains on the first `rows` training rows of the AG News folder `dir`; the test accuracy
/// (first 2,000 test rows) and the classes of two headlines.
pub fn run(dir: &Path, rows: usize) -> Result<(f64, Vec<String>)> {
    let file = ["train.csv", "train_sample.csv"]
        .map(|f| dir.join(f))
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join("train.csv"));
    let first = |max| ReadOptions {
        max_rows: Some(max),
        ..ReadOptions::default()
    };
    let train = read_csv(&file, first(rows))?;
    let test = read_csv(&dir.join("test.csv"), first(2000))?;
    let texts: Vec<&str> = train.examples.iter().map(|e| e.text.as_str()).collect();
    let vocab = Vocab::from_texts(&texts, VocabOrder::PadUnk, 2);
    let encoder = TextEncoder::new(Tokenizer::BasicEnglish, vocab.clone(), None);
    let (train, test) = (
        encoder.encode_examples(&train.examples).0,
        encoder.encode_examples(&test.examples).0,
    );

    let mut rng = rng(0);
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let config = ClassifierConfig::new(vocab.len(), 4)
        .with_cell(CellKind::Gru)
        .with_bidirectional()
        .with_pooling(Pooling::Mean);
    let model = Classifier::new(&mut store, config, &mut rng)?;
    let task = Classify::new(
        &model,
        Datasets::new(train).with_test(&test),
        ClassifyConfig::new(32),
    );
    let adam = Box::new(Adam::with_lr(0.005));
    let mut trainer = Trainer::new(TrainConfig::epochs(2), task, store, adam, rng);
    let fit = trainer.fit(&mut Printing::new().epochs_only())?;
    let accuracy = fit.last.and_then(|e| e.task.test_accuracy).unwrap_or(0.0);

    let names = AG_NEWS_CLASSES.iter().map(|s| s.to_string()).collect();
    let store = trainer.store().clone();
    let predictor = Predictor::from_model(model, store, Tokenizer::BasicEnglish, vocab, names)?;
    let headlines = [
        "Stocks fall as oil prices climb and investors weigh interest rates",
        "Striker scores twice as the champions win the league final",
    ];
    let classes = predictor
        .probabilities_of(&headlines)?
        .into_iter()
        .map(|p| predictor.class_names()[Prediction::from_probabilities(p).class].clone())
        .collect();
    Ok((accuracy, classes))
}

/// `ag_news [DATA_DIR]`: 4,000 rows, two epochs.
pub fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("RECUR_DATA_DIR").ok())
        .map_or_else(|| PathBuf::from("datasets/ag_news"), PathBuf::from);
    let (accuracy, classes) = run(&dir, 4000)?;
    println!(
        "test accuracy {accuracy:.4}; the headlines: {}",
        classes.join(", ")
    );
    Ok(())
}
