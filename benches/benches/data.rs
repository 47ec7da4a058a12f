//! Reading + tokenizing + building the vocabulary of test.csv and train_sample.csv together
//! (skipped with a message when the files are absent).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use recur_benches::ag_news_file;
use recur_data::{read_csv, ReadOptions, Vocab, VocabOrder};

fn data(c: &mut Criterion) {
    let (Some(test), Some(train)) = (ag_news_file("test.csv"), ag_news_file("train_sample.csv"))
    else {
        eprintln!(
            "data bench skipped: AG News test.csv / train_sample.csv not found (set \
            RECUR_DATA_DIR)"
        );
        return;
    };
    c.bench_function("read+tokenize+vocab test.csv+train_sample.csv", |b| {
        b.iter(|| {
            // the two files are read concurrently, as `recur train` reads train and test
            let (a, b) = rayon::join(
                || read_csv(&test, ReadOptions::default()),
                || read_csv(&train, ReadOptions::default()),
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            let texts: Vec<&str> = a
                .examples
                .iter()
                .chain(&b.examples)
                .map(|e| e.text.as_str())
                .collect();
            Vocab::from_texts(&texts, VocabOrder::FirstSeen, 1)
        })
    });
}

criterion_group!(benches, data);
criterion_main!(benches);
