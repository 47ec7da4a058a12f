//! The one-pass `basic_english` equals torchtext's substitution chain, applied literally
//! (lower-case, then the twelve replacements in order, then split on Python whitespace), on
//! random text rich in the characters the rules touch.

use proptest::prelude::*;
use recur_data::basic_english;

/// torchtext's `_basic_english_normalize`, rule for rule.
fn reference(text: &str) -> Vec<String> {
    let mut s = text.to_lowercase();
    for (from, to) in [
        ("'", " '  "),
        ("\"", ""),
        (".", " . "),
        ("<br />", " "),
        (",", " , "),
        ("(", " ( "),
        (")", " ) "),
        ("!", " ! "),
        ("?", " ? "),
        (";", " "),
        (":", " "),
    ] {
        s = s.replace(from, to);
    }
    let py_space = |c: char| {
        matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}'
            | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}'
            | '\u{202f}' | '\u{205f}' | '\u{3000}')
    };
    s.split(py_space)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("<br />".to_string()),
        Just("<br \"/>".to_string()),
        Just("<BR />".to_string()),
        Just("<br".to_string()),
        Just("İΣ".to_string()),
        "[a-zA-Z0-9'\".,()!?;:<>/ \t\n\u{a0}\u{2009}\u{200b}\u{1c}#$&\\-]{0,6}",
    ];
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn one_pass_equals_substitution_chain(t in text()) {
        prop_assert_eq!(basic_english(&t), reference(&t));
    }
}
