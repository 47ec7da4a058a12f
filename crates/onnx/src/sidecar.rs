//! What a runtime needs beside the graph to read text as recur does ([`Sidecar`], written as
//! `<model>.json` and, in part, as the model's metadata): the tokenizer's rules written out,
//! the vocabulary, the unknown and padding ids, the token limit and the class names.

use recur_data::{TextEncoder, Tokenizer};
use serde::Serialize;

/// One input or output of the graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Io {
    /// Its name.
    pub name: String,
    /// Its element type (`int64`, `float32`).
    pub dtype: &'static str,
    /// Its shape (`batch`, `time`: dynamic).
    pub shape: Vec<String>,
    /// What it holds.
    pub doc: String,
}

/// A tokenizer's rules, to be implemented anywhere.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenizerRules {
    /// `basic_english`, `whitespace` or `char`.
    pub name: &'static str,
    /// The rules in words.
    pub doc: &'static str,
    /// Lower-case first (full Unicode lower-casing, as Python's `str.lower()`).
    pub lowercase: bool,
    /// Literal substitutions applied in order after lower-casing: `[from, to]`.
    pub replace: Vec<[&'static str; 2]>,
    /// The code points that separate tokens (runs of them are one separator).
    pub whitespace: Vec<u32>,
}

/// The tokenizer's rules.
pub fn rules(t: Tokenizer) -> TokenizerRules {
    // Rust's char::is_whitespace: Unicode White_Space
    let unicode: Vec<u32> = [
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
        0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f,
        0x3000,
    ]
    .to_vec();
    match t {
        Tokenizer::BasicEnglish => {
            // Python's str.isspace(): Unicode White_Space and \x1c-\x1f
            let mut python = unicode;
            python.extend([0x1c, 0x1d, 0x1e, 0x1f]);
            python.sort_unstable();
            TokenizerRules {
                name: "basic_english",
                doc: "torchtext's basic_english: lower-case, apply the substitutions in order, \
                      split on whitespace (Python's str.split())",
                lowercase: true,
                replace: vec![
                    ["'", " '  "],
                    ["\"", ""],
                    [".", " . "],
                    ["<br />", " "],
                    [",", " , "],
                    ["(", " ( "],
                    [")", " ) "],
                    ["!", " ! "],
                    ["?", " ? "],
                    [";", " "],
                    [":", " "],
                ],
                whitespace: python,
            }
        }
        Tokenizer::Whitespace => TokenizerRules {
            name: "whitespace",
            doc: "split on whitespace; case and punctuation kept",
            lowercase: false,
            replace: Vec::new(),
            whitespace: unicode,
        },
        Tokenizer::Char => TokenizerRules {
            name: "char",
            doc: "strip whitespace at both ends, then one token per character, each run of \
                  whitespace one \" \" token",
            lowercase: false,
            replace: Vec::new(),
            whitespace: unicode,
        },
    }
}

/// `<model>.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sidecar {
    /// Always `recur-onnx`.
    pub format: &'static str,
    /// This document's version (1).
    pub version: u32,
    /// `classify` or `lm`.
    pub task: &'static str,
    /// The ONNX operator set.
    pub opset: i64,
    /// The graph's inputs.
    pub inputs: Vec<Io>,
    /// The graph's outputs.
    pub outputs: Vec<Io>,
    /// How text becomes tokens.
    pub tokenizer: TokenizerRules,
    /// Tokens in id order.
    pub vocab: Vec<String>,
    /// The id of a token the vocabulary lacks.
    pub unk_id: usize,
    /// The id rows are right-padded with in a batch.
    pub pad_id: usize,
    /// Tokens kept per text (the first ones); absent: all.
    pub max_tokens: Option<usize>,
    /// Class names, index = class (classifiers).
    pub classes: Option<Vec<String>>,
    /// How a batch's padding acts on the results.
    pub batching: String,
}

impl Sidecar {
    /// The parts of an encoder.
    pub fn text(enc: &TextEncoder) -> (TokenizerRules, Vec<String>, usize, Option<usize>) {
        (
            rules(enc.tokenizer),
            enc.vocab.itos().to_vec(),
            enc.vocab.unk_id(),
            enc.max_tokens,
        )
    }

    /// As ONNX metadata: the task, tokenizer, ids, limit, classes and vocabulary, so the
    /// model file alone suffices too.
    pub fn metadata(&self) -> Vec<(String, String)> {
        let mut m = vec![
            ("recur.task".to_string(), self.task.to_string()),
            ("recur.tokenizer".into(), self.tokenizer.name.to_string()),
            ("recur.unk_id".into(), self.unk_id.to_string()),
            ("recur.pad_id".into(), self.pad_id.to_string()),
            ("recur.vocab".into(), self.vocab.join("\n")),
            ("recur.batching".into(), self.batching.clone()),
        ];
        if let Some(n) = self.max_tokens {
            m.push(("recur.max_tokens".into(), n.to_string()));
        }
        if let Some(c) = &self.classes {
            m.push((
                "recur.classes".into(),
                serde_json::to_string(c).unwrap_or_default(),
            ));
        }
        m
    }
}
