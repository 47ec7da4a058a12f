//! Classify strings with a run folder that `recur train` wrote: the folder brings its model,
//! vocabulary, tokenizer and class names.
//! `cargo run --release --example predict_run -- RUN "some text" "another text"`
use recur::prelude::*;
use recur::train::RunDir;

/// The most likely class of each text and its probability (`None`: the text has no token
/// the run knows how to read).
pub fn classify(run: &std::path::Path, texts: &[String]) -> Result<Vec<Option<(String, f64)>>> {
    let run = RunDir::new(run).load_on(&Cpu)?;
    let classes = run.config.class_names();
    let mut out = Vec::new();
    for text in texts {
        let Some(ids) = run.encode(text) else {
            out.push(None);
            continue;
        };
        let p = &run.probabilities(&[ids])?[0];
        let best = (0..p.len()).fold(0, |b, k| if p[k] > p[b] { k } else { b });
        out.push(Some((classes[best].clone(), p[best])));
    }
    Ok(out)
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
