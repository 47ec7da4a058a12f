//! Word vectors from the training texts alone: skip-gram with negative sampling (word2vec's
//! SGNS: frequent-word subsampling, a random window, negatives drawn from the unigram
//! distribution to the power 0.75, a linearly decaying rate), single-threaded so that a seed
//! gives the same vectors on every run and machine.

use rand::{Rng as _, SeedableRng};

/// Skip-gram settings (word2vec's defaults, fewer epochs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SkipGramConfig {
    /// Vector width `E`.
    pub dim: usize,
    /// Largest distance of a context word (each centre draws its window from 1..=window).
    pub window: usize,
    /// Negative samples per positive pair.
    pub negatives: usize,
    /// Passes over the texts.
    pub epochs: usize,
    /// Starting learning rate (decays linearly to 0.01% of it).
    pub lr: f32,
    /// Subsampling threshold of frequent words.
    pub subsample: f64,
    /// Seed of every draw.
    pub seed: u64,
}

impl Default for SkipGramConfig {
    /// word2vec's skip-gram defaults: 64 wide, window 5, 5 negatives, 5 passes, rate
    /// 0.025, subsampling 1e-4, seed 0.
    fn default() -> Self {
        SkipGramConfig {
            dim: 64,
            window: 5,
            negatives: 5,
            epochs: 5,
            lr: 0.025,
            subsample: 1e-4,
            seed: 0,
        }
    }
}

/// Entries of the negative-sampling table (word2vec uses 1e8; a word's share is rounded to
/// 1/2^20 of the draws, far below the sampling noise at these corpus sizes).
const TABLE_SIZE: usize = 1 << 20;

/// SplitMix64: the inner loop's draws (window sizes, subsampling, negatives), seeded from the
/// ChaCha8 generator so the whole run follows `seed`.
struct FastRng(u64);

impl FastRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

fn sigmoid(x: f32) -> f32 {
    if x > 8.0 {
        1.0
    } else if x < -8.0 {
        0.0
    } else {
        1.0 / (1.0 + (-x).exp())
    }
}

/// `Σ a[k]·b[k]` with eight partial sums, so it vectorises (the order is fixed, so the
/// result is the same on every run).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Texts between two asks of [`train_skipgram`]'s `stop` (a few milliseconds of work).
const STOP_EVERY: usize = 64;

/// Trains `[vocab_size, dim]` input vectors (row-major) on `texts` (token ids; ids at or above
/// `vocab_size` are ignored); ids in `skip` (padding, unknown) are neither centres nor
/// contexts, and keep their small random rows. `stop` is asked every 64 texts;
/// when it says yes the training ends there and `None` is returned (the vectors would be
/// half-trained, so none are handed out).
pub fn train_skipgram(
    texts: &[Vec<usize>],
    vocab_size: usize,
    skip: &[usize],
    config: SkipGramConfig,
    stop: &dyn Fn() -> bool,
) -> Option<Vec<f32>> {
    let dim = config.dim;
    let mut seeder = recur_layers::Rng::seed_from_u64(config.seed);
    seeder.set_stream(0x736b_6970); // "skip"
    let mut input: Vec<f32> = (0..vocab_size * dim)
        .map(|_| (seeder.gen::<f32>() - 0.5) / dim as f32)
        .collect();
    let mut rng = FastRng(seeder.gen());
    let mut counts = vec![0u64; vocab_size];
    for &id in texts.iter().flatten() {
        if id < vocab_size {
            counts[id] += 1;
        }
    }
    for &s in skip {
        if s < vocab_size {
            counts[s] = 0;
        }
    }
    let total: u64 = counts.iter().sum();
    if total == 0 || dim == 0 || config.epochs == 0 {
        return Some(input);
    }
    let table = negative_table(&counts);
    let keep_prob: Vec<f64> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                return 0.0;
            }
            let f = c as f64 / total as f64;
            let t = config.subsample;
            ((f / t).sqrt() + 1.0) * t / f
        })
        .collect();
    let mut output = vec![0f32; vocab_size * dim];
    let steps = total as f64 * config.epochs as f64;
    let mut done = 0.0f64;
    let mut grad = vec![0f32; dim];
    let mut sentence = Vec::new();
    let window = config.window.max(1);
    for _ in 0..config.epochs {
        for (n, text) in texts.iter().enumerate() {
            if n % STOP_EVERY == 0 && stop() {
                return None;
            }
            sentence.clear();
            for &id in text {
                if id < vocab_size && counts[id] > 0 {
                    done += 1.0;
                    if rng.unit() < keep_prob[id] {
                        sentence.push(id);
                    }
                }
            }
            let lr = config.lr * (1.0 - done / steps).max(1e-4) as f32;
            for (i, &centre) in sentence.iter().enumerate() {
                let b = 1 + rng.below(window);
                let lo = i.saturating_sub(b);
                let hi = (i + b).min(sentence.len() - 1);
                for (j, &context) in sentence.iter().enumerate().take(hi + 1).skip(lo) {
                    if j == i {
                        continue;
                    }
                    let v = &mut input[context * dim..(context + 1) * dim];
                    grad.fill(0.0);
                    for n in 0..=config.negatives {
                        let (target, label) = if n == 0 {
                            (centre, 1.0f32)
                        } else {
                            let t = table[rng.below(TABLE_SIZE)] as usize;
                            if t == centre {
                                continue;
                            }
                            (t, 0.0f32)
                        };
                        let u = &mut output[target * dim..(target + 1) * dim];
                        let g = (label - sigmoid(dot(v, u))) * lr;
                        for ((gk, uk), vk) in grad.iter_mut().zip(u.iter_mut()).zip(v.iter()) {
                            *gk += g * *uk;
                            *uk += g * vk;
                        }
                    }
                    for (vk, gk) in v.iter_mut().zip(&grad) {
                        *vk += gk;
                    }
                }
            }
        }
    }
    Some(input)
}

