//! Pretrained vectors on small files the tests write: GloVe text, word2vec text and binary,
//! fastText `.vec`, gzip; exact then lower-cased matching; OOV initialisation; the
//! dimension check; malformed lines named by number.

use std::io::Write;
use std::path::PathBuf;

use recur_data::{load_vectors, OovInit, Vocab, VocabOrder};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn vocab() -> Vocab {
    // <pad>, <unk>, then the words
    Vocab::from_counts(
        ["the", "goal", "bank", "zebra"]
            .iter()
            .map(|w| (w.to_string(), 1))
            .collect(),
        VocabOrder::PadUnk,
        1,
    )
}

const GLOVE: &str = "the 0.1 0.2 0.3\nGoal 1 2 3\ngoal 4 5 6\nBANK -1 -2 -3\nother 7 8 9\n";

fn row(t: &[f32], id: usize) -> &[f32] {
    &t[id * 3..id * 3 + 3]
}

#[test]
fn every_text_format_and_gzip() {
    let v = vocab();
    let id = |w: &str| v.id(w).unwrap();
    let (the, goal, bank, zebra) = (id("the"), id("goal"), id("bank"), id("zebra"));
    let word2vec = format!("5 3\n{GLOVE}");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("glove.txt", GLOVE.as_bytes().to_vec()),
        ("w2v.txt", word2vec.as_bytes().to_vec()),
        ("ft.vec", word2vec.replace('\n', " \n").into_bytes()),
        ("glove.txt.gz", {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(GLOVE.as_bytes()).unwrap();
            e.finish().unwrap()
        }),
    ];
    for (name, bytes) in files {
        let p = tmp(name);
        std::fs::write(&p, bytes).unwrap();
        let t = load_vectors(&p, &v, 3, OovInit::Zeros, Some(0), 1).unwrap();
        assert_eq!((t.exact, t.lowercase, t.file_words), (2, 1, 5), "{name}");
        assert_eq!(row(&t.table, the), [0.1, 0.2, 0.3], "{name}");
        // the exact "goal" wins over "Goal", which came first
        assert_eq!(row(&t.table, goal), [4.0, 5.0, 6.0], "{name}");
        assert_eq!(row(&t.table, bank), [-1.0, -2.0, -3.0], "{name}");
        assert_eq!(row(&t.table, zebra), [0.0; 3], "{name}");
        assert_eq!(row(&t.table, 0), [0.0; 3], "{name}: padding");
    }
}

#[test]
fn word2vec_binary() {
    let mut bytes = b"3 3\n".to_vec();
    for (w, vals) in [
        ("the", [1f32, 2., 3.]),
        ("Bank", [4., 5., 6.]),
        ("x", [7., 8., 9.]),
    ] {
        bytes.extend_from_slice(w.as_bytes());
        bytes.push(b' ');
        for v in vals {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.push(b'\n');
    }
    let p = tmp("vectors.bin");
    std::fs::write(&p, &bytes).unwrap();
    let t = load_vectors(&p, &vocab(), 3, OovInit::Zeros, None, 1).unwrap();
    assert_eq!((t.exact, t.lowercase), (1, 1));
    assert_eq!(row(&t.table, vocab().id("bank").unwrap()), [4.0, 5.0, 6.0]);
    std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
    let e = load_vectors(&p, &vocab(), 3, OovInit::Zeros, None, 1).unwrap_err();
    assert!(e.to_string().contains("cut off"), "{e}");
}

#[test]
fn random_oov_follows_the_vectors_statistics() {
    // many vectors with mean 2 and a spread; the one vocabulary word without a vector
    // gets a seeded normal draw of that mean and spread
    let mut text = String::new();
    for i in 0..2000 {
        let x = 2.0 + ((i as f64) * 0.37).sin();
        text.push_str(&format!("w{i} {x} {} {}\n", 4.0 - x, 2.0 + (x - 2.0) * 0.5));
    }
    let p = tmp("stats.txt");
    std::fs::write(&p, text).unwrap();
    let v = Vocab::from_counts(
        (0..300).map(|i| (format!("u{i}"), 1)).collect(),
        VocabOrder::FirstSeen,
        1,
    );
    let a = load_vectors(&p, &v, 3, OovInit::Random, None, 7).unwrap();
    let b = load_vectors(&p, &v, 3, OovInit::Random, None, 7).unwrap();
    assert_eq!(a.table, b.table, "seeded");
    assert_eq!(a.found(), 0);
    let n = a.table.len() as f64;
    let mean = a.table.iter().map(|&x| x as f64).sum::<f64>() / n;
    let std = (a
        .table
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    assert!(
        (a.mean - 2.0).abs() < 0.05 && (mean - a.mean).abs() < 0.1,
        "{} {mean}",
        a.mean
    );
    assert!((std - a.std).abs() < 0.1 * a.std, "{std} vs {}", a.std);
}

#[test]
fn dimension_mismatch_and_malformed_lines() {
    let v = vocab();
    let p = tmp("dim.txt");
    std::fs::write(&p, GLOVE).unwrap();
    let e = load_vectors(&p, &v, 50, OovInit::Zeros, None, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("3 dimensions but the embedding is 50 wide"),
        "{e}"
    );
    let cases: [(&str, &[u8], u64, &str); 4] = [
        (
            "short.txt",
            b"a 1 2 3\nb 1 2\nc 1 2 3\n",
            2,
            "expected a word and 3 numbers",
        ),
        ("nan.txt", b"a 1 2 3\nb 1 x 3\n", 2, "\"x\" is not a number"),
        (
            "long.txt",
            b"5 3\na 1 2 3\nb 1 2 3 4\n",
            3,
            "more than 3 numbers",
        ),
        ("utf8.txt", b"a 1 2 3\n\xff 1 2 3\n", 2, "UTF-8"),
    ];
    for (name, text, line, needle) in cases {
        let p = tmp(name);
        std::fs::write(&p, text).unwrap();
        let e = load_vectors(&p, &v, 3, OovInit::Zeros, None, 1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("{name}:{line}:")) && e.contains(needle),
            "{name}: {e}"
        );
    }
    // a word holding a space (GloVe 840B has some): the vector is the last 3 fields
    let p = tmp("space.txt");
    std::fs::write(&p, "the 1 2 3\nat the 4 5 6\n").unwrap();
    let t = load_vectors(&p, &v, 3, OovInit::Zeros, None, 1).unwrap();
    assert_eq!(t.file_words, 2);
}
