"""The baselines of `cargo xtask quality` on a split given as two labelled CSV files
(label in the first column, the text in the others, joined; any label names):

- fastText supervised with word bigrams, 25 epochs, trained on the whole training file;
- fastText's autotune (`autotuneValidationFile`, `autotuneDuration`): trained on the
  training file less a stratified tenth, which is its validation file, within the budget;
- TF-IDF (word 1-2-grams, sublinear tf) + logistic regression (scikit-learn), on the
  whole training file.

Texts are tokenized as recur's basic_english. Prints one JSON object per model:
{"model", "test_accuracy", "seconds"} (seconds: training and predicting the test file); a
model that fails has "test_accuracy": null and its "error" (fastText's autotune can end in
"Encountered NaN" on a few hundred rows).

usage: quality.py TRAIN.csv TEST.csv [--budget SECONDS] [--seed S] [--only NAME,...]
"""
import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../shared/reference"))
from textref import basic_english  # noqa: E402


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if len(r) >= 2]
    return [(r[0].strip(), " ".join(basic_english(" ".join(r[1:])))) for r in rows]


def carve(rows, fraction, seed):
    """A stratified `fraction` of `rows` held out, drawn from `seed`."""
    by_label = {}
    for i, (y, _) in enumerate(rows):
        by_label.setdefault(y, []).append(i)
    rng = random.Random(seed)
    held = set()
    for idx in by_label.values():
        rng.shuffle(idx)
        held.update(idx[: max(1, round(len(idx) * fraction))] if len(idx) > 1 else [])
    keep = [r for i, r in enumerate(rows) if i not in held]
    return keep, [rows[i] for i in sorted(held)]


def fasttext_file(rows):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    for y, t in rows:
        label = y.replace(" ", "_")
        f.write(f"__label__{label} {t}\n")
    f.close()
    return f.name


def accuracy(model, test):
    pred = model.predict([t for _, t in test])[0]
    return sum(p[0] == "__label__" + y.replace(" ", "_") for p, (y, _) in zip(pred, test)) / len(
        test
    )


def fasttext_bigrams(train, test, seed, budget):
    import fasttext
    path = fasttext_file(train)
    t0 = time.perf_counter()
    m = fasttext.train_supervised(path, seed=seed, thread=2, verbose=0, epoch=25, wordNgrams=2)
    acc = accuracy(m, test)
    os.unlink(path)
    return acc, time.perf_counter() - t0


def fasttext_autotune(train, test, seed, budget):
    import fasttext
    part, valid = carve(train, 0.1, seed)
    path, vpath = fasttext_file(part), fasttext_file(valid)
    t0 = time.perf_counter()
    m = fasttext.train_supervised(
        path, seed=seed, thread=2, verbose=0, autotuneValidationFile=vpath,
        autotuneDuration=int(budget),
    )
    acc = accuracy(m, test)
    os.unlink(path)
    os.unlink(vpath)
    return acc, time.perf_counter() - t0


def tfidf_lr(train, test, seed, budget):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    t0 = time.perf_counter()
    vec = TfidfVectorizer(tokenizer=str.split, lowercase=False, ngram_range=(1, 2),
                          sublinear_tf=True, token_pattern=None)
    x = vec.fit_transform([t for _, t in train])
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, [y for y, _ in train])
    pred = clf.predict(vec.transform([t for _, t in test]))
    acc = sum(p == y for p, (y, _) in zip(pred, test)) / len(test)
    return acc, time.perf_counter() - t0


MODELS = {
    "fasttext_bigrams": fasttext_bigrams,
    "fasttext_autotune": fasttext_autotune,
    "tfidf_lr": tfidf_lr,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=",".join(MODELS))
    a = ap.parse_args()
    train, test = read(a.train), read(a.test)
    for name in a.only.split(","):
        t0 = time.perf_counter()
        try:
            acc, secs = MODELS[name](train, test, a.seed, a.budget)
            row = {"model": name, "test_accuracy": acc, "seconds": secs}
        except Exception as e:  # a baseline that fails is reported, not fatal
            row = {"model": name, "test_accuracy": None, "seconds": time.perf_counter() - t0,
                   "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
