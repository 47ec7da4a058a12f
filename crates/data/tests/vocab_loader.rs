//! Vocabulary files, collation and the seeded loader.

use std::sync::Arc;

use recur_data::{collate, Encoded, Loader, LoaderConfig, Prefetch, Vocab, VocabOrder};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("recur-vocab-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn vocab_round_trips_and_refuses_bad_files() {
    let v = Vocab::build([["b", "a", "b", "c"]], VocabOrder::Frequency, 1);
    assert_eq!(v.itos(), ["<unk>", "<pad>", "b", "a", "c"]);
    let p = tmp("v.txt");
    v.save(&p).unwrap();
    assert_eq!(Vocab::load(&p).unwrap(), v);
    std::fs::write(&p, "a\n\nb\n").unwrap();
    assert!(Vocab::load(&p)
        .unwrap_err()
        .to_string()
        .contains("line 2 is empty"));
    std::fs::write(&p, "a\nb\na\n").unwrap();
    let e = Vocab::load(&p).unwrap_err().to_string();
    assert!(e.contains("duplicates line 1"), "{e}");
}

#[test]
fn collate_pads_with_zero() {
    let data = Encoded {
        labels: vec![0, 3],
        ids: vec![vec![5, 6, 7], vec![9]],
    };
    let b = collate(&data, &[1, 0]).unwrap();
    assert_eq!(b.tokens, vec![9, 0, 0, 5, 6, 7]);
    assert_eq!(b.lengths, vec![1, 3]);
    assert_eq!(b.labels, vec![3, 0]);
    assert!(collate(&data, &[2]).is_err());
}

#[test]
fn loader_is_seeded_and_complete() {
    let a: Vec<Vec<usize>> = Loader::new(
        10,
        LoaderConfig {
            batch_size: 3,
            shuffle: true,
            drop_last: false,
            seed: 7,
        },
        0,
    )
    .unwrap()
    .batches()
    .map(<[usize]>::to_vec)
    .collect();
    let b: Vec<Vec<usize>> = Loader::new(
        10,
        LoaderConfig {
            batch_size: 3,
            shuffle: true,
            drop_last: false,
            seed: 7,
        },
        0,
    )
    .unwrap()
    .batches()
    .map(<[usize]>::to_vec)
    .collect();
    let c: Vec<Vec<usize>> = Loader::new(
        10,
        LoaderConfig {
            batch_size: 3,
            shuffle: true,
            drop_last: false,
            seed: 7,
        },
        1,
    )
    .unwrap()
    .batches()
    .map(<[usize]>::to_vec)
    .collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut all: Vec<usize> = a.concat();
    all.sort();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert_eq!(a.last().unwrap().len(), 1);
    assert_eq!(
        Loader::new(
            10,
            LoaderConfig {
                batch_size: 3,
                shuffle: false,
                drop_last: true,
                seed: 0
            },
            0
        )
        .unwrap()
        .len(),
        3
    );
    assert!(Loader::new(
        10,
        LoaderConfig {
            batch_size: 0,
            shuffle: false,
            drop_last: false,
            seed: 0
        },
        0
    )
    .is_err());
}

#[test]
fn prefetch_matches_direct_collation() {
    let data = Arc::new(Encoded {
        labels: (0..20).map(|i| i % 4).collect(),
        ids: (0..20).map(|i| vec![i; 1 + i % 5]).collect(),
    });
    let loader = Loader::new(
        20,
        LoaderConfig {
            batch_size: 4,
            shuffle: true,
            drop_last: false,
            seed: 3,
        },
        0,
    )
    .unwrap();
    let direct: Vec<_> = loader
        .batches()
        .map(|idx| collate(&data, idx).unwrap())
        .collect();
    let pre: Vec<_> = Prefetch::start(data.clone(), loader, 2)
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(direct, pre);
    // a collation error comes out of the iterator instead of ending the epoch early
    let too_many = Loader::new(
        30,
        LoaderConfig {
            batch_size: 8,
            shuffle: false,
            drop_last: false,
            seed: 0,
        },
        0,
    )
    .unwrap();
    let items: Vec<_> = Prefetch::start(data.clone(), too_many, 2).collect();
    assert_eq!(items.len(), 3, "two good batches, then the error");
    let e = items[2].as_ref().unwrap_err().to_string();
    assert!(e.contains("out of range"), "{e}");
    // dropping early must not hang
    let mut p = Prefetch::start(
        data,
        Loader::new(
            20,
            LoaderConfig {
                batch_size: 1,
                shuffle: false,
                drop_last: false,
                seed: 0,
            },
            0,
        )
        .unwrap(),
        1,
    );
    p.next();
    drop(p);
}

#[test]
fn parallel_vocab_equals_sequential_counting() {
    let texts: Vec<String> = (0..5000)
        .map(|i| format!("w{} the w{}, (x{}) w{}!", i % 97, (i * 7) % 1013, i % 5, i))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for order in [VocabOrder::FirstSeen, VocabOrder::Frequency] {
        for min_freq in [1, 2] {
            let tokens: Vec<Vec<String>> =
                texts.iter().map(|t| recur_data::basic_english(t)).collect();
            let sequential = Vocab::build(
                tokens.iter().map(|t| t.iter().map(String::as_str)),
                order,
                min_freq,
            );
            assert_eq!(
                Vocab::from_texts(&refs, order, min_freq),
                sequential,
                "{order:?} min_freq {min_freq}"
            );
        }
    }
}

#[test]
fn evaluation_batches_group_texts_of_like_length() {
    let lengths = [5, 1, 3, 1, 5, 2, 3];
    let data = Encoded {
        labels: vec![0; lengths.len()],
        ids: lengths.iter().map(|&n| vec![1; n]).collect(),
    };
    let loader = Loader::by_length(&data, vec![6, 0, 1, 2, 3, 4, 5], 3).unwrap();
    let batches: Vec<Vec<usize>> = loader.batches().map(<[usize]>::to_vec).collect();
    // shortest first, ties in the given order, every row once
    assert_eq!(batches, [vec![1, 3, 5], vec![6, 2, 0], vec![4]]);
    // an index outside the data is kept, and refused when its batch is collated
    let loader = Loader::by_length(&data, vec![0, 9], 2).unwrap();
    let idx: Vec<&[usize]> = loader.batches().collect();
    assert_eq!(idx, [&[9, 0][..]]);
    assert!(collate(&data, idx[0]).is_err());
    assert!(Loader::by_length(&data, vec![0], 0).is_err());
}
