//! `recur generate`: continues a prompt by sampling from a language-model run (temperature,
//! top-k, a seed), printing each token as it is drawn; the prompt is read by the run's
//! [`recur_train::Generator`] as its training read text.

use std::io::Write as _;

use anyhow::{bail, Result};
use recur_cpu::Cpu;
use recur_data::Tokenizer;
use recur_layers::rng;
use recur_train::{RunDir, Sampling, TrainError};

use crate::args::GenerateArgs;

/// Runs `recur generate`: prints the generated text as it is drawn.
pub fn generate_text(a: &GenerateArgs) -> Result<()> {
    let lm = RunDir::new(&a.run).load_lm(&Cpu)?;
    let chars = lm.encoder().tokenizer == Tokenizer::Char;
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
    let prompt = match &a.prompt {
        Some(p) => lm.prompt(p),
        None => lm.prompt(""),
    };
    if !prompt.unknown.is_empty() {
        eprintln!(
            "note: not in the vocabulary, read as <unk>: {}",
            prompt.unknown.join(" ")
        );
    }
    let mut out = std::io::stdout().lock();
    if let Some(p) = &a.prompt {
        write!(out, "{p}")?;
    }
    let mut rng = rng(a.seed);
    let text = a.prompt.as_deref().unwrap_or("");
    lm.continue_text(text, n, sampling, &mut rng, |piece| {
        out.write_all(piece.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| TrainError::Invalid(format!("writing the text: {e}")))
    })?;
    writeln!(out)?;
    Ok(())
}
