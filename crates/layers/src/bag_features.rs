//! The features of the TF-IDF bag ([`NgramBag`](crate::NgramBag)): each text's distinct
//! words and hashed word pairs with their counts ([`bag_features`], fastText's pair hash
//! [`bigram_bucket`]), and their sublinear TF-IDF weights at unit norm ([`tf_idf_weights`]).
//! Plain functions of token ids, without parameters.

/// fastText's multiplier of word-pair hashes.
const PAIR_MULTIPLIER: u64 = 116_049_371;

/// The factor on the bag's normalised features. Under Adam it is the bag learning at this
/// many times the recurrent part's rate: a linear model of sparse features needs larger
/// steps than the network to converge in the same epochs (measured against scikit-learn's
/// logistic regression on the same features: `benches/reference/bag_rate.py`).
pub const BAG_GAIN: f64 = 8.0;

/// The bucket of the word pair `(a, b)` among `buckets`: `(a · 116049371 + b) mod buckets`
/// (fastText's pair hash), exact in 64-bit integers for any vocabulary recur builds, so
/// that any runtime with integer multiply, add and modulo computes the same bucket.
pub fn bigram_bucket(a: usize, b: usize, buckets: usize) -> usize {
    let h = (a as u64)
        .wrapping_mul(PAIR_MULTIPLIER)
        .wrapping_add(b as u64);
    (h % buckets.max(1) as u64) as usize
}

/// The distinct features of a padded batch and their counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BagFeatures {
    /// `[B, W]` row-major: each text's distinct feature rows in increasing order (words
    /// below `V`, pair buckets offset by `V`), then the padding row `V + N`.
    pub rows: Vec<usize>,
    /// `[B, W]`: how often each feature occurs in its text (0 for padding).
    pub counts: Vec<usize>,
    /// `W`, the most distinct features of a text in the batch (at least 1).
    pub width: usize,
}

/// The features of one text (`tokens`, its ids) over a vocabulary of `vocab` and `buckets`
/// pair buckets: its words and its pairs' buckets offset by `vocab`, sorted, with repeats.
pub(crate) fn text_features(tokens: &[usize], vocab: usize, buckets: usize) -> Vec<usize> {
    let mut f: Vec<usize> = tokens.to_vec();
    f.extend(
        tokens
            .windows(2)
            .map(|p| vocab + bigram_bucket(p[0], p[1], buckets)),
    );
    f.sort_unstable();
    f
}

/// `(feature, count)` of a sorted feature list.
pub(crate) fn runs(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &f in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == f => *n += 1,
            _ => out.push((f, 1)),
        }
    }
    out
}

/// The bag's word and pair features of a padded batch (`tokens [B, T]`, each row's first
/// `lengths[b]` tokens) over a vocabulary of `vocab` and `buckets` pair buckets, padded with
/// the row `pad`.
pub fn bag_features(
    tokens: &[usize],
    lengths: &[usize],
    vocab: usize,
    buckets: usize,
    pad: usize,
) -> BagFeatures {
    let b = lengths.len().max(1);
    let t = tokens.len() / b;
    let texts: Vec<Vec<(usize, usize)>> = lengths
        .iter()
        .enumerate()
        .map(|(r, &len)| {
            runs(&text_features(
                &tokens[r * t..r * t + len.min(t)],
                vocab,
                buckets,
            ))
        })
        .collect();
    let (rows, counts, width) = padded(&texts, pad, 0);
    BagFeatures {
        rows,
        counts,
        width,
    }
}

/// Each text's `(row, value)` pairs as `[B, W]` rows and values, each text filled to the
/// longest `W` (at least 1) with the row `pad` and the value `zero`.
pub(crate) fn padded<T: Copy>(
    texts: &[Vec<(usize, T)>],
    pad: usize,
    zero: T,
) -> (Vec<usize>, Vec<T>, usize) {
    let width = texts.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut rows = vec![pad; texts.len() * width];
    let mut values = vec![zero; texts.len() * width];
    for (t, text) in texts.iter().enumerate() {
        for (j, &(r, v)) in text.iter().enumerate() {
            rows[t * width + j] = r;
            values[t * width + j] = v;
        }
    }
    (rows, values, width)
}

