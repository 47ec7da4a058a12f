//! `recur eval`: a classifier run's loss, accuracy, macro-F1, per-class precision / recall /
//! F1 and confusion matrix on a labelled file, or a language-model run's perplexity on a
//! text file — read as the run remembers, encoded as its training did (the run's
//! [`recur_train::Predictor`] or [`recur_train::Generator`]).

use anyhow::{bail, Result};
use recur_data::{locate, read_documents};
use recur_tensor::Backend;
use recur_train::{read_examples, Evaluation, Generator, Loaded, Predictor, RunDir};
use serde_json::json;

use crate::args::EvalArgs;
use crate::report::print_notice;

/// Runs `recur eval`.
pub fn eval(a: &EvalArgs) -> Result<()> {
    match a.device.as_str() {
        "cuda" => eval_on(&recur_cuda::Cuda::new(0)?, a),
        _ => eval_on(&recur_cpu::Cpu, a),
    }
}

fn eval_on<B: Backend>(backend: &B, a: &EvalArgs) -> Result<()> {
    let run = RunDir::new(&a.run).load(backend)?;
    let tokenizer = match &run {
        Loaded::Classifier(p) => p.encoder().tokenizer,
        Loaded::Lm(g) => g.encoder().tokenizer,
    };
    if let Some(t) = a.data_args.tokenizer.filter(|&t| t != tokenizer) {
        bail!(
            "the run was trained with the {tokenizer} tokenizer; --tokenizer {t} would feed it \
            different tokens"
        );
    }
    match run {
        Loaded::Classifier(p) => eval_classifier(&p, a),
        Loaded::Lm(g) => eval_lm(&g, a),
    }
}

fn eval_lm<B: Backend>(g: &Generator<B>, a: &EvalArgs) -> Result<()> {
    let Some(test) = &a.test else {
        bail!("a language-model run is evaluated on --test FILE");
    };
    if a.data.is_some() {
        bail!("--data names AG News's folder for a classifier; a language model takes --test FILE");
    }
    let spec = a.data_args.spec_over(&g.config().data);
    let docs = read_documents(
        test,
        &spec,
        g.encoder().tokenizer,
        a.data_args.skip_bad_rows,
    )?;
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let p = g.perplexity(&refs)?;
    if a.json {
        println!(
            "{}",
            json!({"file": test.display().to_string(), "tokens": p.tokens,
                "unknown": p.unknown, "loss": p.loss, "perplexity": p.loss.exp()})
        );
    } else {
        println!(
            "{}: {} tokens ({} unknown), loss {:.4}, perplexity {:.2}",
            test.display(),
            p.tokens,
            p.unknown,
            p.loss,
            p.loss.exp()
        );
    }
    Ok(())
}

fn eval_classifier<B: Backend>(p: &Predictor<B>, a: &EvalArgs) -> Result<()> {
    let test = match &a.test {
        Some(t) => t.clone(),
        None => locate(a.data.as_deref(), None, None)?.test,
    };
    let spec = a.data_args.spec_over(&p.config().data);
    let classes = p.config().classes.classes()?;
    let data = read_examples(
        &test,
        &spec,
        p.encoder().tokenizer,
        &classes,
        a.data_args.skip_bad_rows,
        &mut |n| print_notice(&n),
    )?;
    let (enc, _) = p.encode_examples(&data.examples);
    let Evaluation { scores, loss } = p.evaluate(&enc, a.batch_size)?;
    let names = p.class_names();
    if a.json {
        let per: Vec<_> = scores
            .per_class()
            .iter()
            .zip(names)
            .map(|((p, r, f, s), n)| {
                json!({"class": n, "precision": p, "recall": r, "f1": f, "support": s})
            })
            .collect();
        println!(
            "{}",
            json!({"file": test.display().to_string(), "examples": data.len(),
                "loss": loss, "accuracy": scores.accuracy(), "macro_f1": scores.macro_f1(),
                "per_class": per, "confusion": scores.confusion})
        );
        return Ok(());
    }
    println!(
        "{}: {} examples, accuracy {:.4}, macro-F1 {:.4}, loss {:.4}",
        test.display(),
        data.len(),
        scores.accuracy(),
        scores.macro_f1(),
        loss
    );
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    println!(
        "{:<w$} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "f1", "support"
    );
    for ((p, r, f, s), n) in scores.per_class().iter().zip(names) {
        println!("{n:<w$} {p:>9.4} {r:>9.4} {f:>9.4} {s:>8}");
    }
    println!("confusion (rows: true class, columns: predicted)");
    print!("{:<w$}", "");
    for n in names {
        print!(" {:>9}", n.chars().take(9).collect::<String>());
    }
    println!();
    for (row, n) in scores.confusion.iter().zip(names) {
        print!("{n:<w$}");
        for v in row {
            print!(" {v:>9}");
        }
        println!();
    }
    Ok(())
}
