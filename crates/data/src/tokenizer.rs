//! torchtext's `basic_english` tokenizer and `ngrams_iterator`, rule for rule.

/// Python's `str.isspace()` (what `str.split()` and `re`'s `\s` split on): Unicode White_Space
/// plus the ASCII separators `\x1c`–`\x1f`; not U+200B.
pub fn is_py_space(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}'
        | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}'
        | '\u{205f}' | '\u{3000}')
}

/// torchtext `basic_english`: `str.lower()`, then in order `'`→` '  `, `"`→removed,
/// `.`→` . `, `<br />`→` `, `,`→` , `, `(`→` ( `, `)`→` ) `, `!`→` ! `, `?`→` ? `,
/// `;`→` `, `:`→` `, then split on Python whitespace.
pub fn basic_english(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    basic_english_into(text, &mut |t| out.push(t.to_string()));
    out
}

/// [`basic_english`] calling `emit` for each token instead of allocating a list.
pub fn basic_english_into(text: &str, emit: &mut dyn FnMut(&str)) {
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
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    for tok in s.split(is_py_space).filter(|t| !t.is_empty()) {
        emit(tok);
    }
}

/// torchtext `ngrams_iterator(tokens, n)`: every unigram, then every bigram (joined with one
/// space), ..., up to n-grams.
pub fn ngrams(tokens: &[String], n: usize) -> Vec<String> {
    let mut out: Vec<String> = tokens.to_vec();
    for k in 2..=n {
        for w in tokens.windows(k) {
            out.push(w.join(" "));
        }
    }
    out
}
