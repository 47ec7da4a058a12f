//! A model from the building blocks: Embedding → packed bidirectional GRU → max over each
//! sequence's own steps → Linear, trained by the library's `Trainer` through the `Model`
//! trait. `cargo run --release --example custom_model`
use recur::nn::Result as LayerResult;
use recur::prelude::*;
use recur::rand::Rng as _;

struct GruMax {
    embedding: Embedding,
    rnn: Recurrent,
    fc: Linear,
    classes: usize,
}

impl GruMax {
    fn new(
        store: &mut ParamStore<Cpu>,
        vocab: usize,
        classes: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        let table = EmbeddingConfig::new(vocab, 16).with_padding_idx(0);
        let embedding = Embedding::new(store, "embedding", table, rng)?;
        let gru = RecurrentConfig {
            bidirectional: true,
            batch_first: true,
            ..RecurrentConfig::gru(16, 24)
        };
        let rnn = Recurrent::new(store, "rnn", gru, rng)?;
        let fc = Linear::new(store, "fc", 48, classes, Bias::With, rng)?;
        Ok(GruMax {
            embedding,
            rnn,
            fc,
            classes,
        })
    }
}

impl Model<Cpu> for GruMax {
    fn logits(
        &self,
        tape: &Tape<Cpu>,
        store: &ParamStore<Cpu>,
        batch: &Batch,
        _: Option<&mut Rng>,
    ) -> LayerResult<Var> {
        let x =
            self.embedding
                .forward(tape, store, &batch.tokens, &[batch.len(), batch.max_len])?;
        let packed = pack_padded_sequence(tape, x, &batch.lengths, Layout::BatchFirst, Order::Any)?;
        let (out, _) = self
            .rnn
            .forward_packed(tape, store, &packed, None, None, None)?;
        // padding is -inf, so the max runs over each sequence's own steps only
        let (padded, _) =
            pad_packed_sequence(tape, &out, Layout::BatchFirst, f64::NEG_INFINITY, None)?;
        let pooled = tape.max_axis(padded, 1)?;
        self.fc.forward(tape, store, pooled)
    }

    fn num_classes(&self) -> usize {
        self.classes
    }
}

/// `n` sequences over tokens 1..30 whose class is whether token 1 comes before token 2.
fn sequences(n: usize, rng: &mut Rng) -> Encoded {
    let mut data = Encoded::default();
    for _ in 0..n {
        let len = rng.gen_range(4..16);
        let mut ids: Vec<usize> = (0..len).map(|_| rng.gen_range(3..30)).collect();
        let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
        if a == b {
            continue;
        }
        (ids[a], ids[b]) = (1, 2);
        data.ids.push(ids);
        data.labels.push(usize::from(a < b));
    }
    data
}

/// Trains the model; checks it learned the task.
pub fn main() -> Result<()> {
    let mut rng = rng(7);
    let (train, valid) = (sequences(4000, &mut rng), sequences(500, &mut rng));
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = GruMax::new(&mut store, 30, 2, &mut rng)?;
    let config = TrainConfig {
        clip_grad_norm: Some(1.0),
        ..TrainConfig::epochs(4)
    };
    let data = Datasets::new(train).with_valid(&valid);
    let task = Classify::new(&model, data, ClassifyConfig::new(32));
    let mut trainer = Trainer::new(config, task, store, Box::new(Adam::with_lr(0.01)), rng);
    let fit = trainer.fit(&mut Silent)?;
    let accuracy = fit
        .last
        .and_then(|e| e.task.valid_accuracy)
        .unwrap_or_default();
    println!(
        "validation accuracy {accuracy:.4} (the best of {} epochs)",
        4
    );
    assert!(
        accuracy >= 0.9,
        "validation accuracy {accuracy} is below 0.9"
    );
    Ok(())
}
