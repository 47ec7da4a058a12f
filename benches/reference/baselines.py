"""Baselines on the issue's split (train on train_sample.csv, test on test.csv), and
word vectors trained on the training texts only.

- fastText supervised (default settings and 25 epochs, each with and without word bigrams) —
  test accuracy and time;
- TF-IDF (word 1-2-grams, sublinear tf) + logistic regression (scikit-learn) — the same;
- `--vectors OUT.vec`: fastText skip-gram vectors (dim 64) of the training texts,
  tokenized as recur's basic_english, written in the .vec format recur --embeddings reads.

usage: baselines.py DATA_DIR [--vectors OUT.vec] [--seed S]
"""
import argparse
import csv
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../shared/reference"))
from textref import basic_english  # noqa: E402


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(int(r[0]) - 1, " ".join(r[1:])) for r in csv.reader(f)]


def fasttext_runs(train, test, seed):
    import fasttext
    out = {}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for y, t in train:
            f.write(f"__label__{y} {' '.join(basic_english(t))}\n")
        path = f.name
    runs = [
        ("fasttext", {}),
        ("fasttext_bigrams", {"wordNgrams": 2}),
        ("fasttext_e25", {"epoch": 25}),
        ("fasttext_bigrams_e25", {"wordNgrams": 2, "epoch": 25}),
    ]
    for name, kw in runs:
        t0 = time.perf_counter()
        m = fasttext.train_supervised(path, seed=seed, thread=2, verbose=0, **kw)
        secs = time.perf_counter() - t0
        pred = [m.predict(" ".join(basic_english(t)))[0][0] for _, t in test]
        acc = sum(p == f"__label__{y}" for p, (y, _) in zip(pred, test)) / len(test)
        out[name] = {"test_accuracy": acc, "train_seconds": secs}
    os.unlink(path)
    return out


def tfidf_lr(train, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    t0 = time.perf_counter()
    vec = TfidfVectorizer(tokenizer=basic_english, lowercase=False, ngram_range=(1, 2),
                          sublinear_tf=True, token_pattern=None)
    x = vec.fit_transform([t for _, t in train])
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, [y for y, _ in train])
    secs = time.perf_counter() - t0
    acc = (clf.predict(vec.transform([t for _, t in test])) == [y for y, _ in test]).mean()
    return {"tfidf_lr": {"test_accuracy": float(acc), "train_seconds": secs}}


def skipgram_vectors(train, out, seed):
    import fasttext
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for _, t in train:
            f.write(" ".join(basic_english(t)) + "\n")
        path = f.name
    # one thread: fastText is deterministic only then
    m = fasttext.train_unsupervised(path, model="skipgram", dim=64, epoch=10, minCount=1,
                                    thread=1, verbose=0)
    words = m.get_words()
    with open(out, "w") as f:
        f.write(f"{len(words)} 64\n")
        for w in words:
            f.write(w + " " + " ".join(f"{x:.5f}" for x in m.get_word_vector(w)) + "\n")
    os.unlink(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--vectors")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    train = read(os.path.join(a.data, "train_sample.csv"))
    test = read(os.path.join(a.data, "test.csv"))
    if a.vectors:
        skipgram_vectors(train, a.vectors, a.seed)
        return
    res = fasttext_runs(train, test, a.seed)
    res.update(tfidf_lr(train, test))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
