//! How a classifier's parameters start besides their random draw: the embedding from
//! pretrained or skip-gram vectors ([`init_embedding`]), or the embedding and recurrent
//! layers from a language model ([`copy_encoder`]).

use recur_data::load_vectors;
use recur_layers::{member_prefix, Classifier, ParamId, ParamStore};
use recur_tensor::{Backend, DType, Tensor};

use crate::classify::data::ClassifyData;
use crate::classify::records::ClassifyRecords;
use crate::engine::observer::{Notice, Observer};
use crate::skipgram::{train_skipgram, SkipGramConfig};
use crate::training::EmbeddingInit;
use crate::{Result, TrainError};

/// Starts `model`'s embedding table as `init` says (`dim` wide; `padding`: the padding row,
/// kept zero; `seed`: the skip-gram's and the missing words' draws); nothing for a random
/// start or a language model's encoder. Tells `observer` what it did; false when the
/// observer asked to stop during the skip-gram training (the embedding is left as drawn).
pub(crate) fn init_embedding<B: Backend>(
    init: &EmbeddingInit,
    (dim, padding, seed): (usize, Option<usize>, u64),
    data: &ClassifyData,
    model: &Classifier,
    store: &mut ParamStore<B>,
    observer: &mut (dyn Observer<ClassifyRecords> + Send),
) -> Result<bool> {
    let vocab = &data.encoder.vocab;
    let table = match init {
        EmbeddingInit::Random | EmbeddingInit::Encoder { .. } => return Ok(true),
        EmbeddingInit::SkipGram { epochs } => {
            let t0 = std::time::Instant::now();
            let skip: Vec<usize> = padding.into_iter().chain([vocab.unk_id()]).collect();
            let config = SkipGramConfig {
                dim,
                epochs: *epochs,
                seed,
                ..SkipGramConfig::default()
            };
            let stop = || observer.stop_requested();
            let Some(mut table) =
                train_skipgram(&data.train.ids, vocab.len(), &skip, config, &stop)
            else {
                return Ok(false);
            };
            if let Some(p) = padding {
                table[p * dim..(p + 1) * dim].fill(0.0);
            }
            observer.notice(&Notice::SkipGram {
                words: vocab.len(),
                epochs: *epochs,
                seconds: t0.elapsed().as_secs_f64(),
            });
            table
        }
        EmbeddingInit::Vectors { path, oov } => {
            let t0 = std::time::Instant::now();
            let t = load_vectors(path, vocab, dim, *oov, padding, seed)?;
            observer.notice(&Notice::Vectors {
                file: path.clone(),
                found: (t.found(), t.lowercase, vocab.len()),
                file_words: t.file_words,
                seconds: t0.elapsed().as_secs_f64(),
            });
            t.table
        }
    };
    // every member starts from the same vectors; their own draws set them apart
    for member in &model.members {
        let t = Tensor::from_f32(store.backend(), &[vocab.len(), dim], &table, DType::F32)?;
        store.set(member.embedding.weight, t)?;
    }
    Ok(true)
}

/// Copies a language model's embedding and recurrent layers into each of a classifier's
/// `members` in `store` (`encoder.weight` → `embedding.weight`, `rnn.*` → `rnn.*`, under
/// each member's [`member_prefix`]), every shape checked; returns the ids of the parameters
/// copied, member by member, each member's embedding first.
pub fn copy_encoder<B: Backend>(
    lm: &ParamStore<B>,
    store: &mut ParamStore<B>,
    members: usize,
) -> Result<Vec<ParamId>> {
    let mut copied = Vec::new();
    for prefix in (0..members).map(member_prefix) {
        copied.extend(copy_into(lm, store, &prefix)?);
    }
    Ok(copied)
}

/// [`copy_encoder`] into the member under `prefix`.
fn copy_into<B: Backend>(
    lm: &ParamStore<B>,
    store: &mut ParamStore<B>,
    prefix: &str,
) -> Result<Vec<ParamId>> {
    let mut copied = Vec::new();
    for (_, name, value) in lm.iter() {
        let target = match name {
            "encoder.weight" => format!("{prefix}embedding.weight"),
            n if n.starts_with("rnn.") => format!("{prefix}{n}"),
            _ => continue,
        };
        let Some(id) = store.id(&target) else {
            return Err(TrainError::Invalid(format!(
                "the classifier has no {target} for the language model's {name}: give it the \
                 model's cell, layers, embedding width and hidden size (unidirectional, no \
                 projection)"
            )));
        };
        store.set(id, value.clone()).map_err(|e| {
            TrainError::Invalid(format!("the language model's {name} does not fit: {e}"))
        })?;
        copied.push(id);
    }
    let missing: Vec<&str> = store
        .iter()
        .filter(|(id, n, _)| {
            n.strip_prefix(prefix)
                .is_some_and(|n| n.starts_with("rnn."))
                && !copied.contains(id)
        })
        .map(|(_, n, _)| n)
        .collect();
    if !missing.is_empty() {
        return Err(TrainError::Invalid(format!(
            "the language model has no {}: give the classifier its layers and cell",
            missing.join(", ")
        )));
    }
    Ok(copied)
}
