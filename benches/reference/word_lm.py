"""PyTorch's examples/word_language_model, as recur's language-model task runs it.

The model, the batching into `bsz` streams, the BPTT windows with the hidden state carried
(and detached), the clipped plain SGD step at `lr` (divided by 4 after an epoch whose
validation loss did not improve) and the evaluation are the example's; the corpus is read as
recur reads it: one document per line of a text file (or the text columns of a CSV, joined
with a space), tokenized with torchtext's basic_english (`textref.py`) or as characters,
`<eos>` after each document; the vocabulary is `<unk>`, `<eos>`, then the training tokens in
order of first appearance; validation tokens outside it are `<unk>`.

usage:
  word_lm.py --golden OUT_DIR               the golden files of crates/layers/tests/golden_lm.rs
  word_lm.py --train FILE --valid FILE [--epochs 3 --model LSTM --emsize 200 --nhid 200
             --nlayers 2 --lr 20 --clip 0.25 --bptt 35 --batch-size 20 --dropout 0.2 --tied
             --seed 0 --tokenizer basic_english|char]
                                             trains and prints one JSON line per epoch
"""
import argparse
import csv
import json
import math
import os
import sys
import time

if "--golden" in sys.argv:  # byte-reproducible goldens on any CPU (see tests/golden/make.py)
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
    os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../shared/reference"))


class RNNModel(nn.Module):
    """The example's model: encoder, dropout, RNN, dropout, decoder (optionally tied)."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity="tanh", dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def sgd_step(model, lr, clip):
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)


# ---------------------------------------------------------------- data, as recur reads it

def documents(path):
    if path.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return [" ".join(r[1:]) for r in csv.reader(f)]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def tokenize(text, how):
    if how == "char":
        return list(text)
    from textref import basic_english
    return basic_english(text)


def corpus(path, how, itos=None):
    """Token ids of every document, `<eos>` after each; builds the vocabulary when `itos` is
    None."""
    build = itos is None
    if build:
        itos = ["<unk>", "<eos>"]
    stoi = {w: i for i, w in enumerate(itos)}
    ids = []
    for doc in documents(path):
        for w in tokenize(doc, how) + ["<eos>"]:
            if w not in stoi and build:
                stoi[w] = len(itos)
                itos.append(w)
            ids.append(stoi.get(w, 0))
    return torch.tensor(ids, dtype=torch.long), itos


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


def evaluate(model, source, bsz, bptt):
    model.eval()
    total, hidden = 0.0, model.init_hidden(bsz)
    with torch.no_grad():
        for i in range(0, source.size(0) - 1, bptt):
            data, targets = get_batch(source, i, bptt)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total += len(data) * nn.functional.nll_loss(output, targets).item()
    return total / (len(source) - 1)


def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train_ids, itos = corpus(a.train, a.tokenizer)
    valid_ids, _ = corpus(a.valid, a.tokenizer, itos)
    train_data = batchify(train_ids, a.batch_size)
    valid_data = batchify(valid_ids, 10)
    model = RNNModel(a.model, len(itos), a.emsize, a.nhid, a.nlayers, a.dropout, a.tied)
    lr, best = a.lr, None
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        hidden, total, n = model.init_hidden(a.batch_size), 0.0, 0
        for i in range(0, train_data.size(0) - 1, a.bptt):
            data, targets = get_batch(train_data, i, a.bptt)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = nn.functional.nll_loss(output, targets)
            loss.backward()
            sgd_step(model, lr, a.clip)
            total += loss.item()
            n += 1
        secs = time.perf_counter() - t0
        val = evaluate(model, valid_data, 10, a.bptt)
        tokens = (train_data.size(0) - 1) * a.batch_size
        print(json.dumps({"epoch": epoch, "train_loss": total / n, "valid_loss": val,
                          "valid_ppl": math.exp(val), "lr": lr, "seconds": secs,
                          "tokens_per_s": tokens / secs, "vocab": len(itos),
                          "train_tokens": len(train_ids)}), flush=True)
        if best is None or val < best:
            best = val
        else:
            lr /= 4.0


# ---------------------------------------------------------------- goldens

def tensor_json(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def golden_case(rnn_type, tied):
    """One forward/backward over a window and one clipped SGD step, float64."""
    torch.manual_seed(7)
    v, e, h, layers, t, b = 11, 6, 6, 2, 5, 3
    model = RNNModel(rnn_type, v, e, h, layers, dropout=0.0, tie_weights=tied).double()
    params = {n: tensor_json(p) for n, p in model.state_dict().items()}
    if tied:
        params.pop("decoder.weight")  # the same tensor as encoder.weight
    tokens = torch.randint(0, v, (t + 1, b))
    data, targets = tokens[:t], tokens[1:].reshape(-1)
    hidden = model.init_hidden(b)
    hidden = tuple(torch.randn_like(x) for x in hidden) if rnn_type == "LSTM" else torch.randn_like(hidden)
    model.zero_grad()
    output, new_hidden = model(data, hidden)
    loss = nn.functional.nll_loss(output, targets)
    loss.backward()
    grads = {n: tensor_json(p.grad) for n, p in model.named_parameters()}
    logits = model.decoder(model.rnn(model.encoder(data), hidden)[0]).view(-1, v)
    sgd_step(model, 20.0, 0.25)
    after = {n: tensor_json(p) for n, p in model.named_parameters()}
    h_n = new_hidden[0] if rnn_type == "LSTM" else new_hidden
    case = {
        "cell": rnn_type.lower(), "tied": tied, "vocab": v, "embed": e, "hidden": h,
        "layers": layers, "lr": 20.0, "clip": 0.25,
        "tokens": data.reshape(-1).tolist(), "batch": b, "targets": targets.tolist(),
        "h0": tensor_json(hidden[0] if rnn_type == "LSTM" else hidden),
        "params": params, "logits": tensor_json(logits), "loss": loss.item(),
        "h_n": tensor_json(h_n), "grads": grads, "after_step": after,
        "torch": torch.__version__,
    }
    if rnn_type == "LSTM":
        case["c0"] = tensor_json(hidden[1])
        case["c_n"] = tensor_json(new_hidden[1])
    return case


def goldens(out):
    os.makedirs(out, exist_ok=True)
    for rnn_type in ["LSTM", "GRU"]:
        for tied in [False, True]:
            name = f"{rnn_type.lower()}_{'tied' if tied else 'untied'}.json"
            with open(os.path.join(out, name), "w") as f:
                json.dump(golden_case(rnn_type, tied), f)
            print("wrote", os.path.join(out, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden")
    ap.add_argument("--train")
    ap.add_argument("--valid")
    ap.add_argument("--model", default="LSTM")
    ap.add_argument("--emsize", type=int, default=200)
    ap.add_argument("--nhid", type=int, default=200)
    ap.add_argument("--nlayers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokenizer", default="basic_english")
    a = ap.parse_args()
    if a.golden:
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(1)
        goldens(a.golden)
    elif a.train and a.valid:
        train(a)
    else:
        ap.error("give --golden DIR, or --train and --valid")


if __name__ == "__main__":
    main()
