//! [`Generator`]: a language model with its vocabulary and tokenizer — the inference path
//! of `generate` and of `eval` on a language-model run: prompts encoded as its training
//! read text, tokens drawn with temperature and top-k, perplexity of texts.

use recur_data::{lm_ids, Streams, TextEncoder, Tokenizer, Vocab, EOS};
use recur_layers::{LanguageModel, ParamStore, Rng};
use recur_tensor::Backend;

use crate::lm::generate::{generate, Sampling};
use crate::lm::task::lm_loss;
use crate::run::config::LmRunConfig;
use crate::{Result, TrainError};

/// A language model ready to generate and score text.
pub struct Generator<B: Backend> {
    config: LmRunConfig,
    encoder: TextEncoder,
    store: ParamStore<B>,
    model: LanguageModel,
}

/// A prompt as token ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// `<eos>` (a document starts), then the prompt's tokens.
    pub ids: Vec<usize>,
    /// The prompt's words that the vocabulary lacks (read as `<unk>`).
    pub unknown: Vec<String>,
}

/// Perplexity of some text.
#[derive(Clone, Debug, PartialEq)]
pub struct Perplexity {
    /// Tokens read (`<eos>` after each document included).
    pub tokens: usize,
    /// Of them, unknown to the vocabulary.
    pub unknown: usize,
    /// Mean cross-entropy per predicted token.
    pub loss: f64,
}

impl<B: Backend> Generator<B> {
    /// A generator of `model` with parameters `store`, reading text with `encoder`, as
    /// `config` describes it; the parts are checked against each other.
    pub fn new(
        config: LmRunConfig,
        encoder: TextEncoder,
        store: ParamStore<B>,
        model: LanguageModel,
    ) -> Result<Self> {
        if encoder.vocab.len() != config.model.vocab_size || model.config != config.model {
            return Err(TrainError::Invalid(format!(
                "the vocabulary ({} tokens), the model and its config ({} tokens) do not agree",
                encoder.vocab.len(),
                config.model.vocab_size
            )));
        }
        if encoder.vocab.id(EOS).is_none() {
            return Err(TrainError::Invalid(
                "a language model's vocabulary has <eos>".into(),
            ));
        }
        Ok(Generator {
            config,
            encoder,
            store,
            model,
        })
    }

    /// A generator of a language model made in memory: `model` with parameters `store`,
    /// reading text with `tokenizer` into `vocab`'s ids (which must hold `<eos>`). Its
    /// config is made from these ([`LmRunConfig::new`]); [`Generator::save`] writes it as a
    /// run folder.
    pub fn from_model(
        model: LanguageModel,
        store: ParamStore<B>,
        tokenizer: Tokenizer,
        vocab: Vocab,
    ) -> Result<Self> {
        let config = LmRunConfig::new(model.config.clone(), tokenizer, &vocab);
        Generator::new(
            config,
            TextEncoder::new(tokenizer, vocab, None),
            store,
            model,
        )
    }

    /// Refuses a model whose outputs are not finite: one window over ids spread through
    /// the vocabulary (up to 4,096) must give finite logits.
    pub fn check_outputs(&self) -> Result<()> {
        let v = self.config.model.vocab_size;
        let ids: Vec<usize> = (0..v).step_by((v / 4096).max(1)).collect();
        let tape = recur_autograd::Tape::no_grad(self.store.backend());
        let (logits, _) = self
            .model
            .forward(&tape, &self.store, &ids, 1, None, None)?;
        if tape
            .value(logits)?
            .to_f32_vec()?
            .iter()
            .any(|x| !x.is_finite())
        {
            return Err(TrainError::NonFinite(
                "the model's outputs are not finite: its parameters are finite but overflow the \
                 arithmetic (the run is not usable)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Its config.
    pub fn config(&self) -> &LmRunConfig {
        &self.config
    }

    /// How it reads text.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// The parameters.
    pub fn store(&self) -> &ParamStore<B> {
        &self.store
    }

    /// The model.
    pub fn model(&self) -> &LanguageModel {
        &self.model
    }

    /// The id of `<eos>`.
    pub fn eos(&self) -> usize {
        self.encoder.vocab.id(EOS).unwrap_or(0)
    }

    /// The token of id `id`.
    pub fn token(&self, id: usize) -> &str {
        self.encoder
            .vocab
            .itos()
            .get(id)
            .map_or("<unk>", String::as_str)
    }

    /// `text` as a prompt: `<eos>`, then its tokens as the run reads them.
    pub fn prompt(&self, text: &str) -> Prompt {
        let mut ids = vec![self.eos()];
        let mut unknown = Vec::new();
        let vocab = &self.encoder.vocab;
        self.encoder
            .tokenizer
            .tokens_into(text, &mut String::new(), |t: &str| {
                ids.push(vocab.id_or_unk(t));
                if vocab.id(t).is_none() {
                    unknown.push(t.to_string());
                }
            });
        Prompt { ids, unknown }
    }

    /// Feeds `prompt` to the model, then draws `n` tokens as `sampling` says, calling
    /// `emit` with each as it is drawn.
    pub fn generate(
        &self,
        prompt: &[usize],
        n: usize,
        sampling: Sampling,
        rng: &mut Rng,
        emit: impl FnMut(usize) -> Result<()>,
    ) -> Result<()> {
        generate(&self.model, &self.store, prompt, n, sampling, rng, emit)
    }

    /// Continues the text `prompt` by `n` tokens drawn as `sampling` says, calling `emit`
    /// with each token's text as it is drawn: words after the first with a space before
    /// them (characters of a character-level model as they are), `<eos>` as a line break.
    /// What `recur generate` prints.
    pub fn continue_text(
        &self,
        prompt: &str,
        n: usize,
        sampling: Sampling,
        rng: &mut Rng,
        mut emit: impl FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        let chars = self.encoder.tokenizer == Tokenizer::Char;
        let ids = self.prompt(prompt).ids;
        let mut first = prompt.is_empty();
        self.generate(&ids, n, sampling, rng, |id| {
            let t = self.token(id);
            let piece = match t {
                EOS => "\n".to_string(),
                _ if chars || first => t.to_string(),
                _ => format!(" {t}"),
            };
            first = t == EOS;
            emit(&piece)
        })
    }

    /// [`Generator::continue_text`] collected: the `n` tokens drawn after `prompt`, as text.
    pub fn generate_text(
        &self,
        prompt: &str,
        n: usize,
        sampling: Sampling,
        rng: &mut Rng,
    ) -> Result<String> {
        let mut out = String::new();
        self.continue_text(prompt, n, sampling, rng, |piece| {
            out.push_str(piece);
            Ok(())
        })?;
        Ok(out)
    }

    /// Perplexity of `docs` (each document followed by `<eos>`), read in windows of the
    /// run's `bptt` over 10 streams, as PyTorch's example evaluates.
    pub fn perplexity(&self, docs: &[&str]) -> Result<Perplexity> {
        let ids = lm_ids(docs, self.encoder.tokenizer, &self.encoder.vocab);
        let unk = self.encoder.vocab.unk_id();
        let unknown = ids.iter().filter(|&&i| i == unk).count();
        let data = Streams::new(&ids, 10)?;
        let loss = lm_loss(&self.model, &self.store, &data, self.config.bptt())?;
        Ok(Perplexity {
            tokens: ids.len(),
            unknown,
            loss,
        })
    }
}
