//! Sampling text from a [`LanguageModel`] token by token: the prompt runs through the model
//! once, then each drawn token is fed back with the carried state (the prefix is never
//! recomputed). Logits are divided by the temperature and, with `top_k`, all but the `k`
//! most likely tokens are dropped before the softmax; the draw uses the caller's seeded
//! generator, so a seed gives the same text.

use rand::Rng as _;
use recur_autograd::Tape;
use recur_layers::{LanguageModel, ParamStore, Rng};
use recur_tensor::Backend;

use crate::{Result, TrainError};

/// How the next token is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Logits are divided by this (> 0): below 1 sharpens towards the most likely token
    /// (near 0 is greedy), above 1 flattens.
    pub temperature: f64,
    /// Keep only the `k` most likely tokens (`None`: all).
    pub top_k: Option<usize>,
}

impl Sampling {
    /// Refuses a temperature that is not positive and finite, and `top_k = 0`.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(TrainError::setting(
                "temperature",
                format!(
                    "must be positive and finite, found {} (near 0 is greedy)",
                    self.temperature
                ),
            ));
        }
        if self.top_k == Some(0) {
            return Err(TrainError::setting("top_k", "must be at least 1"));
        }
        Ok(())
    }

    /// The probabilities to draw from: softmax of `logits / temperature` over the `top_k`
    /// largest (ties kept in id order), zero elsewhere.
    pub fn probabilities(&self, logits: &[f64]) -> Vec<f64> {
        let mut keep: Vec<usize> = (0..logits.len()).collect();
        if let Some(k) = self.top_k.filter(|&k| k < logits.len()) {
            keep.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
            keep.truncate(k);
        }
        let max = keep
            .iter()
            .map(|&i| logits[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let mut p = vec![0.0; logits.len()];
        let mut sum = 0.0;
        for &i in &keep {
            p[i] = ((logits[i] - max) / self.temperature).exp();
            sum += p[i];
        }
        p.iter_mut().for_each(|x| *x /= sum);
        p
    }
}

/// Prompt tokens fed to the model at a time.
const PROMPT_WINDOW: usize = 256;

/// Draws an index from `probabilities` (summing to 1).
fn draw(probabilities: &[f64], rng: &mut Rng) -> usize {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &p) in probabilities.iter().enumerate() {
        if p > 0.0 {
            acc += p;
            last = i;
            if u < acc {
                return i;
            }
        }
    }
    last
}

/// Feeds `prompt` (token ids, at least one: e.g. `<eos>` to start a new document) to
/// `model`, then draws `n` tokens, calling `emit` with each as soon as it is drawn.
pub fn generate<B: Backend>(
    model: &LanguageModel,
    store: &ParamStore<B>,
    prompt: &[usize],
    n: usize,
    sampling: Sampling,
    rng: &mut Rng,
    mut emit: impl FnMut(usize) -> Result<()>,
) -> Result<()> {
    sampling.validate()?;
    let v = model.config.vocab_size;
    if prompt.is_empty() {
        return Err(TrainError::Invalid(
            "generating needs a prompt of at least one token".into(),
        ));
    }
    // all but the prompt's last token only move the state: fed in windows of PROMPT_WINDOW
    // tokens, so a long prompt costs a window's memory, not the prompt's
    let (head, last) = prompt.split_at(prompt.len() - 1);
    let mut state = None;
    for window in head.chunks(PROMPT_WINDOW) {
        let tape = Tape::no_grad(store.backend());
        let (_, next) = model.forward(&tape, store, window, 1, state.as_ref(), None)?;
        state = Some(next);
    }
    let mut input = last.to_vec();
    for _ in 0..n {
        let tape = Tape::no_grad(store.backend());
        let (logits, next) = model.forward(&tape, store, &input, 1, state.as_ref(), None)?;
        let all = tape.value(logits)?.to_f64_vec()?;
        let last = &all[all.len() - v..];
        if last.iter().any(|x| !x.is_finite()) {
            return Err(TrainError::NonFinite(
                "the model's logits are not finite: its parameters are not usable".into(),
            ));
        }
        let token = draw(&sampling.probabilities(last), rng);
        emit(token)?;
        input = vec![token];
        state = Some(next);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_and_top_k_shape_the_distribution() {
        let logits = [1.0, 3.0, 2.0, 0.0];
        let p = Sampling {
            temperature: 1.0,
            top_k: None,
        }
        .probabilities(&logits);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[1] > p[2] && p[2] > p[0] && p[0] > p[3]);
        // top-k keeps the k largest only
        let p2 = Sampling {
            temperature: 1.0,
            top_k: Some(2),
        }
        .probabilities(&logits);
        assert_eq!((p2[0], p2[3]), (0.0, 0.0));
        assert!((p2[1] + p2[2] - 1.0).abs() < 1e-12);
        // a low temperature approaches greedy, a high one uniform
        let cold = Sampling {
            temperature: 0.01,
            top_k: None,
        }
        .probabilities(&logits);
        assert!(cold[1] > 0.999_999);
        let hot = Sampling {
            temperature: 1e6,
            top_k: None,
        }
        .probabilities(&logits);
        assert!(hot.iter().all(|&x| (x - 0.25).abs() < 1e-5));
        assert!(Sampling {
            temperature: 0.0,
            top_k: None
        }
        .validate()
        .is_err());
        assert!(Sampling {
            temperature: f64::NAN,
            top_k: None
        }
        .validate()
        .is_err());
        assert!(Sampling {
            temperature: 1.0,
            top_k: Some(0)
        }
        .validate()
        .is_err());
    }
}
