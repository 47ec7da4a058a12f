//! Classify strings with a run folder that `recur train` wrote: the folder brings its model,
//! vocabulary, tokenizer and class names.
//! `cargo run --release --example predict_run -- RUN "some text" "another text"`
use recur::prelude::*;

/// The most likely class of each text and its probability (`None`: the text has no token
/// the run knows how to read).
pub fn classify(run: &std::path::Path, texts: &[String]) -> Result<Vec<Option<(String, f64)>>> {
    let run = RunDir::new(run).load_classifier(&Cpu)?;
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    Ok(run
        .predict(&texts)?
        .into_iter()
        .map(|p| p.map(|p| (run.class_names()[p.class].clone(), p.probabilities[p.class])))
        .collect())
}

/// `predict_run RUN TEXT...`
pub fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((run, texts)) = args.split_first() else {
        eprintln!("usage: predict_run RUN TEXT...   (RUN: a folder written by `recur train`)");
        std::process::exit(2);
    };
    for (text, best) in texts.iter().zip(classify(run.as_ref(), texts)?) {
        match best {
            Some((class, p)) => println!("{class:<12} {p:.3}  {text}"),
            None => println!("{:<12} -      {text}", "(no token)"),
        }
    }
    Ok(())
}
