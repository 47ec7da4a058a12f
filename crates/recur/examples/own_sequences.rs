//! Your own sequences: token ids in memory → a packed bidirectional LSTM → train → evaluate
//! → save → reload → identical logits. `cargo run --release --example own_sequences`
use recur::prelude::*;
use recur::rand::Rng as _;

/// `n` sequences of noise tokens 4..40 with one marker token 1, 2 or 3: the class.
fn sequences(n: usize, rng: &mut Rng) -> Encoded {
    let mut data = Encoded::default();
    for _ in 0..n {
        let class = rng.gen_range(0..3);
        let len = rng.gen_range(3..20);
        let mut ids: Vec<usize> = (0..len).map(|_| rng.gen_range(4..40)).collect();
        ids[rng.gen_range(0..len)] = 1 + class;
        data.ids.push(ids);
        data.labels.push(class);
    }
    data
}

/// Trains, evaluates, saves and reloads.
pub fn main() -> Result<()> {
    let mut rng = rng(0);
    let (train, test) = (sequences(3000, &mut rng), sequences(500, &mut rng));
    let config = ClassifierConfig::new(40, 3)
        .with_bidirectional()
        .with_pooling(Pooling::Max);
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = Classifier::new(&mut store, config.clone(), &mut rng)?;
    let adam = Box::new(Adam::with_lr(0.01));
    let task = Classify::new(
        &model,
        Datasets::new(train).with_test(&test),
        ClassifyConfig::new(32),
    );
    let mut trainer = Trainer::new(TrainConfig::epochs(3), task, store, adam, rng.clone());
    trainer.fit(&mut Silent)?;
    let store = trainer.store();
    let accuracy = evaluate(&model, store, &test, 256)?.scores.accuracy();
    println!("test accuracy {accuracy:.4}");

    let path = std::env::temp_dir().join("own_sequences.safetensors");
    store.save(&path)?;
    let mut loaded = ParamStore::new(&Cpu, DType::F32);
    let reloaded = Classifier::new(&mut loaded, config, &mut recur::nn::rng(1))?;
    loaded.load(&path)?;
    let before = predict_logits(&model, store, &test, 256)?;
    assert_eq!(before, predict_logits(&reloaded, &loaded, &test, 256)?);
    println!("reloaded from {}: identical logits", path.display());
    assert!(accuracy >= 0.97, "test accuracy {accuracy} is below 0.97");
    Ok(())
}
