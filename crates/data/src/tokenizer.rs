//! The tokenizers: torchtext's `basic_english` and `ngrams_iterator` rule for rule, plus
//! whitespace and character tokenizers ([`Tokenizer`]).

use serde::{Deserialize, Serialize};

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
pub fn basic_english_buf(text: &str, s: &mut String, mut emit: impl FnMut(&str)) {
    s.clear();
    let ascii = text.is_ascii();
    if ascii {
        s.push_str(text);
        s.make_ascii_lowercase();
    } else {
        // full Unicode lower-casing, final sigma included, as Python's str.lower()
        s.push_str(&text.to_lowercase());
    }
    if s.contains('"') {
        s.retain(|c| c != '"');
    }
    if ascii {
        ascii_tokens(s, &mut emit);
        return;
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

/// What an ASCII byte does in `basic_english`: part of a token, a separator, a token of its
/// own, or `<` (a separator when it opens `<br />`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    Token,
    Space,
    Single,
    Lt,
}

/// [`ByteClass`] of each ASCII byte.
const BYTE_CLASS: [ByteClass; 128] = {
    let mut t = [ByteClass::Token; 128];
    let spaces = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ;:";
    let mut i = 0;
    while i < spaces.len() {
        t[spaces[i] as usize] = ByteClass::Space;
        i += 1;
    }
    let singles = b"'.,()!?";
    let mut i = 0;
    while i < singles.len() {
        t[singles[i] as usize] = ByteClass::Single;
        i += 1;
    }
    t[b'<' as usize] = ByteClass::Lt;
    t
};

/// The token loop of [`basic_english_buf`] for lower-cased ASCII text without `"`: a
/// byte-class table instead of a `char` match.
fn ascii_tokens(s: &str, emit: &mut impl FnMut(&str)) {
    let b = s.as_bytes();
    let class = |i: usize| BYTE_CLASS[(b[i] & 0x7f) as usize];
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = class(i);
        if c == ByteClass::Token || (c == ByteClass::Lt && !b[i..].starts_with(b"<br />")) {
            start.get_or_insert(i);
            i += 1;
            while i < b.len() && class(i) == ByteClass::Token {
                i += 1;
            }
            continue;
        }
        // ASCII: every byte offset is a char boundary
        if let Some(st) = start.take() {
            emit(&s[st..i]);
        }
        i += match c {
            ByteClass::Single => {
                emit(&s[i..i + 1]);
                1
            }
            ByteClass::Lt => 6,
            ByteClass::Space | ByteClass::Token => 1,
        };
    }
    if let Some(st) = start {
        emit(&s[st..]);
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

/// How a text becomes tokens; saved in a run's `config.json` and used by `eval`/`predict`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// torchtext's `basic_english` (lower-cases, splits punctuation): the lesson's.
    #[default]
    BasicEnglish,
    /// Split on Unicode whitespace, case and punctuation kept (fastText's rule).
    Whitespace,
    /// One token per character; each run of whitespace is one `" "` token, and leading or
    /// trailing whitespace is dropped.
    Char,
}

impl Tokenizer {
    /// Every tokenizer, in the order the command line lists them.
    pub const ALL: [Tokenizer; 3] = [
        Tokenizer::BasicEnglish,
        Tokenizer::Whitespace,
        Tokenizer::Char,
    ];

    /// Name on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::BasicEnglish => "basic_english",
            Tokenizer::Whitespace => "whitespace",
            Tokenizer::Char => "char",
        }
    }

    /// Calls `emit` for each token of `text`; `buf` is scratch space reused across calls.
    pub fn tokens_into(self, text: &str, buf: &mut String, mut emit: impl FnMut(&str)) {
        match self {
            Tokenizer::BasicEnglish => basic_english_buf(text, buf, emit),
            Tokenizer::Whitespace => text.split_whitespace().for_each(emit),
            Tokenizer::Char => {
                let mut chars = text.trim().chars().peekable();
                let mut one = [0u8; 4];
                while let Some(c) = chars.next() {
                    if c.is_whitespace() {
                        while chars.next_if(|c| c.is_whitespace()).is_some() {}
                        emit(" ");
                    } else {
                        emit(c.encode_utf8(&mut one));
                    }
                }
            }
        }
    }

    /// The tokens of `text`.
    pub fn tokenize(self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.tokens_into(text, &mut String::new(), |t: &str| out.push(t.to_string()));
        out
    }

    /// True when `text` has no token (cheap for the common case of a text that has one).
    pub fn is_empty_text(self, text: &str) -> bool {
        match self {
            Tokenizer::BasicEnglish => {
                let removable = |c: char| {
                    is_py_space(c)
                        || matches!(c, '"' | ';' | ':' | '<' | 'b' | 'r' | '/' | '>' | 'B' | 'R')
                };
                text.chars().all(removable) && basic_english(text).is_empty()
            }
            Tokenizer::Whitespace | Tokenizer::Char => text.trim().is_empty(),
        }
    }
}

impl std::fmt::Display for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Tokenizer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Tokenizer::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!("unknown tokenizer {s:?}: expected basic_english, whitespace or char")
            })
    }
}
