"""Writes the PyTorch model the `load_pytorch` example loads: a packed bidirectional GRU
classifier (Embedding(30, 8) -> nn.GRU(8, 6, batch_first=True, bidirectional=True) on a
PackedSequence -> concat(h_n[-2], h_n[-1]) -> Linear(12, 3)), trained for 200 Adam steps on
"the class is the marker token 1, 2 or 3 somewhere in noise tokens 4..29", saved with
`safetensors.torch.save_file(model.state_dict())`, plus a few token sequences and their
PyTorch logits.

usage: ~/.torchref/bin/python make_fixture.py   (writes gru_classifier.safetensors/.json)
"""
import json
import os

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class GruClassifier(nn.Module):
    def __init__(self, vocab=30, embed=8, hidden=6, classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, ids, lengths):
        x = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                 enforce_sorted=False)
        _, h_n = self.rnn(x)
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))


def batch(g, n):
    seqs, labels = [], []
    for _ in range(n):
        length = int(torch.randint(3, 12, (1,), generator=g))
        ids = torch.randint(4, 30, (length,), generator=g)
        label = int(torch.randint(0, 3, (1,), generator=g))
        ids[int(torch.randint(0, length, (1,), generator=g))] = 1 + label
        seqs.append(ids.tolist())
        labels.append(label)
    return seqs, labels


def padded(seqs):
    t = max(map(len, seqs))
    return torch.tensor([s + [0] * (t - len(s)) for s in seqs]), torch.tensor(list(map(len, seqs)))


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = GruClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        seqs, labels = batch(g, 32)
        ids, lengths = padded(seqs)
        loss = nn.functional.cross_entropy(model(ids, lengths), torch.tensor(labels))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    seqs, labels = batch(g, 6)
    ids, lengths = padded(seqs)
    with torch.no_grad():
        logits = model(ids, lengths)
    here = os.path.dirname(os.path.abspath(__file__))
    save_file(model.state_dict(), os.path.join(here, "gru_classifier.safetensors"))
    with open(os.path.join(here, "gru_classifier.json"), "w") as f:
        json.dump({"sequences": seqs, "labels": labels, "logits": logits.tolist(),
                   "torch": torch.__version__}, f)
    print("accuracy", (logits.argmax(1) == torch.tensor(labels)).float().mean().item())


if __name__ == "__main__":
    main()
