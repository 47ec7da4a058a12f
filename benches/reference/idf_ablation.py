"""What IDF weighting is worth to a linear bag of 1-2-grams on small training sets: the
TF-IDF + LR baseline of `cargo xtask quality` (sublinear tf, IDF, L2 norm, C = 10) beside
the same logistic regression on an L2-normalised bag without IDF (counts, or presence),
which is what recur's n-gram bag (`--ngram-buckets`) computes, on the first N rows of the
fixed shuffle `cargo xtask quality --sizes` cuts.

usage: idf_ablation.py TRAIN.csv TEST.csv [--sizes N ...]
Prints one line per size and variant: rows, variant, test accuracy (%).
"""
import argparse

from quality import read


def first_of_shuffle(rows, n):
    """The first `n` of `rows` after xtask's fixed Fisher-Yates shuffle (splitmix64)."""
    mask = (1 << 64) - 1
    rows = list(rows)
    state = 0x5EED
    for i in range(len(rows) - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        j = z % (i + 1)
        rows[i], rows[j] = rows[j], rows[i]
    return rows[:n]


def main():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 2500])
    a = ap.parse_args()
    # blank lines are skipped by both this reader and xtask's cut
    train, test = read(a.train), read(a.test)
    variants = {
        "tf-idf (sublinear), L2": dict(sublinear_tf=True),
        "counts, L2, no idf": dict(use_idf=False),
        "presence, L2, no idf": dict(use_idf=False, binary=True),
    }
    for n in a.sizes:
        rows = first_of_shuffle(train, n)
        for name, opts in variants.items():
            vec = TfidfVectorizer(tokenizer=str.split, lowercase=False, ngram_range=(1, 2),
                                  token_pattern=None, **opts)
            x = vec.fit_transform([t for _, t in rows])
            clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, [y for y, _ in rows])
            pred = clf.predict(vec.transform([t for _, t in test]))
            acc = sum(p == y for p, (y, _) in zip(pred, test)) / len(test)
            print(f"{n}\t{name}\t{100 * acc:.2f}", flush=True)


if __name__ == "__main__":
    main()
