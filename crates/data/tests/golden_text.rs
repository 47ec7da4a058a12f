//! torchtext parity of the tokenizer, vocabularies, encoding and padding, against
//! `tests/golden/text`, made by the `text` section of `tests/golden/make.py` (`cargo xtask
//! goldens`): torchtext's `basic_english`, `Counter`, `vocab()`, the legacy `Vocab()`,
//! `ngrams_iterator` and the lesson's `padify` / `pad_length`, restated in plain Python.

use std::path::PathBuf;

use recur_data::{
    basic_english, collate, ngrams, read_csv, Encoded, Example, ReadOptions, TextEncoder,
    Tokenizer, Vocab, VocabOrder,
};
use recur_testkit::golden_dir;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = golden_dir().join("text").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn tokens_of(texts: &[String], n: usize) -> Vec<Vec<String>> {
    texts.iter().map(|t| ngrams(&basic_english(t), n)).collect()
}

fn build(tokens: &[Vec<String>], order: VocabOrder, min_freq: usize) -> Vocab {
    Vocab::build(
        tokens.iter().map(|t| t.iter().map(String::as_str)),
        order,
        min_freq,
    )
}

#[test]
fn golden_tokenizer() {
    let json = load("tokenizer.json");
    let cases = json["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let want = strings(&c["tokens"]);
        let got = basic_english(text);
        if got != want {
            failures.push(format!("{text:?}: got {got:?}, expected {want:?}"));
        }
    }
    println!("golden tokenizer: {} cases checked", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_vocab() {
    let json = load("vocab.json");
    let corpus = strings(&json["corpus"]);
    let tokens = tokens_of(&corpus, 1);
    let mut checked = 0;
    for (key, order) in [
        ("vocab", VocabOrder::FirstSeen),
        ("legacy_vocab", VocabOrder::Frequency),
    ] {
        for min_freq in [1, 2] {
            let want = &json[key][format!("min_freq_{min_freq}")];
            let vocab = build(&tokens, order, min_freq);
            assert_eq!(
                vocab.itos(),
                strings(&want["itos"]).as_slice(),
                "{key} min_freq {min_freq}"
            );
            for enc in want["encodings"].as_array().unwrap() {
                let text = enc["text"].as_str().unwrap();
                let got = vocab.encode(basic_english(text).iter().map(String::as_str));
                assert_eq!(
                    got,
                    usizes(&enc["ids"]),
                    "{key} min_freq {min_freq}: {text:?}"
                );
                checked += 1;
            }
        }
    }
    let ng = &json["ngrams2"];
    let ng_tokens = tokens_of(&strings(&ng["corpus"]), 2);
    let counter: Vec<String> = ng["counter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    let vocab = build(&ng_tokens, VocabOrder::FirstSeen, 1);
    assert_eq!(vocab.itos(), counter.as_slice(), "ngrams2 counter order");
    assert_eq!(vocab.itos(), strings(&ng["itos_min_freq_1"]).as_slice());

    let pe = &json["padify_example"];
    let vocab = build(&tokens, VocabOrder::FirstSeen, 1);
    let examples: Vec<Example> = pe["batch"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, row)| Example {
            label: row[0].as_u64().unwrap() as usize - 1,
            text: row[1].as_str().unwrap().into(),
            line: i as u64 + 1,
        })
        .collect();
    let enc = TextEncoder::new(Tokenizer::BasicEnglish, vocab.clone(), None)
        .encode_examples(&examples)
        .0;
    let batch = collate(&enc, &(0..examples.len()).collect::<Vec<_>>()).unwrap();
    assert_eq!(batch.labels, usizes(&pe["labels"]));
    assert_eq!(batch.lengths, usizes(&pe["lengths"]));
    let features: Vec<usize> = pe["features"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(usizes)
        .collect();
    assert_eq!(batch.tokens, features);
    println!("golden vocab: {checked} encodings + ngrams2 + padify checked");
}

/// The real AG News test.csv: `$RECUR_DATA_DIR`, else the shared folder beside the checkout.
fn test_csv() -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/ag_news")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|d| d.join("test.csv"))
        .find(|p| p.is_file())
}

#[test]
fn golden_agnews_rows() {
    let Some(path) = test_csv() else {
        recur_testkit::skip_without_data("golden_agnews_rows");
        return;
    };
    let data = read_csv(&path, ReadOptions::default()).unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(golden_dir().join("text")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("agnews_test_rows_") {
            continue;
        }
        files += 1;
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let range = usizes(&json["source"]["rows"]);
        let rows = &data.examples[range[0]..range[1]];
        let tokens: Vec<Vec<String>> = rows.iter().map(|e| basic_english(&e.text)).collect();
        let lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
        assert_eq!(
            lens,
            usizes(&json["token_lengths"]),
            "{name}: token lengths"
        );
        let v1 = build(&tokens, VocabOrder::FirstSeen, 1);
        let v2 = build(&tokens, VocabOrder::FirstSeen, 2);
        assert_eq!(
            v1.itos(),
            strings(&json["vocab_min_freq_1"]["itos"]).as_slice(),
            "{name}: vocab min_freq 1"
        );
        assert_eq!(
            v2.itos(),
            strings(&json["vocab_min_freq_2"]["itos"]).as_slice(),
            "{name}: vocab min_freq 2"
        );
        for key in ["first_rows", "outside_rows"] {
            for row in json[key].as_array().unwrap() {
                let text = row["text"].as_str().unwrap();
                let toks = basic_english(text);
                assert_eq!(toks, strings(&row["tokens"]), "{name}: tokens of {text:?}");
                assert_eq!(
                    v1.encode(toks.iter().map(String::as_str)),
                    usizes(&row["ids_min_freq_1"])
                );
                assert_eq!(
                    v2.encode(toks.iter().map(String::as_str)),
                    usizes(&row["ids_min_freq_2"])
                );
            }
        }
        let p16 = &json["padify_first_16"];
        let enc: Encoded = TextEncoder::new(Tokenizer::BasicEnglish, v1.clone(), None)
            .encode_examples(&rows[..16])
            .0;
        let batch = collate(&enc, &(0..16).collect::<Vec<_>>()).unwrap();
        assert_eq!(batch.labels, usizes(&p16["labels"]));
        assert_eq!(batch.lengths, usizes(&p16["lengths"]));
        let features = usizes(&p16["features"]["data"]);
        assert_eq!(batch.tokens, features);
    }
    println!("golden agnews rows: {files} files checked");
    assert!(files > 0, "no agnews_test_rows_*.json golden");
}
