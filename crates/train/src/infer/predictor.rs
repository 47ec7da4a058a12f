//! [`Predictor`]: a classifier with everything it needs to read text as its training did —
//! the one inference path of `eval`, `predict`, `serve` and export. It encodes through the
//! run's [`TextEncoder`] (tokenizer, vocabulary, token limit) and runs the model as
//! evaluation does.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use recur_autograd::{Tape, Var};
use recur_data::{collate, Batch, Encoded, Example, TextEncoder, Tokenizer, Vocab};
use recur_layers::{Classifier, InputTable, ParamStore, Rng};
use recur_tensor::Backend;

use crate::classify::eval::evaluate;
use crate::classify::model::Model;
use crate::classify::scores::Evaluation;
use crate::run::config::ClassifierRunConfig;
use crate::{Result, TrainError};

/// The largest first-layer input table a predictor builds (see
/// [`Classifier::input_table`]); a model whose table would be larger runs the embedding
/// product instead.
pub const MAX_INPUT_TABLE_BYTES: usize = 256 << 20;

/// A classifier ready to classify text.
pub struct Predictor<B: Backend> {
    config: ClassifierRunConfig,
    encoder: TextEncoder,
    store: ParamStore<B>,
    model: Classifier,
    /// The first layer's input projection of every vocabulary row, made on first use
    /// (`None`: over [`MAX_INPUT_TABLE_BYTES`]).
    table: OnceLock<Option<InputTable<B>>>,
    /// Keep the table as int8 rows (an int8 run).
    int8_table: bool,
}

/// One text's classification.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Probability of each class, index = class.
    pub probabilities: Vec<f64>,
    /// The most likely class (the first of equal ones).
    pub class: usize,
}

impl Prediction {
    /// From class probabilities.
    pub fn from_probabilities(probabilities: Vec<f64>) -> Prediction {
        let class =
            probabilities
                .iter()
                .enumerate()
                .fold(0, |b, (i, &p)| if p > probabilities[b] { i } else { b });
        Prediction {
            probabilities,
            class,
        }
    }

    /// The `k` most likely classes, most likely first: `(class, probability)`.
    pub fn top(&self, k: usize) -> Vec<(usize, f64)> {
        let mut order: Vec<(usize, f64)> = self.probabilities.iter().copied().enumerate().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        order.truncate(k);
        order
    }
}

