//! A model of building blocks: Embedding → packed bidirectional GRU → attention over each
//! sequence's own steps (a masked softmax, weights broadcast over the features) → Linear,
//! trained by the library's `Trainer` through the `Model` trait.
//! `cargo run --release --example custom_model`
use recur::nn::Result as LayerResult;
use recur::prelude::*;
use recur::rand::Rng as _;

struct GruAttention {
    embedding: Embedding,
    rnn: Recurrent,
    score: Linear,
    fc: Linear,
}

impl GruAttention {
    fn new(store: &mut ParamStore<Cpu>, vocab: usize, rng: &mut Rng) -> Result<Self> {
        let table = EmbeddingConfig::new(vocab, 16).with_padding_idx(0);
        let gru = RecurrentConfig {
            bidirectional: true,
            batch_first: true,
            ..RecurrentConfig::gru(16, 24)
        };
        Ok(GruAttention {
            embedding: Embedding::new(store, "embedding", table, rng)?,
            rnn: Recurrent::new(store, "rnn", gru, rng)?,
            score: Linear::new(store, "score", 48, 1, Bias::Without, rng)?,
            fc: Linear::new(store, "fc", 48, 2, Bias::With, rng)?,
        })
    }
}

impl Model<Cpu> for GruAttention {
    fn logits(
        &self,
        tape: &Tape<Cpu>,
        store: &ParamStore<Cpu>,
        batch: &Batch,
        _: Option<&mut Rng>,
    ) -> LayerResult<Var> {
        let (b, t) = (batch.len(), batch.max_len);
        let x = self
            .embedding
            .forward(tape, store, &batch.tokens, &[b, t])?;
        let packed = pack_padded_sequence(tape, x, &batch.lengths, Layout::BatchFirst, Order::Any)?;
        let (out, _) = self
            .rnn
            .forward_packed(tape, store, &packed, None, None, None)?;
        let (h, _) = pad_packed_sequence(tape, &out, Layout::BatchFirst, 0.0, Some(t))?;
        // scores [B, T, 1]; softmax over time, each row over its own steps only
        let scores = self
            .score
            .forward(tape, store, tape.reshape(h, &[b * t, 48])?)?;
        let scores = tape.reshape(scores, &[b, t, 1])?;
        let mask = Mask::lengths(&batch.lengths, t)?.unsqueeze(2);
        let alpha = tape.softmax(scores, 1, Some(&mask))?;
        // [B, T, 48] · [B, T, 1] broadcasts; summed over time → [B, 48]
        let pooled = tape.sum_axis(tape.mul(h, alpha)?, 1)?;
        self.fc.forward(tape, store, pooled)
    }

    fn num_classes(&self) -> usize {
        2
    }
}

/// `n` sequences over tokens 3..30 whose class is whether token 1 comes before token 2.
fn sequences(n: usize, rng: &mut Rng) -> Encoded {
    let mut data = Encoded::default();
    while data.len() < n {
        let len = rng.gen_range(4..16);
        let mut ids: Vec<usize> = (0..len).map(|_| rng.gen_range(3..30)).collect();
        let (a, b) = (rng.gen_range(0..len), rng.gen_range(0..len));
        if a != b {
            (ids[a], ids[b]) = (1, 2);
            data.ids.push(ids);
            data.labels.push(usize::from(a < b));
        }
    }
    data
}

/// Trains the model; checks it learned the task.
pub fn main() -> Result<()> {
    let mut rng = rng(7);
    let (train, valid) = (sequences(4000, &mut rng), sequences(500, &mut rng));
    let mut store = ParamStore::new(&Cpu, DType::F32);
    let model = GruAttention::new(&mut store, 30, &mut rng)?;
    let config = TrainConfig::epochs(4).with_clip_grad_norm(1.0);
    let data = Datasets::new(train).with_valid(&valid);
    let task = Classify::new(&model, data, ClassifyConfig::new(32));
    let mut trainer = Trainer::new(config, task, store, Box::new(Adam::with_lr(0.01)), rng);
    let fit = trainer.fit(&mut Printing::new().epochs_only())?;
    let accuracy = fit.last.and_then(|e| e.task.valid_accuracy).unwrap_or(0.0);
    println!("validation accuracy {accuracy:.4}");
    assert!(accuracy >= 0.9, "validation accuracy {accuracy} < 0.9");
    Ok(())
}
