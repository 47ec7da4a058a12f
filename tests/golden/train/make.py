"""Regenerates tests/golden/train/*.json with PyTorch (float64): gradient clipping by norm,
AdamW, packed mean/max pooling, and the learning-rate schedules.

    ~/.torchref/bin/python tests/golden/train/make.py [--out DIR]

Like ../make.py (see its docstring), it runs PyTorch on one thread with the portable kernels
so the bytes do not depend on the CPU; each case seeds torch with its own fixed seed.

Cases (every number float64):
- classifier cases `{name}.json`: a small classifier (Embedding -> packed nn.LSTM/nn.GRU,
  uni- or bidirectional -> pooling over each row's own steps (last state, mean, max, or
  attention: softmax of a bias-free Linear(D*H, 1) score, padding masked) -> Linear), one fixed batch,
  three steps of `zero_grad(); loss.backward(); total = clip_grad_norm_(params, max_norm);
  opt.step()` with `torch.optim.AdamW` (or Adam); records the initial params, the loss and
  total norm of each step, the clipped gradients of step 1 and the params after step 3.
- `schedules.json`: the learning rate of each of 100 steps for the linear and cosine
  schedules with and without warmup (`LambdaLR` with the Hugging Face formulas; without
  warmup also `LinearLR(1, 0, 100)` and `CosineAnnealingLR(100)`), and ReduceLROnPlateau's
  rate after each of 30 epochs fed a fixed metric sequence.
"""
import argparse
import json
import math
import os

os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE


def t(x):
    x = x.detach()
    return {"shape": list(x.shape), "data": x.reshape(-1).tolist()}


class Classifier(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, classes, bidirectional, pooling):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(embed, hidden, batch_first=True, bidirectional=bidirectional)
        self.pooling = pooling
        self.d = 2 if bidirectional else 1
        if pooling == "attention":
            self.attn = nn.Linear(self.d * hidden, 1, bias=False)
        self.fc = nn.Linear(self.d * hidden, classes)

    def forward(self, tokens, lengths):
        emb = self.embedding(tokens)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        h_n = h[0] if isinstance(h, tuple) else h
        if self.pooling == "last":
            feats = torch.cat([h_n[-self.d + i] for i in range(self.d)], dim=1)
        elif self.pooling == "mean":
            padded, lens = pad_packed_sequence(out, batch_first=True, padding_value=0.0)
            feats = padded.sum(dim=1) / lens.unsqueeze(1).to(padded.dtype)
        elif self.pooling == "max":
            padded, _ = pad_packed_sequence(out, batch_first=True, padding_value=-math.inf)
            feats = padded.max(dim=1).values
        else:
            padded, lens = pad_packed_sequence(out, batch_first=True, padding_value=0.0)
            scores = self.attn(padded).squeeze(-1)
            mask = torch.arange(padded.shape[1])[None, :] >= lens[:, None]
            alpha = torch.softmax(scores.masked_fill(mask, -math.inf), dim=1)
            feats = (alpha.unsqueeze(-1) * padded).sum(dim=1)
        return self.fc(feats)


def classifier_case(name, cell, bidirectional, pooling, opt_name, max_norm, seed):
    torch.manual_seed(seed)
    V, E, H, K = 14, 5, 4, 3
    model = Classifier(cell, V, E, H, K, bidirectional, pooling)
    lengths = [4, 6, 2, 5]
    T = max(lengths)
    tokens = torch.randint(1, V, (len(lengths), T))
    for b, l in enumerate(lengths):
        tokens[b, l:] = 0
    labels = torch.tensor([0, 2, 1, 2])
    params0 = {k: t(v) for k, v in model.state_dict().items()}
    if opt_name == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
        opt_cfg = {"name": "adamw", "lr": 0.01, "weight_decay": 0.1}
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        opt_cfg = {"name": "adam", "lr": 0.01, "weight_decay": 0.0}
    losses, totals, clipped = [], [], None
    for step in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
        loss.backward()
        total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        if step == 0:
            clipped = {k: t(p.grad) for k, p in model.named_parameters()}
        losses.append(loss.item())
        totals.append(total.item())
        opt.step()
    case = {
        "case": name, "cell": cell, "bidirectional": bidirectional, "pooling": pooling,
        "vocab_size": V, "embed_dim": E, "hidden_dim": H, "num_class": K,
        "tokens": t(tokens), "lengths": lengths, "labels": t(labels),
        "params": params0, "optimizer": opt_cfg, "max_norm": max_norm,
        "losses": losses, "total_norms": totals, "clipped_grads_step1": clipped,
        "params_after": {k: t(v) for k, v in model.state_dict().items()},
        "torch_version": torch.__version__,
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(case, f)


def lr_trace(make_sched, steps=100, base=0.1):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def hf_linear(w, total):
    def f(step):
        if step < w:
            return step / max(1, w)
        return max(0.0, (total - step) / max(1, total - w))
    return f


def hf_cosine(w, total):
    def f(step):
        if step < w:
            return step / max(1, w)
        progress = (step - w) / max(1, total - w)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
    return f


def schedules():
    from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, ReduceLROnPlateau
    total, base = 100, 0.1
    out = {"base_lr": base, "total_steps": total, "traces": []}
    for kind, fn in [("linear", hf_linear), ("cosine", hf_cosine)]:
        for w in [0, 10]:
            lrs = lr_trace(lambda o: LambdaLR(o, fn(w, total)), total, base)
            out["traces"].append({"schedule": kind, "warmup": w, "source": "LambdaLR", "lr": lrs})
    out["traces"].append({"schedule": "linear", "warmup": 0, "source": "LinearLR",
                          "lr": lr_trace(lambda o: LinearLR(o, 1.0, 0.0, total), total, base)})
    out["traces"].append({"schedule": "cosine", "warmup": 0, "source": "CosineAnnealingLR",
                          "lr": lr_trace(lambda o: CosineAnnealingLR(o, total), total, base)})
    metrics = [0.50, 0.60, 0.60, 0.60005, 0.59, 0.58, 0.70, 0.70, 0.69, 0.69, 0.69, 0.71,
               0.71, 0.71, 0.71, 0.71, 0.72, 0.60, 0.60, 0.60, 0.60, 0.60, 0.73, 0.73, 0.73,
               0.73, 0.73, 0.73, 0.73, 0.73]
    for mode, sign in [("max", 1.0), ("min", -1.0)]:
        p = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=base)
        sched = ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=2, threshold=1e-4)
        lrs = []
        for m in metrics:
            sched.step(sign * m)
            lrs.append(opt.param_groups[0]["lr"])
        out.setdefault("plateau", []).append({"mode": mode, "factor": 0.5, "patience": 2,
                                              "threshold": 1e-4, "metrics": [sign * m for m in metrics],
                                              "lr_after_epoch": lrs})
    out["torch_version"] = torch.__version__
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="the goldens of tests/golden/train")
    ap.add_argument("--out", default=HERE, help="folder to write (default: this one)")
    OUT = ap.parse_args().out
    os.makedirs(OUT, exist_ok=True)
    classifier_case("lstm_packed_last_clip_adamw", "lstm", False, "last", "adamw", 0.1, 1)
    classifier_case("bigru_packed_max_clip_adamw", "gru", True, "max", "adamw", 0.3, 2)
    classifier_case("gru_packed_mean_adam", "gru", False, "mean", "adam", 1e9, 3)
    classifier_case("bilstm_packed_mean_clip_adam", "lstm", True, "mean", "adam", 0.2, 4)
    classifier_case("bigru_packed_attention_clip_adamw", "gru", True, "attention", "adamw", 0.3, 5)
    schedules()