/// word2vec's unigram table: word `w` fills a share `count(w)^0.75 / Σ count^0.75` of
/// `TABLE_SIZE` slots, so a uniform slot is a negative sample.
fn negative_table(counts: &[u64]) -> Vec<u32> {
    let powered: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
    let sum: f64 = powered.iter().sum();
    let mut table = Vec::with_capacity(TABLE_SIZE);
    let mut acc = 0.0;
    let last = counts.iter().rposition(|&c| c > 0).unwrap_or(0);
    for (w, p) in powered.iter().enumerate() {
        if *p == 0.0 {
            continue;
        }
        acc += p / sum;
        let end = if w == last {
            TABLE_SIZE
        } else {
            ((acc * TABLE_SIZE as f64) as usize).min(TABLE_SIZE)
        };
        while table.len() < end {
            table.push(w as u32);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two topics whose words never share a text: after training, a word is closer to the
    /// words of its own topic than to the other topic's.
    fn corpus() -> Vec<Vec<usize>> {
        let mut r = FastRng(7);
        (0..400)
            .map(|i| {
                let base = if i % 2 == 0 { 2 } else { 12 };
                (0..20).map(|_| base + r.below(10)).collect()
            })
            .collect()
    }

    fn cosine(t: &[f32], dim: usize, a: usize, b: usize) -> f32 {
        let (x, y) = (&t[a * dim..(a + 1) * dim], &t[b * dim..(b + 1) * dim]);
        dot(x, y) / (dot(x, x).sqrt() * dot(y, y).sqrt())
    }

    #[test]
    fn words_of_one_topic_end_up_closer() {
        let config = SkipGramConfig {
            dim: 16,
            epochs: 5,
            subsample: 1.0,
            ..SkipGramConfig::default()
        };
        let t = train_skipgram(&corpus(), 22, &[0, 1], config, &|| false).unwrap();
        let mut within = 0.0;
        let mut across = 0.0;
        for a in 2..12 {
            for b in 2..12 {
                if a != b {
                    within += cosine(&t, 16, a, b) + cosine(&t, 16, a + 10, b + 10);
                }
                across += cosine(&t, 16, a, b + 10);
            }
        }
        let (within, across) = (within / 180.0, across / 100.0);
        assert!(within > across + 0.3, "within {within}, across {across}");
    }

    #[test]
    fn a_seed_gives_the_same_vectors_and_skipped_rows_stay_small() {
        let config = SkipGramConfig {
            dim: 8,
            epochs: 2,
            ..SkipGramConfig::default()
        };
        let a = train_skipgram(&corpus(), 22, &[0, 1], config, &|| false).unwrap();
        let b = train_skipgram(&corpus(), 22, &[0, 1], config, &|| false).unwrap();
        assert_eq!(a, b);
        let c = train_skipgram(
            &corpus(),
            22,
            &[0, 1],
            SkipGramConfig { seed: 1, ..config },
            &|| false,
        )
        .unwrap();
        assert_ne!(a, c);
        assert!(a[..16].iter().all(|x| x.abs() <= 0.5 / 8.0));
    }

    #[test]
    fn a_stop_ends_the_training_without_vectors() {
        let config = SkipGramConfig {
            dim: 8,
            epochs: 3,
            ..SkipGramConfig::default()
        };
        assert!(train_skipgram(&corpus(), 22, &[0, 1], config, &|| true).is_none());
        // asked again between texts: a stop in the second epoch ends it too
        let asks = std::cell::Cell::new(0);
        let stop = || {
            asks.set(asks.get() + 1);
            asks.get() > corpus().len().div_ceil(STOP_EVERY)
        };
        assert!(train_skipgram(&corpus(), 22, &[0, 1], config, &stop).is_none());
    }

    #[test]
    fn the_negative_table_follows_counts_to_the_three_quarters() {
        let t = negative_table(&[0, 16, 0, 1]);
        assert_eq!(t.len(), TABLE_SIZE);
        let ones = t.iter().filter(|&&w| w == 1).count() as f64 / TABLE_SIZE as f64;
        assert!((ones - 8.0 / 9.0).abs() < 1e-5, "{ones}");
        assert!(!t.contains(&0) && !t.contains(&2));
    }
}
