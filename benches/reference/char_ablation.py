"""What character n-grams of words are worth to the TF-IDF + LR baseline on small and large
training sets, and whether recur's form of them keeps it: the baseline (word 1-2-grams,
sublinear TF-IDF, C = 10) beside the same logistic regression with

- `doc char`: scikit-learn's `char_wb` 3-5-grams of the whole text as a second TF-IDF block,
  over every word, or only over the words in the vocabulary (seen `min count` times);
- `word char` (recur's bag): each vocabulary word's own 3-5-gram TF-IDF at unit norm `c_w`,
  and a text's n-gram features `sum_w a_w c_w` (`a_w`: the word's weight in the text's word
  TF-IDF), so each n-gram's row is reached through the words that hold it;

on the first N rows of the fixed shuffle `cargo xtask quality --sizes` cuts.

usage: char_ablation.py TRAIN.csv TEST.csv [--sizes N ...]
Prints one line per size and variant: rows, variant, test accuracy (%).
"""
import argparse
from collections import Counter

from idf_ablation import first_of_shuffle
from quality import read


def min_count(rows):
    """The strong preset's pruning at this many training rows (`sizing.rs`)."""
    return 3 if rows >= 5000 else 2 if rows >= 1500 else 1


def main():
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10429])
    a = ap.parse_args()
    train, test = read(a.train), read(a.test)
    y_test = np.array([y for y, _ in test])

    def score(x_train, y_train, x_test):
        clf = LogisticRegression(max_iter=2000, C=10.0).fit(x_train, y_train)
        return 100 * (clf.predict(x_test) == y_test).mean()

    for n in a.sizes:
        rows = first_of_shuffle(train, n)
        texts, labels = [t for _, t in rows], [y for y, _ in rows]
        tests = [t for _, t in test]
        counts = Counter(w for t in texts for w in t.split())
        m = min_count(n)
        keep = lambda t: " ".join(w for w in t.split() if counts[w] >= m)
        words = lambda: TfidfVectorizer(tokenizer=str.split, lowercase=False, token_pattern=None,
                                        ngram_range=(1, 2), sublinear_tf=True)
        chars = lambda: TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False,
                                        sublinear_tf=True)
        w = words()
        xa, xb = w.fit_transform(texts), w.transform(tests)
        print(f"{n}\tword 1-2-grams (TF-IDF + LR)\t{score(xa, labels, xb):.2f}", flush=True)
        for name, f in [("every word", lambda t: t), ("vocabulary words", keep)]:
            c = chars()
            ca, cb = c.fit_transform([f(t) for t in texts]), c.transform([f(t) for t in tests])
            acc = score(hstack([xa, ca]).tocsr(), labels, hstack([xb, cb]).tocsr())
            print(f"{n}\t+ doc char, {name}\t{acc:.2f}", flush=True)
        # recur's form: the vocabulary's words, their n-grams reached through the words
        w = words()
        xa, xb = w.fit_transform([keep(t) for t in texts]), w.transform([keep(t) for t in tests])
        print(f"{n}\tword 1-2-grams, vocabulary words\t{score(xa, labels, xb):.2f}", flush=True)
        names = w.get_feature_names_out()
        uni = np.array([i for i, s in enumerate(names) if " " not in s])
        c = chars().fit([keep(t) for t in texts])
        per_word = c.transform([names[i] for i in uni])
        fa, fb = xa[:, uni] @ per_word, xb[:, uni] @ per_word
        acc = score(hstack([xa, fa]).tocsr(), labels, hstack([xb, fb]).tocsr())
        print(f"{n}\t+ word char (recur's bag)\t{acc:.2f}", flush=True)


if __name__ == "__main__":
    main()
