"""Reading text as recur does, from the sidecar `recur export --onnx` writes beside a model
(`model.onnx.json`): the tokenizer's rules, the vocabulary, the unknown id and the token
limit. Needs nothing but the Python standard library."""

import json
import re


class TextReader:
    """A run's tokenizer and vocabulary, rebuilt from its sidecar."""

    def __init__(self, sidecar):
        rules = sidecar["tokenizer"]
        self.name = rules["name"]
        self.lowercase = rules["lowercase"]
        self.replace = [tuple(pair) for pair in rules["replace"]]
        self.space = frozenset(chr(c) for c in rules["whitespace"])
        self.split = re.compile("[" + "".join(re.escape(c) for c in sorted(self.space)) + "]+")
        self.vocab = sidecar["vocab"]
        self.ids = {token: i for i, token in enumerate(self.vocab)}
        self.unk_id = sidecar["unk_id"]
        self.pad_id = sidecar["pad_id"]
        self.max_tokens = sidecar.get("max_tokens")

    @classmethod
    def load(cls, sidecar_path):
        with open(sidecar_path, encoding="utf-8") as f:
            return cls(json.load(f))

    def tokens(self, text):
        """The tokens of `text`, as recur's tokenizer gives them."""
        if self.name == "char":
            out, in_space = [], False
            for ch in self._strip(text):
                if ch in self.space:
                    if not in_space:
                        out.append(" ")
                    in_space = True
                else:
                    out.append(ch)
                    in_space = False
            return out
        if self.lowercase:
            text = text.lower()
        for old, new in self.replace:
            text = text.replace(old, new)
        return [t for t in self.split.split(text) if t]

    def encode(self, text):
        """The ids of `text` (the first `max_tokens` of them; empty when it has no token)."""
        ids = [self.ids.get(t, self.unk_id) for t in self.tokens(text)]
        if self.max_tokens:
            ids = ids[: self.max_tokens]
        return ids

    def _strip(self, text):
        start, end = 0, len(text)
        while start < end and text[start] in self.space:
            start += 1
        while end > start and text[end - 1] in self.space:
            end -= 1
        return text[start:end]