/// `(1 + ln count) · idf` of each feature (0 where `count` is 0), scaled to L2 norm `gain`.
pub(crate) fn sublinear_at_norm(
    counts: impl Iterator<Item = usize>,
    idf: &[f64],
    gain: f64,
) -> Vec<f64> {
    let mut w: Vec<f64> = counts
        .zip(idf)
        .map(|(n, &d)| {
            if n == 0 {
                0.0
            } else {
                (1.0 + (n as f64).ln()) * d
            }
        })
        .collect();
    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        w.iter_mut().for_each(|x| *x *= gain / norm);
    }
    w
}

/// Each feature's weight in its text: `(1 + ln count) · idf`, scaled to unit L2 norm per
/// text (`counts`, `idf`: `[B, W]`, 0 for padding), times [`BAG_GAIN`].
pub fn tf_idf_weights(counts: &[usize], idf: &[f64], width: usize) -> Vec<f64> {
    let width = width.max(1);
    counts
        .chunks(width)
        .zip(idf.chunks(width))
        .flat_map(|(c, d)| sublinear_at_norm(c.iter().copied(), d, BAG_GAIN))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_has_its_distinct_words_and_pairs_with_their_counts() {
        // text 0: 1 2 1 2 (words 1×2, 2×2; pairs (1,2)×2, (2,1)×1); text 1: 4 5
        let f = bag_features(&[1, 2, 1, 2, 4, 5, 0, 0], &[4, 2], 10, 7, 17);
        let (a, b) = (10 + bigram_bucket(1, 2, 7), 10 + bigram_bucket(2, 1, 7));
        let mut want0 = vec![(1, 2), (2, 2)];
        if a == b {
            want0.push((a, 3));
        } else {
            want0.extend([
                (a.min(b), if a < b { 2 } else { 1 }),
                (a.max(b), if a < b { 1 } else { 2 }),
            ]);
        }
        assert_eq!(f.width, want0.len());
        let got0: Vec<(usize, usize)> = f.rows[..f.width]
            .iter()
            .zip(&f.counts[..f.width])
            .map(|(&r, &n)| (r, n))
            .collect();
        assert_eq!(got0, want0);
        assert_eq!(&f.rows[f.width..f.width + 2], &[4, 5]);
        assert_eq!(f.rows[f.width + 2], 10 + bigram_bucket(4, 5, 7));
        assert!(f.rows[f.width + 3..].iter().all(|&r| r == 17));
        assert!(f.counts[f.width + 3..].iter().all(|&n| n == 0));
        assert_ne!(
            (0..50)
                .map(|a| bigram_bucket(a, 1, 1 << 20))
                .collect::<Vec<_>>(),
            (0..50)
                .map(|a| bigram_bucket(1, a, 1 << 20))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn weights_are_sublinear_tf_times_idf_at_unit_norm() {
        let w = tf_idf_weights(&[1, 3, 0, 2, 0, 0], &[2.0, 1.0, 0.0, 1.5, 0.0, 0.0], 3);
        let raw = [2.0, 1.0 + 3f64.ln()];
        let norm = (raw[0] * raw[0] + raw[1] * raw[1]).sqrt();
        assert!((w[0] - BAG_GAIN * raw[0] / norm).abs() < 1e-12);
        assert!((w[1] - BAG_GAIN * raw[1] / norm).abs() < 1e-12);
        assert_eq!(w[2], 0.0);
        assert!((w[3] - BAG_GAIN).abs() < 1e-12);
        assert_eq!(&w[4..], &[0.0, 0.0]);
    }
}