impl<B: Backend> Predictor<B> {
    /// A predictor of `model` with parameters `store`, reading text with `encoder`, as
    /// `config` describes it; every part is checked against the others.
    pub fn new(
        config: ClassifierRunConfig,
        encoder: TextEncoder,
        store: ParamStore<B>,
        model: Classifier,
    ) -> Result<Self> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if encoder.vocab.len() != config.model.vocab_size {
            return bad(format!(
                "the vocabulary has {} tokens but the model's embedding {} rows",
                encoder.vocab.len(),
                config.model.vocab_size
            ));
        }
        if encoder.vocab.order() != config.text.vocab_order {
            return bad(format!(
                "the vocabulary is numbered {} but the config says {}",
                encoder.vocab.order().name(),
                config.text.vocab_order.name()
            ));
        }
        if (encoder.tokenizer, encoder.max_tokens)
            != (config.text.tokenizer, config.text.max_tokens)
        {
            return bad("the encoder's tokenizer or token limit differs from the config's".into());
        }
        if model.config != config.model || config.classes.names.len() != config.model.num_class {
            return bad("the model, its config and its classes do not agree".into());
        }
        Ok(Predictor {
            config,
            encoder,
            store,
            model,
            table: OnceLock::new(),
            int8_table: false,
        })
    }

    /// A predictor of a classifier made in memory: `model` with parameters `store`, reading
    /// text with `tokenizer` into `vocab`'s ids (every token kept), classes `names` (index =
    /// class). Its config is made from these ([`ClassifierRunConfig::new`]), so they cannot
    /// disagree; [`Predictor::save`] writes it as a run folder.
    pub fn from_model(
        model: Classifier,
        store: ParamStore<B>,
        tokenizer: Tokenizer,
        vocab: Vocab,
        names: Vec<String>,
    ) -> Result<Self> {
        if names.len() != model.config.num_class {
            return Err(TrainError::Invalid(format!(
                "{} class names for a model of {} classes",
                names.len(),
                model.config.num_class
            )));
        }
        let config = ClassifierRunConfig::new(model.config.clone(), names, tokenizer, &vocab);
        let encoder = TextEncoder::new(tokenizer, vocab, None);
        Predictor::new(config, encoder, store, model)
    }

    /// With `int8`, the input table is kept as int8 rows (an int8 run: a quarter of the
    /// memory and of the bytes each lookup moves; see [`InputTable::into_int8`]).
    pub fn with_int8_table(mut self, int8: bool) -> Self {
        self.int8_table = int8;
        self.table = OnceLock::new();
        self
    }

    /// Its config.
    pub fn config(&self) -> &ClassifierRunConfig {
        &self.config
    }

    /// How it reads text.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// Class names, index = class.
    pub fn class_names(&self) -> &[String] {
        &self.config.classes.names
    }

    /// The parameters.
    pub fn store(&self) -> &ParamStore<B> {
        &self.store
    }

    /// The model.
    pub fn model(&self) -> &Classifier {
        &self.model
    }

    /// Token ids of `text` as the run reads it (its tokenizer, vocabulary and token limit);
    /// `None` when the text has no token.
    pub fn encode(&self, text: &str) -> Option<Vec<usize>> {
        let ids = self.encoder.encode(text);
        (!ids.is_empty()).then_some(ids)
    }

    /// Encodes labelled examples as the run reads text; returns them and how many were cut
    /// to the token limit.
    pub fn encode_examples(&self, examples: &[Example]) -> (Encoded, usize) {
        self.encoder.encode_examples(examples)
    }

    /// Class probabilities `[len(texts), K]` of encoded texts (each non-empty). A text's
    /// result never depends on the others: a packed model runs them as one packed batch (no
    /// work on padding), a padded model runs texts of equal length together. Outputs that
    /// are not finite are an error.
    pub fn probabilities(&self, texts: &[Vec<usize>]) -> Result<Vec<Vec<f64>>> {
        let mut out = vec![Vec::new(); texts.len()];
        let groups: Vec<Vec<usize>> = if self.config.model.packed() {
            vec![(0..texts.len()).collect()]
        } else {
            let mut by_len: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (i, t) in texts.iter().enumerate() {
                by_len.entry(t.len()).or_default().push(i);
            }
            by_len.into_values().collect()
        };
        let k = self.config.model.num_class;
        for group in groups.into_iter().filter(|g| !g.is_empty()) {
            if let Some(&i) = group.iter().find(|&&i| texts[i].is_empty()) {
                return Err(TrainError::Invalid(format!("text {i} has no token")));
            }
            let enc = Encoded {
                labels: vec![0; group.len()],
                ids: group.iter().map(|&i| texts[i].clone()).collect(),
            };
            let batch = collate(&enc, &(0..group.len()).collect::<Vec<_>>())?;
            let tape = Tape::no_grad(self.store.backend());
            let logits = self.logits(&tape, &batch.tokens, &batch.lengths)?;
            let log_probs = tape.value(logits)?.log_softmax()?.to_f64_vec()?;
            for (row, &i) in group.iter().enumerate() {
                let p: Vec<f64> = log_probs[row * k..(row + 1) * k]
                    .iter()
                    .map(|lp| lp.exp())
                    .collect();
                if p.iter().any(|x| !x.is_finite()) {
                    return Err(TrainError::NonFinite(
                        "the model's outputs are not finite: its parameters overflow (the run \
                         is not usable)"
                            .into(),
                    ));
                }
                out[i] = p;
            }
        }
        Ok(out)
    }

    /// Logits `[B, K]` of a padded batch, as every inference path computes them (through
    /// the input table when there is one).
    fn logits(
        &self,
        tape: &Tape<B>,
        tokens: &[usize],
        lengths: &[usize],
    ) -> recur_layers::Result<Var> {
        match self.table()? {
            Some(table) => self
                .model
                .forward_tabled(tape, &self.store, table, tokens, lengths),
            None => self.model.forward(tape, &self.store, tokens, lengths, None),
        }
    }

    /// The input table, made on first use when it fits [`MAX_INPUT_TABLE_BYTES`].
    fn table(&self) -> recur_layers::Result<Option<&InputTable<B>>> {
        if let Some(t) = self.table.get() {
            return Ok(t.as_ref());
        }
        let bytes = self.model.input_table_bytes(self.store.dtype().size());
        let table = if bytes <= MAX_INPUT_TABLE_BYTES {
            let table = self.model.input_table(&self.store)?;
            Some(if self.int8_table {
                table.into_int8()?
            } else {
                table
            })
        } else {
            None
        };
        Ok(self.table.get_or_init(|| table).as_ref())
    }

    /// Class probabilities of many encoded texts (each non-empty), the numbers
    /// [`Predictor::probabilities`] gives, run for throughput: sorted by length so each
    /// batch of `batch_size` holds texts of like length (little padding, for packed and
    /// padded models alike), the batches spread over the machine's threads; results in
    /// the order given.
    pub fn probabilities_batched(
        &self,
        texts: &[Vec<usize>],
        batch_size: usize,
    ) -> Result<Vec<Vec<f64>>>
    where
        Self: Sync,
    {
        use rayon::prelude::*;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let batches: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
        let done: Vec<Vec<Vec<f64>>> = batches
            .par_iter()
            .map(|idx| {
                let batch: Vec<Vec<usize>> = idx.iter().map(|&i| texts[i].clone()).collect();
                self.probabilities(&batch)
            })
            .collect::<Result<_>>()?;
        let mut out = vec![Vec::new(); texts.len()];
        for (idx, probs) in batches.iter().zip(done) {
            for (&i, p) in idx.iter().zip(probs) {
                out[i] = p;
            }
        }
        Ok(out)
    }

    /// Refuses a model whose outputs are not finite: its logits for texts made of every
    /// vocabulary id (up to 8,192 of them, spread over the vocabulary) must be finite, so a
    /// run whose finite parameters overflow (`3e38`) is refused when it is loaded rather
    /// than answering NaN.
    pub fn check_outputs(&self) -> Result<()> {
        let v = self.config.model.vocab_size;
        let ids: Vec<usize> = (0..v).step_by((v / 8192).max(1)).collect();
        for chunk in ids.chunks(2048) {
            let texts: Vec<Vec<usize>> = chunk.iter().map(|&i| vec![i, i]).collect();
            self.probabilities(&texts).map_err(|e| match e {
                TrainError::NonFinite(_) => TrainError::NonFinite(
                    "the model's outputs are not finite: its parameters are finite but overflow \
                     the arithmetic (the run is not usable)"
                        .into(),
                ),
                other => other,
            })?;
        }
        Ok(())
    }

    /// Token ids of each of `texts` as the run reads text; a text with no token is an error
    /// naming its index.
    pub fn encode_texts<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<usize>>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                self.encode(t.as_ref()).ok_or_else(|| {
                    let start: String = t.as_ref().chars().take(40).collect();
                    TrainError::Invalid(format!(
                        "text {i} ({start:?}) has no token the model can read"
                    ))
                })
            })
            .collect()
    }

    /// Class probabilities `[len(texts), K]` of raw texts, read as the run reads text (index
    /// = class, names in [`Predictor::class_names`]); a text with no token is an error
    /// naming its index.
    pub fn probabilities_of<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f64>>> {
        self.probabilities(&self.encode_texts(texts)?)
    }

    /// Classifies `texts`: `None` for a text with no token.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Option<Prediction>>> {
        let encoded: Vec<Option<Vec<usize>>> = texts.iter().map(|t| self.encode(t)).collect();
        let present: Vec<Vec<usize>> = encoded.iter().flatten().cloned().collect();
        let mut probs = self.probabilities(&present)?.into_iter();
        Ok(encoded
            .iter()
            .map(|e| {
                e.as_ref()
                    .and_then(|_| probs.next())
                    .map(Prediction::from_probabilities)
            })
            .collect())
    }

    /// Loss and scores on encoded examples, in batches of `batch_size` as training's
    /// evaluation runs them (a padded model sees the padding of its batch, as the lesson's
    /// evaluation does; batches of 1 see none).
    pub fn evaluate(&self, data: &Encoded, batch_size: usize) -> Result<Evaluation> {
        evaluate(&AsPredicted(self), &self.store, data, batch_size)
    }
}

/// A predictor's model as it predicts (through its input table), for [`evaluate`]: so
/// `eval`, `predict` and `serve` compute the same numbers, int8 runs included.
struct AsPredicted<'a, B: Backend>(&'a Predictor<B>);

impl<B: Backend> Model<B> for AsPredicted<'_, B> {
    fn logits(
        &self,
        tape: &Tape<B>,
        _store: &ParamStore<B>,
        batch: &Batch,
        _train_rng: Option<&mut Rng>,
    ) -> recur_layers::Result<Var> {
        self.0.logits(tape, &batch.tokens, &batch.lengths)
    }

    fn num_classes(&self) -> usize {
        self.0.config.model.num_class
    }
}
