//! [`TextEncoder`]: texts → token ids as a run reads them — its tokenizer, its vocabulary
//! (unknown words → `<unk>`) and its token limit (the first `max_tokens` kept). Training,
//! evaluation, prediction, serving and export all encode through it.

use crate::{DataError, Encoded, Example, Result, Tokenizer, Vocab};

/// How a run turns texts into token ids.
#[derive(Clone, Debug, PartialEq)]
pub struct TextEncoder {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// The vocabulary.
    pub vocab: Vocab,
    /// Tokens kept per text (the first ones); `None`: all.
    pub max_tokens: Option<usize>,
}

impl TextEncoder {
    /// An encoder with `tokenizer`, `vocab` and the token limit `max_tokens`.
    pub fn new(tokenizer: Tokenizer, vocab: Vocab, max_tokens: Option<usize>) -> Self {
        TextEncoder {
            tokenizer,
            vocab,
            max_tokens,
        }
    }

    /// The ids of `text`, at most `max_tokens` of them (empty when it has no token).
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let mut ids = Vec::new();
        self.encode_into(text, &mut String::new(), &mut ids);
        ids
    }

    /// [`TextEncoder::encode`] into `ids` (cleared first) with a reusable buffer; returns
    /// whether the text was longer than the limit.
    pub fn encode_into(&self, text: &str, buf: &mut String, ids: &mut Vec<usize>) -> bool {
        ids.clear();
        let max = self.max_tokens.unwrap_or(usize::MAX).max(1);
        let mut longer = false;
        self.tokenizer.tokens_into(text, buf, |t: &str| {
            if ids.len() < max {
                ids.push(self.vocab.id_or_unk(t));
            } else {
                longer = true;
            }
        });
        longer
    }

    /// Encodes labelled examples (each has a token: the readers refuse empty texts); returns
    /// them and how many texts were cut to the limit.
    pub fn encode_examples(&self, examples: &[Example]) -> (Encoded, usize) {
        let mut out = Encoded {
            labels: Vec::with_capacity(examples.len()),
            ids: Vec::with_capacity(examples.len()),
        };
        let mut buf = String::new();
        let mut cut = 0;
        for e in examples {
            let mut ids = Vec::new();
            cut += usize::from(self.encode_into(&e.text, &mut buf, &mut ids));
            out.labels.push(e.label);
            out.ids.push(ids);
        }
        (out, cut)
    }
}

impl Encoded {
    /// Texts in memory with their 0-based `labels`, encoded as `encoder` reads text (the
    /// token limit applied). A text with no token, or as many labels as texts missing, is
    /// an error naming the text's index.
    pub fn from_texts<S: AsRef<str>>(
        encoder: &TextEncoder,
        texts: &[S],
        labels: &[usize],
    ) -> Result<Encoded> {
        if texts.len() != labels.len() {
            return Err(DataError::Invalid(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        let mut out = Encoded {
            labels: labels.to_vec(),
            ids: Vec::with_capacity(texts.len()),
        };
        let mut buf = String::new();
        for (i, text) in texts.iter().enumerate() {
            let mut ids = Vec::new();
            encoder.encode_into(text.as_ref(), &mut buf, &mut ids);
            if ids.is_empty() {
                return Err(DataError::Invalid(format!(
                    "text {i} ({:?}) has no token for the {} tokenizer",
                    truncated(text.as_ref()),
                    encoder.tokenizer.name()
                )));
            }
            out.ids.push(ids);
        }
        Ok(out)
    }
}

/// The first 40 characters of `text`, for a message.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VocabOrder;

    #[test]
    fn the_limit_keeps_the_first_tokens_and_says_when_it_cut() {
        let vocab = Vocab::from_texts(&["a b c d"], VocabOrder::PadUnk, 1);
        let enc = TextEncoder::new(Tokenizer::Whitespace, vocab.clone(), Some(2));
        let (a, b) = (vocab.id("a").unwrap(), vocab.id("b").unwrap());
        assert_eq!(enc.encode("a b c d"), vec![a, b]);
        assert_eq!(enc.encode("a zz"), vec![a, vocab.unk_id()]);
        assert!(enc.encode("  ").is_empty());
        let ex = |t: &str| Example {
            label: 0,
            text: t.into(),
            line: 1,
        };
        let (e, cut) = enc.encode_examples(&[ex("a b c"), ex("b")]);
        assert_eq!((e.ids, cut), (vec![vec![a, b], vec![b]], 1));
        let all = TextEncoder::new(Tokenizer::Whitespace, vocab, None);
        assert_eq!(all.encode("a b c d").len(), 4);
    }

    #[test]
    fn texts_in_memory_encode_as_the_encoder_reads_them() {
        let vocab = Vocab::from_texts(&["good film", "bad film"], VocabOrder::PadUnk, 1);
        let enc = TextEncoder::new(Tokenizer::BasicEnglish, vocab.clone(), Some(1));
        let data = Encoded::from_texts(&enc, &["Good Film!", "awful"], &[1, 0]).unwrap();
        assert_eq!(data.labels, vec![1, 0]);
        assert_eq!(
            data.ids,
            vec![vec![vocab.id("good").unwrap()], vec![vocab.unk_id()]]
        );
        let err = Encoded::from_texts(&enc, &["good", "  "], &[1, 0]).unwrap_err();
        assert!(err.to_string().contains("text 1"), "{err}");
        let err = Encoded::from_texts(&enc, &["good"], &[1, 0]).unwrap_err();
        assert!(err.to_string().contains("1 texts but 2 labels"), "{err}");
    }
}
