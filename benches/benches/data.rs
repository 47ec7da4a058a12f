//! Reading + tokenizing + building the vocabulary of test.csv and train_sample.csv together
//! (skipped with a message when the files are absent).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use recur_benches::ag_news_file;
use recur_data::{read_csv, ReadOptions, Vocab, VocabOrder};

fn data(c: &mut Criterion) {
    let (Some(test), Some(train)) = (ag_news_file("test.csv"), ag_news_file("train_sample.csv"))
    else {
        eprintln!("data bench skipped: AG News test.csv / train_sample.csv not found (set RECUR_DATA_DIR)");
        return;
    };
    c.bench_function("read+tokenize+vocab test.csv+train_sample.csv", |b| {
        b.iter(|| {
            let mut texts = Vec::new();
            for p in [&test, &train] {
                texts.extend(
                    read_csv(p, ReadOptions::default())
                        .unwrap()
                        .examples
                        .into_iter()
                        .map(|e| e.text),
                );
            }
            Vocab::from_texts(texts.iter().map(String::as_str), VocabOrder::FirstSeen, 1)
        })
    });
}

criterion_group!(benches, data);
criterion_main!(benches);
