//! `recur generate`: continues a prompt by sampling from a language-model run (temperature,
//! top-k, a seed), printing each token as it is drawn.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use recur_cpu::Cpu;
use recur_data::{Tokenizer, EOS};
use recur_layers::rng;
use recur_train::{generate, Sampling};

use crate::lm::load_lm;

/// Arguments of `recur generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A language-model run folder (`recur train --task lm`).
    #[arg(long)]
    pub run: PathBuf,
    /// Text to continue (default: the start of a new document).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Words to generate (word-level runs).
    #[arg(long, conflicts_with = "chars")]
    pub words: Option<usize>,
    /// Characters to generate (character-level runs, --tokenizer char).
    #[arg(long)]
    pub chars: Option<usize>,
    /// Divides the logits: below 1 is more conservative (near 0: greedy), above 1 more varied.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// Draw from the K most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `recur generate`: prints the generated text as it is drawn.
pub fn generate_text(a: &GenerateArgs) -> Result<()> {
    let lm = load_lm(&Cpu, &a.run)?;
    let chars = lm.config.tokenizer == Tokenizer::Char;
    let n = match (a.words, a.chars, chars) {
        (Some(_), _, true) => bail!("{} is character-level: give --chars N", a.run.display()),
        (_, Some(_), false) => bail!("{} is word-level: give --words N", a.run.display()),
        (Some(n), None, false) | (None, Some(n), true) => n,
        (None, None, _) => 50,
    };
    let sampling = Sampling {
        temperature: a.temperature,
        top_k: a.top_k,
    };
    sampling.validate()?;
    let eos = lm.vocab.id(EOS).unwrap_or(0);
    let mut prompt = vec![eos];
    let mut out = std::io::stdout().lock();
    if let Some(p) = &a.prompt {
        let mut unknown = Vec::new();
        lm.config
            .tokenizer
            .tokens_into(p, &mut String::new(), |t: &str| {
                let id = lm.vocab.id_or_unk(t);
                if lm.vocab.id(t).is_none() {
                    unknown.push(t.to_string());
                }
                prompt.push(id);
            });
        if !unknown.is_empty() {
            eprintln!(
                "note: not in the vocabulary, read as <unk>: {}",
                unknown.join(" ")
            );
        }
        write!(out, "{p}")?;
    }
    let mut rng = rng(a.seed);
    let itos = lm.vocab.itos();
    let mut first = a.prompt.is_none();
    generate(&lm.model, &lm.store, &prompt, n, sampling, &mut rng, |id| {
        let t = itos[id].as_str();
        let piece = match (t, chars) {
            (EOS, _) => "\n".to_string(),
            (_, true) => t.to_string(),
            (_, false) if first => t.to_string(),
            (_, false) => format!(" {t}"),
        };
        first = t == EOS;
        out.write_all(piece.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| recur_train::TrainError::Invalid(format!("writing the text: {e}")))
    })?;
    writeln!(out)?;
    Ok(())
}
