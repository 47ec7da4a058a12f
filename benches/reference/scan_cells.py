"""PyTorch side of `cargo xtask bench`'s scan-cell rows: the training loop of seed_train.py
(loaded from $RECUR_SEED_TRAIN, as the other rows run it) with two more models at the
shape of recur's `--preset strong` (embedding, embedding dropout, one bidirectional layer
over packed rows, mean pooling over each text's own steps, dropout, linear):

- `bigru-pack`: `nn.GRU(bidirectional=True)` on a PackedSequence;
- `bimingru-pack`: minGRU (Feng et al. 2024, blocks z, h~ of one Linear:
  `h' = (1 - z) * h + z * h~`, the same cell as recur's `--cell mingru`) written the way a
  PyTorch user writes it: one Linear over every step, then the elementwise recurrence step
  by step (the reverse direction reads each text backwards from its own last token).

    python scan_cells.py --data DIR --model bimingru-pack [seed_train.py's options]
"""
import importlib.util
import os
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

spec = importlib.util.spec_from_file_location("seed_train", os.environ["RECUR_SEED_TRAIN"])
seed_train = importlib.util.module_from_spec(spec)
sys.modules["seed_train"] = seed_train
spec.loader.exec_module(seed_train)

EMBED_DROPOUT, FC_DROPOUT = 0.2, 0.5


def mean_over_steps(out, lengths):
    """`out [B, T, W]` (zero past each length) averaged over each row's own steps."""
    return out.sum(1) / lengths.to(out.dtype).unsqueeze(1)


def reversed_within(x, lengths):
    """Each row's first `lengths[b]` steps in reverse order (the padding stays put)."""
    b, t = x.shape[:2]
    steps = torch.arange(t).unsqueeze(0).expand(b, t)
    last = (lengths - 1).unsqueeze(1)
    idx = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, idx.unsqueeze(2).expand_as(x))


class MinGRU(torch.nn.Module):
    """One direction of a minGRU layer over padded rows with lengths."""

    def __init__(self, inp, hid):
        super().__init__()
        self.hid = hid
        self.proj = torch.nn.Linear(inp, 2 * hid)

    def forward(self, x, lengths, reverse):
        if reverse:
            x = reversed_within(x, lengths)
        k, c = self.proj(x).chunk(2, dim=2)
        z = torch.sigmoid(k)
        keep, add = 1 - z, z * c
        h = x.new_zeros(x.shape[0], self.hid)
        outs = []
        for t in range(x.shape[1]):
            h = keep[:, t] * h + add[:, t]
            outs.append(h)
        out = torch.stack(outs, 1)
        alive = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        out = out * alive.unsqueeze(2).to(out.dtype)
        return reversed_within(out, lengths) if reverse else out


class Classifier(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_class, cell):
        super().__init__()
        self.cell = cell
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.embed_dropout = torch.nn.Dropout(EMBED_DROPOUT)
        if cell == "gru":
            self.rnn = torch.nn.GRU(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        else:
            self.fwd, self.rev = MinGRU(embed_dim, hidden_dim), MinGRU(embed_dim, hidden_dim)
        self.fc_dropout = torch.nn.Dropout(FC_DROPOUT)
        self.fc = torch.nn.Linear(2 * hidden_dim, num_class)

    def forward(self, x, lengths):
        x = self.embed_dropout(self.embedding(x))
        if self.cell == "gru":
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True)
        else:
            out = torch.cat([self.fwd(x, lengths, False), self.rev(x, lengths, True)], 2)
        return self.fc(self.fc_dropout(mean_over_steps(out, lengths)))


seed_train.MODELS["bigru-pack"] = (lambda v, e, h, k: Classifier(v, e, h, k, "gru"), True)
seed_train.MODELS["bimingru-pack"] = (lambda v, e, h, k: Classifier(v, e, h, k, "mingru"), True)

if __name__ == "__main__":
    seed_train.main()
