//! Texts and labels in memory → a classifier trained by the library, its run folder written
//! as it trains (metrics, checkpoints, the best model) → class probabilities of new texts →
//! the folder loaded back with nothing kept by hand; `recur eval`, `predict` and `serve`
//! read it too. `cargo run --release --example in_memory [DIR]`
use std::path::{Path, PathBuf};

use recur::prelude::*;
use recur::rand::seq::SliceRandom as _;

const GOOD: [&str; 6] = ["wonderful", "great", "loved", "moving", "superb", "fun"];
const BAD: [&str; 6] = ["awful", "boring", "hated", "dull", "terrible", "weak"];
const FILL: [&str; 8] = [
    "the", "film", "plot", "was", "and", "acting", "ending", "really",
];

/// `n` short reviews with their labels (0 negative, 1 positive).
fn reviews(n: usize, rng: &mut Rng) -> (Vec<String>, Vec<usize>) {
    (0..n)
        .map(|i| {
            let label = i % 2;
            let mut words: Vec<&str> = FILL.choose_multiple(rng, 4).copied().collect();
            words.push(*[BAD, GOOD][label].choose(rng).unwrap_or(&"fun"));
            words.shuffle(rng);
            (words.join(" "), label)
        })
        .unzip()
}

/// Trains on reviews in memory, writing the run to `dir`; returns the reloaded run's
/// probabilities of two new reviews.
pub fn run(dir: &Path) -> Result<Vec<Vec<f64>>> {
    let mut rng = rng(11);
    let (texts, labels) = reviews(800, &mut rng);
    let (valid_texts, valid_labels) = reviews(200, &mut rng);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vocab = Vocab::from_texts(&refs, VocabOrder::PadUnk, 1);
    let encoder = TextEncoder::new(Tokenizer::BasicEnglish, vocab.clone(), None);
    let train = Encoded::from_texts(&encoder, &texts, &labels)?;
    let valid = Encoded::from_texts(&encoder, &valid_texts, &valid_labels)?;

    let mut store = ParamStore::new(&Cpu, DType::F32);
    let config = ClassifierConfig::new(vocab.len(), 2).with_pooling(Pooling::Mean);
    let model = Classifier::new(&mut store, config.clone(), &mut rng)?;
    let names = vec!["negative".to_string(), "positive".to_string()];
    let run = ClassifierRunConfig::new(config, names.clone(), Tokenizer::BasicEnglish, &vocab);
    let output = RunOutput::for_model(dir, &RunConfig::Classify(run), &vocab)?;
    let task = Classify::new(
        &model,
        Datasets::new(train).with_valid(&valid),
        ClassifyConfig::new(16),
    );
    let adam = Box::new(Adam::with_lr(0.01));
    let mut trainer =
        Trainer::new(TrainConfig::epochs(3), task, store, adam, rng).with_output(output);
    trainer.fit(&mut Printing::new().epochs_only())?;

    // the model in memory, as `recur predict` reads text
    let best = trainer.best_store().clone();
    let predictor = Predictor::from_model(model, best, Tokenizer::BasicEnglish, vocab, names)?;
    let asked = ["what a wonderful film", "the plot was dull and boring"];
    let in_memory = predictor.probabilities_of(&asked)?;
    // the run folder, loaded with nothing kept by the caller
    let loaded = RunDir::new(dir).load_classifier(&Cpu)?;
    let reloaded = loaded.probabilities_of(&asked)?;
    assert_eq!(
        in_memory, reloaded,
        "the saved run reads text as the model in memory"
    );
    for (text, p) in asked.iter().zip(&reloaded) {
        let best = Prediction::from_probabilities(p.clone()).class;
        println!("{text:?}: {} ({:.3})", loaded.class_names()[best], p[best]);
    }
    Ok(reloaded)
}

/// `in_memory [DIR]`: the run goes to DIR (default: a folder under the system's temp dir).
pub fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("recur-in-memory"));
    run(&dir)?;
    println!(
        "run folder: {} (try `recur eval --run` on it)",
        dir.display()
    );
    Ok(())
}
