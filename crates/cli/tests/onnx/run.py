"""Test helper for tests/onnx.rs: checks an exported model with onnx.checker (full check,
shapes inferred) and runs it in ONNX Runtime on the feeds of a JSON file:
`run.py MODEL FEEDS.json` where FEEDS.json is a list of {input: {"dtype", "shape", "data"}};
prints a list of {output: {"shape", "data"}} (data flattened) as JSON."""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

model_path, feeds_path = sys.argv[1], sys.argv[2]
onnx.checker.check_model(onnx.load(model_path), full_check=True)
options = ort.SessionOptions()
options.intra_op_num_threads = 2
options.log_severity_level = 2
session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
with open(feeds_path, encoding="utf-8") as f:
    feeds = json.load(f)
results = []
for feed in feeds:
    inputs = {
        name: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for name, v in feed.items()
    }
    outs = session.run(names, inputs)
    results.append(
        {n: {"shape": list(o.shape), "data": o.ravel().tolist()} for n, o in zip(names, outs)}
    )
json.dump(results, sys.stdout)
