//! The stratified validation split and the `pad-unk` vocabulary with `--max-vocab`.

use recur_data::{
    split_stratified, Example, StratifiedFolds, TextEncoder, Tokenizer, Vocab, VocabOptions,
    VocabOrder,
};

fn examples(per_class: &[usize]) -> Vec<Example> {
    let mut out = Vec::new();
    let mut line = 0u64;
    for round in 0..*per_class.iter().max().unwrap() {
        for (c, &n) in per_class.iter().enumerate() {
            if round < n {
                line += 1;
                out.push(Example {
                    label: c,
                    text: format!("text {line}"),
                    line,
                });
            }
        }
    }
    out
}

#[test]
fn split_is_stratified_seeded_and_in_file_order() {
    let data = examples(&[50, 30, 20]);
    let (train, valid) = split_stratified(data.clone(), 3, 0.2, 7).unwrap();
    let count = |v: &[Example], c| v.iter().filter(|e| e.label == c).count();
    assert_eq!(
        [count(&valid, 0), count(&valid, 1), count(&valid, 2)],
        [10, 6, 4]
    );
    assert_eq!(train.len() + valid.len(), 100);
    assert!(valid.windows(2).all(|w| w[0].line < w[1].line));
    assert!(train.windows(2).all(|w| w[0].line < w[1].line));
    let again = split_stratified(data.clone(), 3, 0.2, 7).unwrap();
    assert_eq!(again.1, valid);
    let other = split_stratified(data.clone(), 3, 0.2, 8).unwrap();
    assert_ne!(other.1, valid);
    // every class keeps a training example; a fraction that selects nothing is an error
    let (train, _) = split_stratified(examples(&[1, 2]), 2, 0.9, 0).unwrap();
    assert_eq!(train.iter().filter(|e| e.label == 0).count(), 1);
    let e = split_stratified(examples(&[3, 3]), 2, 0.01, 0).unwrap_err();
    assert!(
        e.to_string().contains("leaves no validation example"),
        "{e}"
    );
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(split_stratified(data.clone(), 3, bad, 0).is_err(), "{bad}");
    }
}

#[test]
fn pad_unk_vocabulary_reserves_padding_and_unknown() {
    let texts = ["b a b c", "c b d"];
    let v = Vocab::from_texts_with(
        &texts,
        VocabOptions {
            order: VocabOrder::PadUnk,
            ..VocabOptions::default()
        },
    );
    assert_eq!(v.itos(), ["<pad>", "<unk>", "b", "c", "a", "d"]);
    assert_eq!(v.unk_id(), 1);
    assert_eq!(v.encode(["b", "zzz"]), [2, 1]);
    assert_eq!(VocabOrder::PadUnk.padding_idx(), Some(0));
    let ex = [Example {
        label: 0,
        text: "a never".into(),
        line: 1,
    }];
    assert_eq!(
        TextEncoder::new(Tokenizer::BasicEnglish, v.clone(), None)
            .encode_examples(&ex)
            .0
            .ids,
        [vec![4, 1]]
    );
    // saved and loaded with its order; a file without the specials is refused
    let p = std::env::temp_dir().join(format!("recur-padunk-{}.txt", std::process::id()));
    v.save(&p).unwrap();
    assert_eq!(Vocab::load_as(&p, VocabOrder::PadUnk).unwrap(), v);
    std::fs::write(&p, "a\nb\n").unwrap();
    assert!(Vocab::load_as(&p, VocabOrder::PadUnk).is_err());
}

#[test]
fn max_vocab_keeps_the_most_frequent() {
    let texts = ["x y y z z z w"];
    let opts = |order| VocabOptions {
        order,
        max_size: Some(2),
        ..VocabOptions::default()
    };
    let v = Vocab::from_texts_with(&texts, opts(VocabOrder::PadUnk));
    assert_eq!(v.itos(), ["<pad>", "<unk>", "z", "y"]);
    let v = Vocab::from_texts_with(&texts, opts(VocabOrder::FirstSeen));
    assert_eq!(v.itos(), ["y", "z"]);
    let v = Vocab::from_texts_with(&texts, opts(VocabOrder::Frequency));
    assert_eq!(v.itos(), ["<unk>", "<pad>", "z", "y"]);
    // ties keep the first seen
    let v = Vocab::from_texts_with(&["q p r"], opts(VocabOrder::FirstSeen));
    assert_eq!(v.itos(), ["q", "p"]);
    let v = Vocab::from_texts_with(
        &["Aa aa"],
        VocabOptions {
            tokenizer: Tokenizer::Whitespace,
            ..opts(VocabOrder::FirstSeen)
        },
    );
    assert_eq!(v.itos(), ["Aa", "aa"]);
}

#[test]
fn member_folds_are_stratified_disjoint_while_they_fit_and_fold_0_is_the_split() {
    let ex = examples(&[30, 20, 10]);
    let labels: Vec<usize> = ex.iter().map(|e| e.label).collect();
    let folds = StratifiedFolds::new(&labels, 3, 0.1, 7).unwrap();
    assert_eq!((folds.len(), folds.fold_len()), (60, 6));
    let (_, valid) = split_stratified(ex.clone(), 3, 0.1, 7).unwrap();
    let fold0: Vec<usize> = folds.fold(0);
    let lines: Vec<u64> = fold0.iter().map(|&i| ex[i].line).collect();
    assert_eq!(lines, valid.iter().map(|e| e.line).collect::<Vec<_>>());
    let mut seen = vec![0usize; 60];
    for i in 0..10 {
        let fold = folds.fold(i);
        let rest = folds.rest(i);
        assert_eq!((fold.len(), rest.len()), (6, 54));
        // a tenth of each class
        let per_class = |c: usize| fold.iter().filter(|&&r| labels[r] == c).count();
        assert_eq!((per_class(0), per_class(1), per_class(2)), (3, 2, 1));
        for &r in &fold {
            seen[r] += 1;
            assert!(!rest.contains(&r));
        }
    }
    // ten folds of a tenth cover every row once; the eleventh wraps around
    assert!(seen.iter().all(|&n| n == 1));
    assert_eq!(folds.fold(10), folds.fold(0));
    // other seeds draw other folds; bad fractions and labels are refused
    assert_ne!(
        StratifiedFolds::new(&labels, 3, 0.1, 8).unwrap().fold(0),
        fold0
    );
    assert!(StratifiedFolds::new(&labels, 3, 1.0, 7).is_err());
    assert!(StratifiedFolds::new(&labels, 2, 0.1, 7).is_err());
    assert!(StratifiedFolds::new(&[0, 1], 2, 0.1, 7).is_err());
}
