#!/usr/bin/env python3
"""Classifies text with a model exported by `recur export --onnx`, using only the exported
files and ONNX Runtime (no recur installed): `pip install onnxruntime numpy`, then

    python3 classify.py model.onnx "Stocks rally as the bank cuts rates"
    python3 classify.py model.onnx --file texts.txt --json     # one text per line

Each text is read as recur reads it (recur_text.py: the tokenizer's rules, vocabulary,
unknown id and token limit from model.onnx.json), batches are right-padded with the pad id,
and each line printed holds the class and its probability (with --json: every probability),
the numbers `recur predict` gives. A text with no token is reported, not classified."""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recur_text import TextReader  # noqa: E402


def batches(ids, size, pad_id):
    """Yields (positions, ids [B, T] int64, lengths [B] int64) for runs of `size` texts."""
    for start in range(0, len(ids), size):
        rows = [(i, r) for i, r in enumerate(ids[start : start + size], start) if r]
        if not rows:
            continue
        longest = max(len(r) for _, r in rows)
        batch = np.full((len(rows), longest), pad_id, dtype=np.int64)
        for k, (_, r) in enumerate(rows):
            batch[k, : len(r)] = r
        lengths = np.array([len(r) for _, r in rows], dtype=np.int64)
        yield [i for i, _ in rows], batch, lengths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the .onnx file (its sidecar is <model>.json)")
    ap.add_argument("texts", nargs="*", help="texts to classify")
    ap.add_argument("--file", help="read texts from this file, one per line (- for stdin)")
    ap.add_argument(
        "--json-lines",
        action="store_true",
        help="each line of --file is a JSON string (texts with newlines in them)",
    )
    ap.add_argument(
        "--batch-size",
        type=int,
        default=1,
        help="texts run together (default 1: each alone, as recur predict computes; a packed "
        "model gives the same numbers at any size, a padded one sees its batch's padding)",
    )
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: all)")
    ap.add_argument("--json", action="store_true", help="print JSON lines with every probability")
    ap.add_argument("--time", action="store_true", help="print texts/s to stderr")
    args = ap.parse_args()

    reader = TextReader.load(args.model + ".json")
    with open(args.model + ".json", encoding="utf-8") as f:
        classes = json.load(f)["classes"]
    texts = list(args.texts)
    if args.file:
        f = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        for line in f:
            line = line.rstrip("\n")
            texts.append(json.loads(line) if args.json_lines else line)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])

    started = time.perf_counter()
    ids = [reader.encode(t) for t in texts]
    probabilities = [None] * len(texts)
    for positions, batch, lengths in batches(ids, max(1, args.batch_size), reader.pad_id):
        (p,) = session.run(["probabilities"], {"ids": batch, "lengths": lengths})
        for k, i in enumerate(positions):
            probabilities[i] = p[k]
    seconds = time.perf_counter() - started
    if args.time:
        print(f"{len(texts) / seconds:.0f} texts/s ({len(texts)} in {seconds:.2f} s)", file=sys.stderr)

    out = sys.stdout
    for text, p in zip(texts, probabilities):
        if p is None:
            if args.json:
                out.write(json.dumps({"error": "the text has no token"}) + "\n")
            else:
                out.write(f"-\t-\t{text}\t(no token)\n")
            continue
        best = int(np.argmax(p))
        if args.json:
            record = {
                "class": classes[best],
                "probability": float(p[best]),
                "probabilities": [float(x) for x in p],
            }
            out.write(json.dumps(record) + "\n")
        else:
            out.write(f"{classes[best]}\t{p[best]:.4f}\t{text}\n")


if __name__ == "__main__":
    main()
