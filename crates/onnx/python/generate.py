#!/usr/bin/env python3
"""Generates text with a language model exported by `recur export --onnx`, using only the
exported files and ONNX Runtime (no recur installed): `pip install onnxruntime numpy`, then

    python3 generate.py lm.onnx --prompt "the market" --words 30
    python3 generate.py lm.onnx --prompt "the market" --words 30 --temperature 0.8 --top-k 40

The prompt is read as recur reads it (recur_text.py, from lm.onnx.json), after the
end-of-text token (the sidecar's pad_id), and runs through the model once; then each token
is drawn from the softmax of logits / temperature (over the top-k when given; --greedy takes
the most likely) and fed back with the state the model returned. The draws use NumPy's
generator, so a seed repeats a text here, not recur's text for the same seed; --greedy
gives what `recur generate` gives as its temperature approaches 0."""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recur_text import TextReader  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the .onnx file (its sidecar is <model>.json)")
    ap.add_argument("--prompt", default="", help="text to continue")
    ap.add_argument("--words", type=int, default=50, help="tokens to generate")
    ap.add_argument("--greedy", action="store_true", help="take the most likely token")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-k", type=int, default=0, help="draw from the k most likely (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ids", action="store_true", help="print the generated ids as JSON")
    args = ap.parse_args()
    if not args.greedy and not args.temperature > 0:
        ap.error("--temperature must be positive (or give --greedy)")

    with open(args.model + ".json", encoding="utf-8") as f:
        sidecar = json.load(f)
    reader = TextReader(sidecar)
    names = {io["name"] for io in sidecar["inputs"]}
    h_shape = next(io["shape"] for io in sidecar["inputs"] if io["name"] == "h")
    layers, hidden = int(h_shape[0]), int(h_shape[2])
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    eos = sidecar["pad_id"]

    state = {"h": np.zeros((layers, 1, hidden), dtype=np.float32)}
    if "c" in names:
        state["c"] = np.zeros((layers, 1, hidden), dtype=np.float32)
    ids = [eos] + [reader.ids.get(t, reader.unk_id) for t in reader.tokens(args.prompt)]
    rng = np.random.default_rng(args.seed)
    out = []
    feed = np.array([ids], dtype=np.int64)
    for _ in range(args.words):
        outputs = session.run(None, {"ids": feed, **state})
        logits, state["h"] = outputs[0][0, -1].astype(np.float64), outputs[1]
        if "c" in names:
            state["c"] = outputs[2]
        if args.greedy:
            nxt = int(np.argmax(logits))
        else:
            keep = np.argsort(-logits, kind="stable")
            if args.top_k:
                keep = keep[: args.top_k]
            z = (logits[keep] - logits[keep].max()) / args.temperature
            p = np.exp(z)
            nxt = int(keep[rng.choice(len(keep), p=p / p.sum())])
        out.append(nxt)
        feed = np.array([[nxt]], dtype=np.int64)

    if args.ids:
        print(json.dumps(out))
        return
    chars = sidecar["tokenizer"]["name"] == "char"
    text, first = args.prompt, not args.prompt
    for i in out:
        token = reader.vocab[i]
        if i == eos:
            text += "\n"
        elif chars or first:
            text += token
        else:
            text += " " + token
        first = i == eos
    print(text)


if __name__ == "__main__":
    main()
