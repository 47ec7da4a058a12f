//! Encoding, collation into padded batches, and the seeded shuffling loader (with an
//! optional background thread that prepares batches ahead).

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{DataError, Result};

/// A dataset encoded with a vocabulary: labels and token ids per example.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// 0-based labels.
    pub labels: Vec<usize>,
    /// Token ids per example (never empty).
    pub ids: Vec<Vec<usize>>,
}

impl Encoded {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Keeps at most the first `max_tokens` ids of every example; returns how many were cut.
    pub fn truncate(&mut self, max_tokens: usize) -> usize {
        let mut cut = 0;
        for ids in &mut self.ids {
            if ids.len() > max_tokens {
                ids.truncate(max_tokens.max(1));
                cut += 1;
            }
        }
        cut
    }
}

/// A padded batch, as the lesson's `padify` / `pad_length` return it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// 0-based labels `[B]`.
    pub labels: Vec<usize>,
    /// Token ids `[B, T]` row-major, right-padded with 0.
    pub tokens: Vec<usize>,
    /// True lengths `[B]`.
    pub lengths: Vec<usize>,
    /// `T` = the longest length.
    pub max_len: usize,
}

impl Batch {
    /// Batch size `B`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Collates examples `idx` of `data`: ids right-padded with 0 to the longest row.
pub fn collate(data: &Encoded, idx: &[usize]) -> Result<Batch> {
    if let Some(&bad) = idx.iter().find(|&&i| i >= data.len()) {
        return Err(DataError::Invalid(format!(
            "example {bad} out of range for {} examples",
            data.len()
        )));
    }
    let max_len = idx.iter().map(|&i| data.ids[i].len()).max().unwrap_or(0);
    let mut tokens = vec![0; idx.len() * max_len];
    for (row, &i) in idx.iter().enumerate() {
        tokens[row * max_len..row * max_len + data.ids[i].len()].copy_from_slice(&data.ids[i]);
    }
    Ok(Batch {
        labels: idx.iter().map(|&i| data.labels[i]).collect(),
        lengths: idx.iter().map(|&i| data.ids[i].len()).collect(),
        tokens,
        max_len,
    })
}

/// How a [`Loader`] cuts examples into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Examples per batch (at least 1).
    pub batch_size: usize,
    /// A seeded permutation per epoch (`true`) or file order.
    pub shuffle: bool,
    /// Drop a final batch shorter than `batch_size`.
    pub drop_last: bool,
    /// Seed of the permutations (each epoch draws its own stream).
    pub seed: u64,
}

impl LoaderConfig {
    /// Shuffled batches of `batch_size` with seed `seed`, the last one kept even if short.
    pub fn shuffled(batch_size: usize, seed: u64) -> Self {
        LoaderConfig {
            batch_size,
            shuffle: true,
            drop_last: false,
            seed,
        }
    }

    /// Batches of `batch_size` in file order (evaluation).
    pub fn in_order(batch_size: usize) -> Self {
        LoaderConfig {
            batch_size,
            shuffle: false,
            drop_last: false,
            seed: 0,
        }
    }
}

/// The order of one epoch's batches: a seeded permutation (or file order) cut into batches.
#[derive(Clone, Debug)]
pub struct Loader {
    order: Vec<usize>,
    batch_size: usize,
    drop_last: bool,
}

impl Loader {
    /// Batches over `n` examples for epoch `epoch`; when shuffled, the epoch's order is a
    /// fixed permutation of `config.seed` (ChaCha8, stream `epoch`).
    pub fn new(n: usize, config: LoaderConfig, epoch: u64) -> Result<Loader> {
        Loader::over((0..n).collect(), config, epoch)
    }

    /// Batches over the examples `indices` (a subset of a dataset, in that order) for epoch
    /// `epoch`: when shuffled, permuted as [`Loader::new`] permutes `indices.len()` examples.
    pub fn over(indices: Vec<usize>, config: LoaderConfig, epoch: u64) -> Result<Loader> {
        let LoaderConfig {
            batch_size,
            shuffle,
            drop_last,
            seed,
        } = config;
        if batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        let mut order = indices;
        if shuffle {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(epoch);
            order.shuffle(&mut rng);
        }
        Ok(Loader {
            order,
            batch_size,
            drop_last,
        })
    }

    /// Batches of `batch_size` over the examples `indices` of `data`, shortest text first
    /// (ties in the given order), for evaluation: each batch's rows have similar lengths, so
    /// what pads a batch to its longest row is small and large batches stay cheap. An index
    /// outside `data` sorts first and is refused when its batch is collated.
    pub fn by_length(data: &Encoded, indices: Vec<usize>, batch_size: usize) -> Result<Loader> {
        let mut order = indices;
        order.sort_by_key(|&i| data.ids.get(i).map_or(0, Vec::len));
        Loader::over(order, LoaderConfig::in_order(batch_size), 0)
    }

    /// This loader without its first `batches` batches (resuming inside an epoch).
    pub fn skip_batches(mut self, batches: usize) -> Loader {
        let n = (batches * self.batch_size).min(self.order.len());
        self.order.drain(..n);
        self
    }

    /// The example indices of each batch, in order.
    pub fn batches(&self) -> impl Iterator<Item = &[usize]> + '_ {
        let keep = if self.drop_last {
            self.order.len() / self.batch_size * self.batch_size
        } else {
            self.order.len()
        };
        self.order[..keep].chunks(self.batch_size)
    }

    /// Number of batches.
    pub fn len(&self) -> usize {
        self.batches().count()
    }

    /// True when there is no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Batches collated on a background thread, `depth` ahead of the consumer. A collation
/// error, or a panic of the thread, comes out of the iterator as an error: the epoch never
/// just ends early.
pub struct Prefetch {
    rx: Receiver<Result<Batch>>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Starts collating `loader`'s batches of `data` on a thread.
    pub fn start(data: Arc<Encoded>, loader: Loader, depth: usize) -> Prefetch {
        let (tx, rx) = sync_channel(depth.max(1));
        let handle = std::thread::spawn(move || {
            for idx in loader.batches() {
                let batch = collate(&data, idx);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        Prefetch {
            rx,
            handle: Some(handle),
        }
    }
}

impl Iterator for Prefetch {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        match self.rx.recv() {
            Ok(item) => Some(item),
            // the thread ended: normally, or by a panic that must not pass for the end
            Err(_) => match self.handle.take().map(JoinHandle::join) {
                Some(Err(panic)) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown cause".into());
                    Some(Err(DataError::Invalid(format!(
                        "the batching thread panicked: {what}"
                    ))))
                }
                _ => None,
            },
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Disconnect first so a producer blocked on a full channel exits.
        let (_, dead) = sync_channel(0);
        drop(std::mem::replace(&mut self.rx, dead));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
