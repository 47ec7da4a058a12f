"""The reference side of `cargo xtask bench --predict`: fastText (word bigrams, trained on
the training file tokenized as recur's basic_english) classifying a file of texts with its
Python `predict`, tokenization included, and, with --onnx, ONNX Runtime on a model recur
exported (crates/onnx/python/classify.py's reading of text). Prints one JSON line:
texts/s and peak memory.

usage: predict_ref.py fasttext-train TRAIN.csv MODEL.bin
       predict_ref.py fasttext MODEL.bin TEXTS.csv [--threads 2]
       predict_ref.py onnx MODEL.onnx TEXTS.csv [--threads 2] [--batch-size 64]
       predict_ref.py recur-python RUN TEXTS.csv
       predict_ref.py dask RUN TEXTS.csv --workers N

`recur-python` is the recur Python package's `predict_proba` on the whole list (it needs
the package: `pip install ./crates/python` into this Python); `dask` classifies the texts
on a local Dask cluster of N single-threaded worker processes, one recur model each
(recur.scale), cluster start-up excluded.

Training is a process of its own, so the peak memory printed is the predicting process's.
"""
import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../shared/reference"))
sys.path.insert(0, os.path.join(HERE, "../../crates/onnx/python"))


def texts_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [" ".join(r[1:]) for r in csv.reader(f)]


def fasttext_train(args):
    import fasttext
    from textref import basic_english

    with open(args.model, newline="", encoding="utf-8") as f:
        rows = [(r[0], " ".join(r[1:])) for r in csv.reader(f)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for y, t in rows:
            f.write(f"__label__{y} {' '.join(basic_english(t))}\n")
        path = f.name
    model = fasttext.train_supervised(path, wordNgrams=2, thread=args.threads, verbose=0, seed=1)
    os.unlink(path)
    model.save_model(args.texts)
    print(json.dumps({"model": args.texts, "bytes": os.path.getsize(args.texts)}))


def fasttext_side(args):
    import fasttext
    from textref import basic_english

    model = fasttext.load_model(args.model)
    texts = texts_of(args.texts)
    started = time.perf_counter()
    labels, _ = model.predict([" ".join(basic_english(t)) for t in texts])
    seconds = time.perf_counter() - started
    assert len(labels) == len(texts)
    return len(texts), seconds


def onnx_side(args):
    import numpy as np
    import onnxruntime as ort
    from recur_text import TextReader

    reader = TextReader.load(args.model + ".json")
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    texts = texts_of(args.texts)
    started = time.perf_counter()
    ids = [reader.encode(t) for t in texts]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    for start in range(0, len(order), args.batch_size):
        rows = [ids[i] for i in order[start : start + args.batch_size]]
        batch = np.full((len(rows), len(rows[0])), reader.pad_id, dtype=np.int64)
        for k, r in enumerate(rows):
            batch[k, : len(r)] = r
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        session.run(["probabilities"], {"ids": batch, "lengths": lengths})
    seconds = time.perf_counter() - started
    return len(texts), seconds


def recur_python_side(args):
    import recur

    model = recur.load(args.model)
    texts = texts_of(args.texts)
    started = time.perf_counter()
    probs = model.predict_proba(texts)
    seconds = time.perf_counter() - started
    assert probs.shape[0] == len(texts)
    return len(texts), seconds


def load_model(run):
    """Loads the run in a worker (kept there by recur.scale); returns nothing to send back."""
    from recur.scale import model_for

    model_for(run)


def dask_side(args):
    import dask.bag as db
    import distributed
    from recur.scale import classify_partition

    texts = texts_of(args.texts)
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                  processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            # each worker loads the model before the clock starts
            client.run(load_model, args.model)
            bag = db.from_sequence(texts, npartitions=8 * args.workers)
            started = time.perf_counter()
            classes = bag.map_partitions(classify_partition, args.model).compute()
            seconds = time.perf_counter() - started
    assert len(classes) == len(texts)
    return len(texts), seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("side",
                    choices=["fasttext-train", "fasttext", "onnx", "recur-python", "dask"])
    ap.add_argument("model", help="fasttext-train: the training CSV; else the model file")
    ap.add_argument("texts", help="the texts (CSV, label first); fasttext-train: the model out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    if args.side == "fasttext-train":
        return fasttext_train(args)
    sides = {"fasttext": fasttext_side, "onnx": onnx_side, "recur-python": recur_python_side,
             "dask": dask_side}
    n, seconds = sides[args.side](args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"texts": n, "seconds": seconds, "texts_per_s": n / seconds,
                      "peak_rss_kb": peak}))


if __name__ == "__main__":
    main()
