"""Regenerates the PyTorch goldens of tests/golden/{cells,rnn,packing,classifiers,text} and
manifest.json (the format is in README.md; tests/golden/train/make.py and
benches/reference/word_lm.py --golden make the train/ and lm/ folders).

    ~/.torchref/bin/python tests/golden/make.py [--out DIR] [--data-dir DIR] [--only FOLDER]

`cargo xtask goldens` runs every generator; `cargo xtask goldens --check` regenerates into a
scratch folder and fails on any byte that differs from the tracked files.

Reproducibility: every random case seeds torch with `crc32(case name)`, so adding or removing a
case never changes another; PyTorch runs on one thread with its portable (non-vectorised)
kernels and MKL's compatible code path (set below, before torch is imported), so the bytes do
not depend on the CPU the generator runs on. Every float is float64.
"""
import argparse
import collections
import csv
import hashlib
import json
import os
import re
import zlib

os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn.utils.rnn import (  # noqa: E402
    pack_padded_sequence,
    pad_packed_sequence,
    pad_sequence,
)

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


def t(x):
    """A tensor as the golden encoding `{shape, data}` (row-major)."""
    if x is None:
        return None
    x = x.detach()
    return {"shape": list(x.shape), "data": x.reshape(-1).tolist()}


def seed(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def write(out, folder, name, obj):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    with open(os.path.join(out, folder, f"{name}.json"), "w") as f:
        json.dump(obj, f)


def weighted_loss(pairs):
    """`sum(out * W)` over (output, weights) pairs, skipping absent outputs."""
    return sum((o * w).sum() for o, w in pairs if o is not None)


# ---------------------------------------------------------------------------------- cells

CELLS = {"rnncell_tanh": ("RNNCell", "tanh"), "rnncell_relu": ("RNNCell", "relu"),
         "lstmcell": ("LSTMCell", None), "grucell": ("GRUCell", None)}


def cell_case(prefix, bias, with_hx):
    name = f"{prefix}_{'bias' if bias else 'nobias'}_{'hx' if with_hx else 'nohx'}"
    seed(name)
    kind, nl = CELLS[prefix]
    inp, hid, batch = 5, 4, 3
    if kind == "RNNCell":
        cell = nn.RNNCell(inp, hid, bias=bias, nonlinearity=nl)
    else:
        cell = getattr(nn, kind)(inp, hid, bias=bias)
    lstm = kind == "LSTMCell"
    x = torch.randn(batch, inp, requires_grad=True)
    hx = torch.randn(batch, hid, requires_grad=True) if with_hx else None
    cx = torch.randn(batch, hid, requires_grad=True) if with_hx and lstm else None
    if lstm:
        h_out, c_out = cell(x, (hx, cx)) if with_hx else cell(x)
    else:
        h_out, c_out = cell(x, hx), None
    w_h = torch.randn_like(h_out)
    w_c = torch.randn_like(c_out) if lstm else None
    loss = weighted_loss([(h_out, w_h), (c_out, w_c)])
    loss.backward()
    params = dict(cell.named_parameters())
    grads = {"input": t(x.grad), "hx": t(hx.grad) if hx is not None else None,
             "cx": t(cx.grad) if cx is not None else None}
    grads.update({k: t(p.grad) for k, p in params.items()})
    return name, {
        "case": name, "cell": kind, "nonlinearity": nl, "input_size": inp, "hidden_size": hid,
        "bias": bias, "weights": {k: t(p) for k, p in params.items()}, "input": t(x),
        "hx": t(hx), "cx": t(cx), "h_out": t(h_out), "c_out": t(c_out),
        "loss_weights": {"h_out": t(w_h), "c_out": t(w_c)}, "loss": loss.item(), "grads": grads,
    }


def cells(out):
    n = 0
    for prefix in CELLS:
        for bias in (True, False):
            for with_hx in (True, False):
                write(out, "cells", *cell_case(prefix, bias, with_hx))
                n += 1
    return n


# ------------------------------------------------------------------------------------ rnn

MODULES = {"rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU"}
LENGTHS = [4, 6, 1]
SHORT_LENGTHS = [4, 2, 3]


def rnn_case(name, prefix, layers, bi, packed, with_h0, bias=True, proj=0, lengths=LENGTHS):
    seed(name)
    module = MODULES[prefix]
    inp, hid, batch, steps = 5, 4, 3, 6
    kw = dict(num_layers=layers, bias=bias, batch_first=True, bidirectional=bi)
    if module.startswith("RNN"):
        rnn = nn.RNN(inp, hid, nonlinearity=module[4:].lower(), **kw)
    elif module == "LSTM":
        rnn = nn.LSTM(inp, hid, proj_size=proj, **kw)
    else:
        rnn = nn.GRU(inp, hid, **kw)
    lstm = module == "LSTM"
    d = 2 if bi else 1
    h_out = proj if proj else hid
    x = torch.randn(batch, steps, inp, requires_grad=True)
    h0 = torch.randn(layers * d, batch, h_out, requires_grad=True) if with_h0 else None
    c0 = torch.randn(layers * d, batch, hid, requires_grad=True) if with_h0 and lstm else None
    state = None
    if with_h0:
        state = (h0, c0) if lstm else h0
    if packed:
        seq = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, hn = rnn(seq, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
    else:
        out, hn = rnn(x, state)
    h_n, c_n = hn if lstm else (hn, None)
    w_out, w_h = torch.randn_like(out), torch.randn_like(h_n)
    w_c = torch.randn_like(c_n) if lstm else None
    loss = weighted_loss([(out, w_out), (h_n, w_h), (c_n, w_c)])
    loss.backward()
    params = dict(rnn.named_parameters())
    grads = {"input": t(x.grad), "h0": t(h0.grad) if h0 is not None else None,
             "c0": t(c0.grad) if c0 is not None else None}
    grads.update({k: t(p.grad) for k, p in params.items()})
    return name, {
        "case": name, "module": module, "input_size": inp, "hidden_size": hid,
        "num_layers": layers, "bidirectional": bi, "bias": bias, "batch_first": True,
        "proj_size": proj, "dropout": 0.0, "weights": {k: t(p) for k, p in params.items()},
        "input": t(x), "lengths": list(lengths) if packed else None, "h0": t(h0), "c0": t(c0),
        "output": t(out), "h_n": t(h_n), "c_n": t(c_n),
        "loss_weights": {"output": t(w_out), "h_n": t(w_h), "c_n": t(w_c)},
        "loss": loss.item(), "grads": grads,
    }


class MinRNN(nn.Module):
    """minGRU / minLSTM (Feng et al., "Were RNNs All We Needed?", 2024) as stacked layers
    with nn.GRU's options and names (`weight_ih_l{k}{sfx}`, `bias_ih_l{k}{sfx}`; no `_hh`
    weights: the gates read the input only). Blocks of `x W_ih^T + b_ih` (each H wide):
    minGRU z, h~: `z = sigmoid(k_z)`, `h' = (1 - z) * h + z * h~`; minLSTM f, i, h~:
    `f = sigmoid(k_f)`, `i = sigmoid(k_i)`, `h' = f / (f + i) * h + i / (f + i) * h~`.
    Written step by step on padded input with per-row lengths (packed semantics: a row's
    steps stop at its length, the reverse direction starts at its last step, outputs past it
    are 0), so autograd gives every gradient."""

    def __init__(self, module, inp, hid, num_layers, bias, bidirectional):
        super().__init__()
        self.module, self.hid, self.layers = module, hid, num_layers
        self.d = 2 if bidirectional else 1
        g = 2 if module == "MinGRU" else 3
        k = hid ** -0.5
        for layer in range(num_layers):
            for sfx in ["", "_reverse"][: self.d]:
                size = inp if layer == 0 else self.d * hid
                w = nn.Parameter(torch.empty(g * hid, size).uniform_(-k, k))
                self.register_parameter(f"weight_ih_l{layer}{sfx}", w)
                if bias:
                    b = nn.Parameter(torch.empty(g * hid).uniform_(-k, k))
                    self.register_parameter(f"bias_ih_l{layer}{sfx}", b)

    def step(self, xp, h):
        hid = self.hid
        if self.module == "MinGRU":
            z = torch.sigmoid(xp[:, :hid])
            return (1 - z) * h + z * xp[:, hid:]
        f, i = torch.sigmoid(xp[:, :hid]), torch.sigmoid(xp[:, hid:2 * hid])
        return f / (f + i) * h + i / (f + i) * xp[:, 2 * hid:]

    def forward(self, x, lengths, h0):
        """`x [B, T, I]`, `lengths` (or None: all T), `h0 [L*D, B, H]` (or None: zeros)."""
        batch, steps = x.shape[:2]
        lens = torch.tensor(lengths if lengths is not None else [steps] * batch)
        layer_in, h_n = x, []
        for layer in range(self.layers):
            outs = []
            for d, sfx in enumerate(["", "_reverse"][: self.d]):
                w = getattr(self, f"weight_ih_l{layer}{sfx}")
                b = getattr(self, f"bias_ih_l{layer}{sfx}", None)
                xp = layer_in @ w.T + (b if b is not None else 0)
                idx = layer * self.d + d
                h = h0[idx] if h0 is not None else torch.zeros(batch, self.hid)
                out = [None] * steps
                order = range(steps - 1, -1, -1) if d == 1 else range(steps)
                for t in order:
                    alive = (t < lens).unsqueeze(1)
                    new = self.step(xp[:, t], h)
                    h = torch.where(alive, new, h)
                    out[t] = torch.where(alive, new, torch.zeros_like(new))
                outs.append(torch.stack(out, 1))
                h_n.append(h)
            layer_in = torch.cat(outs, 2)
        return layer_in, torch.stack(h_n, 0)


def min_rnn_case(name, module, layers, bi, packed, with_h0, bias=True, lengths=LENGTHS):
    """A MinRNN golden in rnn_case's format (`c0`, `c_n` null, `proj_size` 0)."""
    seed(name)
    inp, hid, batch, steps = 5, 4, 3, 6
    rnn = MinRNN(module, inp, hid, layers, bias, bi)
    d = 2 if bi else 1
    x = torch.randn(batch, steps, inp, requires_grad=True)
    h0 = torch.randn(layers * d, batch, hid, requires_grad=True) if with_h0 else None
    out, h_n = rnn(x, list(lengths) if packed else None, h0)
    w_out, w_h = torch.randn_like(out), torch.randn_like(h_n)
    loss = weighted_loss([(out, w_out), (h_n, w_h)])
    loss.backward()
    params = dict(rnn.named_parameters())
    grads = {"input": t(x.grad), "h0": t(h0.grad) if h0 is not None else None, "c0": None}
    grads.update({k: t(p.grad) for k, p in params.items()})
    return name, {
        "case": name, "module": module, "input_size": inp, "hidden_size": hid,
        "num_layers": layers, "bidirectional": bi, "bias": bias, "batch_first": True,
        "proj_size": 0, "dropout": 0.0, "weights": {k: t(p) for k, p in params.items()},
        "input": t(x), "lengths": list(lengths) if packed else None, "h0": t(h0), "c0": None,
        "output": t(out), "h_n": t(h_n), "c_n": None,
        "loss_weights": {"output": t(w_out), "h_n": t(w_h), "c_n": None},
        "loss": loss.item(), "grads": grads,
    }


MIN_MODULES = {"mingru": "MinGRU", "minlstm": "MinLSTM"}


def min_rnn(out):
    """Every MinRNN golden: both cells, 1-2 layers, uni/bi, padded/packed, with/without h0,
    short lengths, no bias, three layers."""
    cases = []
    for prefix, module in MIN_MODULES.items():
        for layers in (1, 2):
            for bi in (False, True):
                for packed in (False, True):
                    for with_h0 in (False, True):
                        name = rnn_name(prefix, layers, bi, packed, with_h0)
                        cases.append((name, module, layers, bi, packed, with_h0, {}))
        cases += [
            (f"{prefix}_l2_bi_packed_short_h0", module, 2, True, True, True,
             {"lengths": SHORT_LENGTHS}),
            (f"{prefix}_nobias_l1_bi_packed_noh0", module, 1, True, True, False,
             {"bias": False}),
            (f"{prefix}_l3_bi_padded_h0", module, 3, True, False, True, {}),
        ]
    for name, module, layers, bi, packed, with_h0, kw in cases:
        write(out, "rnn", *min_rnn_case(name, module, layers, bi, packed, with_h0, **kw))
    return len(cases)


def rnn_name(prefix, layers, bi, packed, with_h0, extra=""):
    mode = "packed" if packed else "padded"
    return (f"{prefix}_l{layers}_{'bi' if bi else 'uni'}_{mode}{extra}_"
            f"{'h0' if with_h0 else 'noh0'}")


def rnn(out):
    cases = []
    for prefix in MODULES:
        for layers in (1, 2):
            for bi in (False, True):
                for packed in (False, True):
                    for with_h0 in (False, True):
                        name = rnn_name(prefix, layers, bi, packed, with_h0)
                        cases.append((name, prefix, layers, bi, packed, with_h0, {}))
    extra = [
        ("lstm_proj2_l1_uni_padded_h0", "lstm", 1, False, False, True, {"proj": 2}),
        ("lstm_proj2_l1_bi_packed_noh0", "lstm", 1, True, True, False, {"proj": 2}),
        ("lstm_proj2_l2_uni_padded_noh0", "lstm", 2, False, False, False, {"proj": 2}),
        ("lstm_proj2_l2_bi_packed_h0", "lstm", 2, True, True, True, {"proj": 2}),
        ("gru_nobias_l1_uni_padded_h0", "gru", 1, False, False, True, {"bias": False}),
        ("lstm_nobias_l2_bi_packed_h0", "lstm", 2, True, True, True, {"bias": False}),
        ("rnn_tanh_nobias_l1_bi_packed_noh0", "rnn_tanh", 1, True, True, False,
         {"bias": False}),
        ("lstm_l3_bi_padded_h0_dropout0", "lstm", 3, True, False, True, {}),
        ("gru_l3_uni_packed_noh0_dropout0", "gru", 3, False, True, False, {}),
        ("lstm_l1_bi_packed_short_h0", "lstm", 1, True, True, True,
         {"lengths": SHORT_LENGTHS}),
        ("gru_l2_bi_packed_short_noh0", "gru", 2, True, True, False,
         {"lengths": SHORT_LENGTHS}),
    ]
    for name, prefix, layers, bi, packed, with_h0, kw in cases + extra:
        write(out, "rnn", *rnn_case(name, prefix, layers, bi, packed, with_h0, **kw))
    return len(cases) + len(extra) + min_rnn(out)


# -------------------------------------------------------------------------------- packing

PACK_CASES = [  # name, batch_first, enforce_sorted, lengths, T (>= max length), feature dims
    ("sorted_enforce", True, True, [5, 3, 1], 5, [2]),
    ("sorted_no_enforce", True, False, [5, 3, 1], 5, [2]),
    ("unsorted", True, False, [2, 5, 3], 5, [2]),
    ("unsorted_time_major", False, False, [1, 4, 2], 4, [3]),
    ("ties_sorted_enforce_time_major", False, True, [4, 4, 2, 2], 4, [3]),
    ("ties_unsorted_len_eq_T", True, False, [3, 1, 3, 3], 3, [2]),
    ("short_unsorted_ties", True, False, [2, 1, 2, 3, 1], 6, [1]),
    ("all_len1_short", True, True, [1, 1, 1], 4, [2]),
    ("single_batch", True, True, [3], 3, [2]),
    ("no_feature_dim_unsorted", True, False, [2, 3, 1], 3, []),
    ("two_feature_dims_unsorted", True, False, [1, 3, 2], 3, [2, 2]),
]

PAD_SEQUENCE_CASES = [  # name, sequence lengths, feature dims
    ("pad_sequence_f2", [3, 1, 4], [2]),
    ("pad_sequence_scalar", [2, 5, 3], []),
    ("pad_sequence_equal", [3, 3], [2]),
    ("pad_sequence_single", [4], [3]),
]


def pack_case(name, batch_first, enforce, lengths, steps, feat):
    seed(name)
    b = len(lengths)
    padded = torch.randn(b, steps, *feat)
    for row, n in enumerate(lengths):
        padded[row, n:] = 0.0
    if not batch_first:
        padded = padded.transpose(0, 1).contiguous()
    packed = pack_padded_sequence(padded, lengths, batch_first=batch_first,
                                  enforce_sorted=enforce)
    unpacked = []
    for pv, tl in [(0.0, None), (-1.0, None), (0.0, steps + 2)]:
        out, lens = pad_packed_sequence(packed, batch_first=batch_first, padding_value=pv,
                                        total_length=tl)
        unpacked.append({"padding_value": pv, "total_length": tl, "padded": t(out),
                         "lengths": t(lens)})
    return {
        "case": name, "batch_first": batch_first, "enforce_sorted": enforce,
        "lengths": lengths, "padded": t(padded),
        "packed": {"data": t(packed.data), "batch_sizes": t(packed.batch_sizes),
                   "sorted_indices": t(packed.sorted_indices),
                   "unsorted_indices": t(packed.unsorted_indices)},
        "unpacked": unpacked,
    }


def pad_sequence_case(name, lens, feat):
    seed(name)
    seqs = [torch.randn(n, *feat) for n in lens]
    results = []
    for batch_first in (True, False):
        for pv in (0.0, -1.5):
            out = pad_sequence(seqs, batch_first=batch_first, padding_value=pv)
            results.append({"batch_first": batch_first, "padding_value": pv, "output": t(out)})
    return {"case": name, "sequences": [t(s) for s in seqs], "results": results}


def packing(out):
    for name, *args in PACK_CASES:
        write(out, "packing", name, pack_case(name, *args))
    for name, *args in PAD_SEQUENCE_CASES:
        write(out, "packing", name, pad_sequence_case(name, *args))
    return len(PACK_CASES) + len(PAD_SEQUENCE_CASES)


# ---------------------------------------------------------------------------- classifiers
# The lesson's models as ../shared/reference/seed_train.py defines them, plus two variants.

class RNNClassifier(nn.Module):
    def __init__(self, vocab, embed, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.RNN(embed, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x, lengths):
        out, _ = self.rnn(self.embedding(x))
        return self.fc(out.mean(dim=1))


class LastStateClassifier(nn.Module):
    """Embedding -> recurrent module (padded, or packed by `lengths`) -> final state(s) ->
    Linear; `shifted` initialises the embedding as the lesson's LSTMs do (`randn - 0.5`)."""

    def __init__(self, vocab, embed, hidden, classes, rnn, packed, shifted, layers=1, bi=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        if shifted:
            self.embedding.weight.data = torch.randn_like(self.embedding.weight.data) - 0.5
        self.rnn = rnn(embed, hidden, num_layers=layers, batch_first=True, bidirectional=bi)
        self.fc = nn.Linear((2 if bi else 1) * hidden, classes)
        self.packed, self.bi = packed, bi

    def forward(self, x, lengths):
        x = self.embedding(x)
        if self.packed:
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.fc(torch.cat([h[-2], h[-1]], dim=1) if self.bi else h[-1])


CLASSIFIERS = [  # name, uses_lengths, description, constructor(V, E, H, C)
    ("rnn_classifier", False,
     "lesson RNNClassifier: Embedding -> nn.RNN(tanh) -> output.mean(dim=1) over ALL padded "
     "steps -> Linear", RNNClassifier),
    ("lstm_classifier", False,
     "lesson LSTMClassifier: Embedding (weight = randn - 0.5) -> nn.LSTM on padded batch -> "
     "h_n[-1] -> Linear",
     lambda *a: LastStateClassifier(*a, nn.LSTM, packed=False, shifted=True)),
    ("lstm_pack_classifier", True,
     "lesson LSTMPackClassifier: Embedding (randn - 0.5) -> pack_padded_sequence("
     "enforce_sorted=False) -> nn.LSTM -> h_n[-1] -> Linear",
     lambda *a: LastStateClassifier(*a, nn.LSTM, packed=True, shifted=True)),
    ("gru_classifier", False,
     "variant: Embedding (default N(0,1) init) -> nn.GRU on padded batch -> h_n[-1] -> Linear",
     lambda *a: LastStateClassifier(*a, nn.GRU, packed=False, shifted=False)),
    ("bilstm2_pack_classifier", True,
     "variant: Embedding (randn - 0.5) -> packed nn.LSTM(num_layers=2, bidirectional=True) -> "
     "cat(h_n[-2], h_n[-1]) -> Linear(2H, C)",
     lambda *a: LastStateClassifier(*a, nn.LSTM, packed=True, shifted=True, layers=2, bi=True)),
]


def classifier_case(name, uses_lengths, description, make):
    seed(name)
    vocab, embed, hidden, classes = 30, 6, 5, 4
    lengths = [5, 2, 7, 4]
    model = make(vocab, embed, hidden, classes)
    tokens = torch.randint(0, vocab, (len(lengths), max(lengths)))
    tokens[0, 1] = 0  # token 0 is an ordinary word too, not only padding
    for row, n in enumerate(lengths):
        tokens[row, n:] = 0
    labels = torch.randint(0, classes, (len(lengths),))
    params = {k: t(v) for k, v in model.state_dict().items()}
    loss_fn = nn.CrossEntropyLoss()
    logits = model(tokens, lengths)
    loss = loss_fn(logits, labels)
    loss.backward()
    grads = {k: t(p.grad) for k, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        step_loss = loss_fn(model(tokens, lengths), labels)
        step_loss.backward()
        losses.append(step_loss.item())
        opt.step()
    with torch.no_grad():
        logits_after = model(tokens, lengths)
        loss_after = loss_fn(logits_after, labels)
    return {
        "case": name, "description": description, "vocab_size": vocab, "embed_dim": embed,
        "hidden_dim": hidden, "num_class": classes, "uses_lengths": uses_lengths,
        "tokens": t(tokens), "lengths": lengths, "labels": t(labels), "params": params,
        "logits": t(logits), "loss": loss.item(), "grads": grads,
        "adam": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
                 "amsgrad": False, "steps": 3, "losses": losses,
                 "params_after": {k: t(v) for k, v in model.state_dict().items()},
                 "logits_after": t(logits_after), "loss_after": loss_after.item()},
    }


def classifiers(out):
    for name, *args in CLASSIFIERS:
        write(out, "classifiers", name, classifier_case(name, *args))
    return len(CLASSIFIERS)


# ----------------------------------------------------------------------------------- text
# torchtext's basic_english, the lesson's vocabulary and encoding, in plain Python (torchtext
# no longer installs beside current torch); README.md states each rule.

TOKENIZER_TEXTS = [  # torchtext basic_english edge cases: punctuation, whitespace, Unicode
    'Wall St. Bears Claw Back Into the Black (Reuters)',
    "Reuters - Short-sellers, Wall Street's dwindling\\band"
    " of ultra-cynics, are seeing green again.",
    'Oil prices soar to all-time record, posing new menace to US economy (AFP)',
    'Company reports $55.8bn revenue, up 3.5% from #36;52bn',
    'He said "no comment."',
    "It's a dog's life; isn't it?",
    'Hello!!! What?? Really?!',
    'a,b,c.d',
    '<br />line break<br />again',
    '<br/>not matched <br  /> nor this',
    '<BR />uppercase br',
    '(parenthetical) [brackets] {braces}',
    'semi;colon:colon',
    'time 10:30 a.m. sharp',
    '',
    '   ',
    'multiple    spaces\tand\ttabs\nnewline',
    '\\$100 million deal',
    'Price: #36;5.50 per share',
    'Microsoft #39;s new OS &lt;b&gt;bold&lt;/b&gt; quot;quoted quot;',
    'U.S. economy',
    'e-mail and www.example.com/path?q=1&r=2',
    '3.14159 and 1,000,000 and -42',
    'Ünïcödé Café naïve',
    'İstanbul',
    'ΣΑΣ ΟΔΥΣΣΕΥΣ',
    'Straße STRASSE',
    '日本語のテキスト、句読点。',
    'emoji 😀 test!',
    'non\xa0breaking\u2003space',
    'curly ‘quotes’ and “double” — dash',
    "'single quoted'",
    "''",
    '""',
    "rock'n'roll",
    "don't.stop",
    'end.',
    '...ellipsis...',
    '!?;:,.()',
    'TAB\there',
    'CRLF\r\nline',
    'back\\slash \\\\ double',
    '\\\\n literal backslash-n',
    'mixedCASE WoRdS',
    'numbers: 2004-08-25 12:00:00',
    "AT&T, Yahoo! and Amazon.com's results",
    '\x0bvertical\x0cformfeed',
    '\x1cinfo\x1dsep\x1erec\x1funit',
    '\x85next line',
    'zero\u200bwidth joiner',
    '"Quoted" (and \'nested\') text; more: yes!',
    '  leading and trailing  ',
]


_NORMALIZE = [(re.compile(p), r) for p, r in [
    (r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "),
    (r"\(", " ( "), (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "),
    (r"\:", " "), (r"\s+", " ")]]


def basic_english(line):
    line = line.lower()
    for pattern, repl in _NORMALIZE:
        line = pattern.sub(repl, line)
    return line.split()


def count(token_lists):
    counter = collections.Counter()
    for tokens in token_lists:
        counter.update(tokens)
    return counter


def first_seen_itos(counter, min_freq):
    """torchtext.vocab.vocab(counter, min_freq): first-occurrence order, no specials."""
    return [tok for tok, n in counter.items() if n >= min_freq]


def legacy_itos(counter, min_freq):
    """torchtext <= 0.9 Vocab(counter, min_freq): specials, then count desc, token asc."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return ["<unk>", "<pad>"] + [tok for tok, n in ranked if n >= min_freq]


def encode(itos, text):
    stoi = {tok: i for i, tok in enumerate(itos)}
    return [stoi.get(tok, 0) for tok in basic_english(text)]


def ngrams(tokens, n):
    yield from tokens
    for k in range(2, n + 1):
        for gram in zip(*[tokens[i:] for i in range(k)]):
            yield " ".join(gram)


def padify(itos, batch):
    """The lesson's padify: labels - 1, rows encoded and right-padded with 0, and lengths."""
    rows = [encode(itos, text) for _, text in batch]
    width = max(len(r) for r in rows)
    return ([label - 1 for label, _ in batch], [r + [0] * (width - len(r)) for r in rows],
            [len(r) for r in rows])


CORPUS = [
    "The cat sat on the mat.", "The dog sat on the log!", "A cat and a dog.",
    "Stocks fell; the market fell, too.", "Oil prices rose (again) on Monday.",
    "The market rose, and oil fell.", "Dog bites man? Man bites dog!",
    "It's the cat's mat, isn't it?", "Prices: $55.8bn, up 3.5%.", "Monday's market: the end.",
]
ENCODE_TEXTS = ["The zebra sat on the cat.", "Unknown words everywhere!", "the market's rally", "",
                "Dog, cat, and mouse (again)."]
PADIFY_BATCH = [[4, CORPUS[3]], [1, CORPUS[0]], [1, CORPUS[8]], [3, CORPUS[6]],
                [2, ENCODE_TEXTS[1]]]


def vocab_golden():
    counter = count(basic_english(s) for s in CORPUS)

    def block(itos):
        return {"itos": itos, "encodings": [{"text": s, "ids": encode(itos, s)}
                                            for s in ENCODE_TEXTS]}

    grams = count(list(ngrams(basic_english(s), 2)) for s in CORPUS[:3])
    itos1 = first_seen_itos(counter, 1)
    labels, features, lengths = padify(itos1, PADIFY_BATCH)
    return {
        "corpus": CORPUS, "counter": [[tok, n] for tok, n in counter.items()],
        "vocab": {f"min_freq_{m}": block(first_seen_itos(counter, m)) for m in (1, 2)},
        "legacy_vocab": {f"min_freq_{m}": block(legacy_itos(counter, m)) for m in (1, 2)},
        "ngrams2": {"corpus": CORPUS[:3], "counter": [[g, n] for g, n in grams.items()],
                    "itos_min_freq_1": first_seen_itos(grams, 1)},
        "padify_example": {"vocab": "min_freq_1", "batch": PADIFY_BATCH, "labels": labels,
                           "features": features, "lengths": lengths},
    }


def agnews_golden(path, lo, hi):
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(int(r[0]), " ".join(r[1:])) for r in csv.reader(f)]
    part = rows[lo:hi]
    tokens = [basic_english(text) for _, text in part]
    counter = count(tokens)
    itos = {m: first_seen_itos(counter, m) for m in (1, 2)}

    def row(label, text):
        toks = basic_english(text)
        return {"label": label, "text": text, "tokens": toks,
                "ids_min_freq_1": encode(itos[1], text), "ids_min_freq_2": encode(itos[2], text)}

    labels, features, lengths = padify(itos[1], part[:16])
    return {
        "source": {"file": os.path.basename(path), "sha256": sha, "rows": [lo, hi],
                   "row_text": "text = ' '.join(csv_row[1:]) (title + ' ' + description, raw, "
                               "no unescaping)"},
        "num_rows": len(part), "total_tokens": sum(len(x) for x in tokens),
        "token_lengths": [len(x) for x in tokens], "counter_size": len(counter),
        "vocab_min_freq_1": {"size": len(itos[1]), "itos": itos[1]},
        "vocab_min_freq_2": {"size": len(itos[2]), "itos": itos[2]},
        "first_rows": [row(*r) for r in part[:20]],
        "outside_rows": [row(*r) for r in rows[hi:hi + 10]],
        "padify_first_16": {"labels": labels,
                            "features": {"shape": [len(features), len(features[0])],
                                         "data": [i for r in features for i in r]},
                            "lengths": lengths},
    }


def text(out, data_dir):
    cases = [{"text": s, "tokens": basic_english(s)} for s in TOKENIZER_TEXTS]
    write(out, "text", "tokenizer",
          {"tokenizer": "torchtext basic_english (_basic_english_normalize)", "cases": cases})
    write(out, "text", "vocab", vocab_golden())
    csv_path = os.path.join(data_dir, "test.csv") if data_dir else None
    if csv_path and os.path.isfile(csv_path):
        write(out, "text", "agnews_test_rows_0_3800", agnews_golden(csv_path, 0, 3800))
    else:
        print(f"text/agnews_test_rows_0_3800.json kept: no AG News test.csv in {data_dir!r}")
    return len(TOKENIZER_TEXTS)


# ------------------------------------------------------------------------------------ ops

def lengths_mask(lengths, t):
    return torch.tensor([[s < l for s in range(t)] for l in lengths])


def op_case(name, inputs, fn, extra=None, mask=None):
    """Inputs (name -> tensor), `fn(**leaves)` -> output; the loss is `sum(out · W)` over
    the output's kept entries (`mask`: which entries of the output count)."""
    seed(name)
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    w = torch.randn(out.shape)
    kept = out if mask is None else torch.where(mask, out, torch.zeros_like(out))
    (kept * w).sum().backward()
    shown = out.detach() if mask is None else torch.where(mask, out.detach(), torch.zeros_like(out))
    case = {"inputs": {k: t(v) for k, v in inputs.items()}, "weights": t(w), "output": t(shown),
            "grads": {k: t(leaves[k].grad) for k in inputs}}
    if mask is not None:
        case["output_mask"] = [bool(b) for b in mask.reshape(-1).tolist()]
    case.update(extra or {})
    return case


def ops(out):
    n = 0
    r = lambda *shape: torch.randn(*shape)
    pos = lambda *shape: torch.rand(*shape) + 0.5

    def put(name, case):
        nonlocal n
        write(out, "ops", name, case)
        n += 1

    put("add_broadcast", op_case("add_broadcast", {"a": r(2, 3, 4), "b": r(3, 1)},
                                 lambda a, b: a + b))
    put("mul_broadcast", op_case("mul_broadcast", {"a": r(4, 1, 5), "b": r(1, 3, 1)},
                                 lambda a, b: a * b))
    put("sub_broadcast", op_case("sub_broadcast", {"a": r(2, 3), "b": r(3)},
                                 lambda a, b: a - b))
    put("div_broadcast", op_case("div_broadcast", {"a": r(2, 3), "b": pos(2, 1)},
                                 lambda a, b: a / b))
    put("exp", op_case("exp", {"a": r(3, 4)}, lambda a: a.exp()))
    put("log", op_case("log", {"a": pos(3, 4)}, lambda a: a.log()))
    lengths = [3, 1]
    m = lengths_mask(lengths, 3).unsqueeze(2)
    put("masked_fill", op_case("masked_fill", {"a": r(2, 3, 4)},
                               lambda a: a.masked_fill(~m, -2.5),
                               {"lengths": lengths, "value": -2.5}))
    sm_mask = lengths_mask([4, 2], 4).unsqueeze(2)
    put("softmax_axis1_masked", op_case(
        "softmax_axis1_masked", {"a": r(2, 4, 3)},
        lambda a: a.masked_fill(~sm_mask, float("-inf")).softmax(1),
        {"axis": 1, "lengths": [4, 2]}))
    put("softmax_axis2", op_case("softmax_axis2", {"a": r(2, 3, 5)}, lambda a: a.softmax(2),
                                 {"axis": 2}))
    put("softmax_axis0", op_case("softmax_axis0", {"a": r(3, 4)}, lambda a: a.softmax(0),
                                 {"axis": 0}))
    full = sm_mask.expand(2, 4, 3)
    put("log_softmax_axis1_masked", op_case(
        "log_softmax_axis1_masked", {"a": r(2, 4, 3)},
        lambda a: a.masked_fill(~sm_mask, float("-inf")).log_softmax(1),
        {"axis": 1, "lengths": [4, 2]}, mask=full))
    lens = [4, 2, 1]
    lm = lengths_mask(lens, 4).unsqueeze(2)
    put("sum_lengths", op_case("sum_lengths", {"a": r(3, 4, 2)},
                               lambda a: a.masked_fill(~lm, 0.0).sum(1), {"lengths": lens}))
    put("mean_lengths", op_case(
        "mean_lengths", {"a": r(3, 4, 2)},
        lambda a: a.masked_fill(~lm, 0.0).sum(1) / torch.tensor(lens).unsqueeze(1),
        {"lengths": lens}))
    put("max_lengths", op_case("max_lengths", {"a": r(3, 4, 2)},
                               lambda a: a.masked_fill(~lm, float("-inf")).max(1).values,
                               {"lengths": lens}))
    return n


# ----------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE, help="golden folder to write (default: this one)")
    ap.add_argument("--data-dir", help="folder holding AG News test.csv (for text/agnews_*)")
    ap.add_argument("--only", choices=["cells", "rnn", "packing", "classifiers", "text", "ops"])
    a = ap.parse_args()
    makers = {"rnn": rnn, "cells": cells, "packing": packing, "classifiers": classifiers,
              "ops": ops,
              "tokenizer_strings": lambda out: text(out, a.data_dir)}
    counts = {}
    for key, make in makers.items():
        if a.only is None or a.only == key or (a.only == "text" and key == "tokenizer_strings"):
            counts[key] = make(a.out)
            print(f"wrote {key}: {counts[key]}")
    if a.only is None:
        manifest = {"torch_version": torch.__version__.split("+")[0], "dtype": "float64",
                    "counts": counts}
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump(manifest, f)


if __name__ == "__main__":
    main()
