//! The character n-grams of the vocabulary's words, for the TF-IDF bag ([`WordGrams`]):
//! each word is marked `<word>` as fastText marks it, its n-grams of
//! [`CHAR_GRAM_MIN`]–[`CHAR_GRAM_MAX`] characters are hashed into `C` buckets
//! ([`char_gram_bucket`]), and a word's grams are counted. Words that share a stem, a
//! suffix or a name's spelling share buckets, so a word seen a few times borrows what the
//! bag learned from its relatives.

/// The shortest character n-gram, in characters (the `<` and `>` marks count).
pub const CHAR_GRAM_MIN: usize = 3;

/// The longest character n-gram, in characters.
pub const CHAR_GRAM_MAX: usize = 5;

/// The bucket of the character n-gram `gram` among `buckets`: the 32-bit FNV-1a hash of
/// its UTF-8 bytes (fastText's subword hash) modulo `buckets`.
pub fn char_gram_bucket(gram: &str, buckets: usize) -> usize {
    let mut h: u32 = 2_166_136_261;
    for &b in gram.as_bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(16_777_619);
    }
    h as usize % buckets.max(1)
}

/// The distinct buckets `(bucket, count)` of the character n-grams of `<word>`, in
/// increasing bucket order; none for the empty word.
pub fn word_char_grams(word: &str, buckets: usize) -> Vec<(usize, usize)> {
    if word.is_empty() {
        return Vec::new();
    }
    let marked: Vec<char> = std::iter::once('<')
        .chain(word.chars())
        .chain(std::iter::once('>'))
        .collect();
    let mut found: Vec<usize> = Vec::new();
    let mut gram = String::new();
    for n in CHAR_GRAM_MIN..=CHAR_GRAM_MAX {
        for window in marked.windows(n) {
            gram.clear();
            gram.extend(window);
            found.push(char_gram_bucket(&gram, buckets));
        }
    }
    found.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for b in found {
        match out.last_mut() {
            Some((last, n)) if *last == b => *n += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

/// Every vocabulary word's character n-gram buckets with their counts, packed in one list
/// (`V` words; a special token passed as the empty word has none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WordGrams {
    starts: Vec<usize>,
    grams: Vec<(usize, usize)>,
}

impl WordGrams {
    /// The grams of `words` (in id order) over `buckets` buckets.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>, buckets: usize) -> WordGrams {
        let mut starts = vec![0];
        let mut grams = Vec::new();
        for w in words {
            grams.extend(word_char_grams(w, buckets));
            starts.push(grams.len());
        }
        WordGrams { starts, grams }
    }

    /// How many words.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Word `id`'s `(bucket, count)` grams (none for an id past the words).
    pub fn of(&self, id: usize) -> &[(usize, usize)] {
        match (self.starts.get(id), self.starts.get(id + 1)) {
            (Some(&a), Some(&b)) => &self.grams[a..b],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_has_its_marked_three_to_five_grams_counted() {
        // "<aa>": 3-grams "<aa", "aa>"; 4-gram "<aa>"; no 5-gram
        let g = word_char_grams("aa", 1 << 20);
        let mut want: Vec<usize> = ["<aa", "aa>", "<aa>"]
            .iter()
            .map(|s| char_gram_bucket(s, 1 << 20))
            .collect();
        want.sort_unstable();
        assert_eq!(g.iter().map(|p| p.0).collect::<Vec<_>>(), want);
        assert!(g.iter().all(|p| p.1 == 1));
        // "<aaaa>": "aaa" twice
        let g = word_char_grams("aaaa", 1 << 20);
        let aaa = char_gram_bucket("aaa", 1 << 20);
        assert_eq!(g.iter().find(|p| p.0 == aaa).map(|p| p.1), Some(2));
        assert!(word_char_grams("", 8).is_empty());
        // characters, not bytes: "é" is one character
        assert_eq!(word_char_grams("é", 1 << 20).len(), 1);
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // FNV-1a 32-bit of "a" is 0xe40c292c
        assert_eq!(char_gram_bucket("a", usize::MAX), 0xe40c_292c);
        assert_eq!(char_gram_bucket("a", 7), 0xe40c_292c % 7);
    }

    #[test]
    fn words_are_looked_up_by_id() {
        let w = WordGrams::new(["", "ab", "abc"], 64);
        assert_eq!(w.len(), 3);
        assert!(w.of(0).is_empty());
        assert_eq!(w.of(1), word_char_grams("ab", 64).as_slice());
        assert_eq!(w.of(2), word_char_grams("abc", 64).as_slice());
        assert!(w.of(3).is_empty());
    }
}
