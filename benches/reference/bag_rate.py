"""How fast recur's TF-IDF bag must learn beside the recurrent part (`BAG_GAIN` in
crates/layers/src/ngram_bag.rs): logistic regression on the same TF-IDF features
(1-2-grams, sublinear tf, IDF, L2 norm) trained as recur trains the bag — Adam from zero,
the strong preset's batch, rate, epochs and cosine schedule sized for the rows — with the
features scaled by a gain (under Adam: the rate times the gain), beside scikit-learn's
logistic regression (C = 10) fitted to convergence. Each cut of the training file (the
first N rows of `cargo xtask quality --sizes`'s shuffle) holds out a tenth for validation,
which chooses; test accuracy is reported beside it.

usage: bag_rate.py TRAIN.csv TEST.csv [--sizes N ...] [--gains G ...]
Prints one line per size and model: rows, model, validation accuracy (%), test accuracy (%).
"""
import argparse
import math

import numpy as np

from idf_ablation import first_of_shuffle
from quality import read


def sized(rows):
    """The strong preset's batch, rate and epochs for `rows` training rows (sizing.rs)."""
    batch = int(min(128, max(16, 2 ** round(math.log2(max(rows, 1) / 64)))))
    lr = 8e-3 * math.sqrt(batch / 128)
    epochs = int(min(12, max(3, round(3 * math.sqrt(9386 / rows)))))
    return batch, lr, epochs


def adam_fit(x, y, classes, gain, seed=0):
    """Linear logits `gain · x W + b` trained from zero with Adam, the sized schedule."""
    import torch

    def sparse(m):
        m = m.tocoo()
        idx = np.vstack([m.row, m.col])
        return torch.sparse_coo_tensor(idx, m.data.astype(np.float32), m.shape).coalesce()

    n = x.shape[0]
    batch, lr, epochs = sized(n)
    torch.manual_seed(seed)
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    steps, k = epochs * math.ceil(n / batch), 0
    for e in range(epochs):
        order = np.random.default_rng(seed + e).permutation(n)
        for s in range(0, n, batch):
            i = order[s:s + batch]
            logits = gain * torch.sparse.mm(sparse(x[i]), w) + b
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y[i]))
            opt.zero_grad()
            loss.backward()
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * k / steps))
            opt.step()
            k += 1

    def predict(m):
        with torch.no_grad():
            return (gain * torch.sparse.mm(sparse(m), w) + b).argmax(1).numpy()

    return predict


def main():
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    torch.set_num_threads(2)
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 2500, 10429])
    ap.add_argument("--gains", type=float, nargs="+", default=[1, 4, 8, 16])
    a = ap.parse_args()
    train, test = read(a.train), read(a.test)
    labels = sorted({y for y, _ in train})
    index = {l: i for i, l in enumerate(labels)}
    for n in a.sizes:
        rows = first_of_shuffle(train, n)
        order = np.random.default_rng(0).permutation(len(rows))
        held = max(len(rows) // 10, 1)
        fit = [rows[i] for i in order[held:]]
        valid = [rows[i] for i in order[:held]]
        vec = TfidfVectorizer(tokenizer=str.split, lowercase=False, ngram_range=(1, 2),
                              token_pattern=None, sublinear_tf=True)
        x = vec.fit_transform([t for _, t in fit])
        y = np.array([index[l] for l, _ in fit])
        xv, yv = vec.transform([t for _, t in valid]), np.array([index[l] for l, _ in valid])
        xt, yt = vec.transform([t for _, t in test]), np.array([index[l] for l, _ in test])
        clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, y)
        acc = lambda p, t: 100 * float((p == t).mean())
        print(f"{n}\tscikit-learn LR\t{acc(clf.predict(xv), yv):.2f}\t{acc(clf.predict(xt), yt):.2f}",
              flush=True)
        for g in a.gains:
            predict = adam_fit(x, y, len(labels), g)
            print(f"{n}\tAdam, gain {g:g}\t{acc(predict(xv), yv):.2f}\t{acc(predict(xt), yt):.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
