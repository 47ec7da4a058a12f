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
///
/// One pass over the lower-cased text with `"` removed, equivalent to torchtext's chain of
/// substitutions: `'` `.` `,` `(` `)` `!` `?` become one-character tokens, `;` `:` and the
/// literal `<br />` separate tokens like whitespace, and everything else stays inside tokens.
/// (`tests/tokenizer_props.rs` checks it against the substitution chain on random text.)
pub fn basic_english_into(text: &str, emit: &mut dyn FnMut(&str)) {
    basic_english_buf(text, &mut String::new(), emit)
}

/// [`basic_english_into`] lower-casing into the reusable buffer `s`, so a loop over many
/// texts allocates nothing per text once the buffer has grown.
pub fn basic_english_buf(text: &str, s: &mut String, emit: &mut dyn FnMut(&str)) {
    s.clear();
    if text.is_ascii() {
        s.push_str(text);
        s.make_ascii_lowercase();
    } else {
        // full Unicode lower-casing, final sigma included, as Python's str.lower()
        s.push_str(&text.to_lowercase());
    }
    if s.contains('"') {
        s.retain(|c| c != '"');
    }
    let bytes = s.as_bytes();
    let mut start: Option<usize> = None;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let (split, single, skip) = match c {
            '\'' | '.' | ',' | '(' | ')' | '!' | '?' => (true, true, 0),
            ';' | ':' => (true, false, 0),
            '<' if bytes[i..].starts_with(b"<br />") => (true, false, 5),
            c if is_py_space(c) => (true, false, 0),
            _ => (false, false, 0),
        };
        if !split {
            start.get_or_insert(i);
            continue;
        }
        if let Some(b) = start.take() {
            emit(&s[b..i]);
        }
        if single {
            emit(&s[i..i + 1]);
        }
        for _ in 0..skip {
            iter.next();
        }
    }
    if let Some(b) = start {
        emit(&s[b..]);
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
