"""The Python reference for the data row of `cargo xtask bench`: read a labelled file (CSV
with the csv module, JSONL with the json module), tokenize every text with torchtext's
basic_english (`textref.basic_english`, rule for rule), count the tokens into a
collections.Counter, build the vocabulary (`textref.Vocab`) and the sorted class list.
Prints one JSON line: {"format": ..., "rows": ..., "vocab": ..., "seconds": [...]}.

usage: data_ref.py TEXTREF_DIR FILE csv|jsonl RUNS
"""
import collections
import csv
import json
import sys
import time

sys.path.insert(0, sys.argv[1])
from textref import Vocab, basic_english  # noqa: E402


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(r[0], " ".join(r[1:])) for r in csv.reader(f)]


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                rows.append((str(o["label"]), o["text"]))
    return rows


def once(path, fmt):
    rows = read_csv(path) if fmt == "csv" else read_jsonl(path)
    counter = collections.Counter()
    for _, text in rows:
        counter.update(basic_english(text))
    vocab = Vocab(counter)
    classes = sorted({label for label, _ in rows})
    return len(rows), len(vocab), len(classes)


def main():
    path, fmt, runs = sys.argv[2], sys.argv[3], int(sys.argv[4])
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        n, v, _ = once(path, fmt)
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({"format": fmt, "rows": n, "vocab": v, "seconds": seconds}))


if __name__ == "__main__":
    main()
