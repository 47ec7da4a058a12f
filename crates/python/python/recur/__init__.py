"""recur: recurrent networks (RNN, LSTM, GRU) for text, trained and served by a Rust core.

Train a classifier on a labelled file (CSV, TSV, JSONL or fastText) or on Python lists,
load any run folder, and classify, evaluate, export to ONNX or generate text::

    import recur
    model = recur.train(train=(texts, labels), out="runs/reviews", epochs=3)
    model.predict(["what a wonderful film"])        # ['positive']
    model.predict_proba(["what a wonderful film"])  # numpy array [1, K]
    recur.load("runs/reviews").evaluate("test.csv")  # {'accuracy': ..., 'loss': ...}

Every run is a run folder that the ``recur`` command line reads too (``recur eval``,
``recur predict``, ``recur serve``), and the numbers are the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _recur

__all__ = ["train", "load", "Model", "options"]

PathLike = Union[str, "os.PathLike[str]"]
Data = Union[PathLike, Tuple[Sequence[str], Sequence[Any]]]


def options() -> dict:
    """The training options ``recur.train`` takes, each with what it takes."""
    return dict(_recur.option_names())


def _texts(texts: Iterable[str], what: str = "texts") -> list:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, not a single {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is {type(t).__name__}, not str")
    return out


def _labels(labels: Iterable[Any]) -> list:
    out = []
    for i, label in enumerate(labels):
        if isinstance(label, (bool, float)) or not isinstance(label, (str, int, np.integer)):
            raise TypeError(f"labels[{i}] is {type(label).__name__}: labels are str or int")
        out.append(str(label))
    return out


def _write_jsonl(path: Path, texts: Sequence[str], labels: Sequence[str]) -> Path:
    """Texts and labels as the JSONL file the run reads (and resumes from)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(json.dumps({"label": label, "text": text}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def _data_file(data: Optional[Data], out: Path, part: str) -> Optional[str]:
    """A data argument as a file: a path as it is, ``(texts, labels)`` written beside the run
    folder (``OUT.data/PART.jsonl``) so that the run can be resumed and re-evaluated."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"{part} must be a file path or a (texts, labels) tuple")
    texts, labels = _texts(data[0], f"{part} texts"), _labels(data[1])
    if len(texts) != len(labels):
        raise ValueError(f"{part}: {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError(f"{part}: no texts")
    folder = out.with_name(out.name + ".data")
    return os.fspath(_write_jsonl(folder / f"{part}.jsonl", texts, labels))


def _tqdm_progress():
    """A progress callback drawing one tqdm bar an epoch (``tqdm.auto``: a widget in a
    notebook, a bar on a terminal), or ``None`` without tqdm."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    state = {"epoch": None, "bar": None}

    def update(epoch: int, done: int, total: int) -> None:
        if state["epoch"] != epoch:
            if state["bar"] is not None:
                state["bar"].close()
            state["bar"] = tqdm(total=total, desc=f"epoch {epoch}", unit="sample", leave=False)
            state["epoch"] = epoch
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def train(
    train: Optional[Data] = None,
    *,
    out: PathLike,
    valid: Optional[Data] = None,
    test: Optional[Data] = None,
    preset: Optional[str] = None,
    seed: int = 0,
    resume: bool = False,
    progress: Union[bool, Callable[[int, int, int], None]] = True,
    **options: Any,
) -> "Model":
    """Trains a classifier and returns it as a :class:`Model`.

    ``train`` (and ``valid``, ``test``) is a labelled file or a ``(texts, labels)`` pair of
    sequences (labels str or int; lists are written to ``OUT.data/`` so the run can be
    resumed). ``preset="strong"`` is the recipe of ``recur train --preset strong``;
    ``options`` are named as the library names them (``recur.options()`` lists them) and
    override the preset. ``resume=True`` continues the run in ``out`` from its checkpoint.
    ``progress=True`` prints each epoch's line (through ``print``: it shows in a notebook)
    and, where tqdm is installed, draws a bar an epoch; ``False`` is silent; a callable
    ``(epoch, done, total)`` is told where each epoch is, besides the lines.
    Ctrl-C stops training after the current batch with the run saved: it raises
    ``KeyboardInterrupt`` and ``resume=True`` continues it.
    """
    out_path = Path(out)
    files = {
        "train": _data_file(train, out_path, "train"),
        "valid": _data_file(valid, out_path, "valid"),
        "test": _data_file(test, out_path, "test"),
    }
    if progress is True:
        progress = _tqdm_progress() or True
    _recur.train(
        files["train"],
        os.fspath(out_path),
        valid=files["valid"],
        test=files["test"],
        preset=preset,
        seed=seed,
        resume=resume,
        progress=progress,
        options=options,
    )
    return load(out_path)


def load(path: PathLike) -> "Model":
    """Loads the run folder ``path`` (a classifier or a language model)."""
    return Model(_recur.load(os.fspath(path)))


class Model:
    """A trained run: a classifier (``predict``, ``predict_proba``, ``evaluate``) or a
    language model (``generate``, ``perplexity``); either exports to ONNX."""

    def __init__(self, run: "_recur.Run"):
        self._run = run

    @property
    def path(self) -> str:
        """The run folder."""
        return self._run.path

    @property
    def task(self) -> str:
        """``"classify"`` or ``"lm"``."""
        return self._run.task

    @property
    def classes(self) -> list:
        """Class names, index = class."""
        return self._run.classes

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Class probabilities ``[N, K]`` (float64), batched over every core."""
        probs = self._run.predict_proba(_texts(texts))
        return np.asarray(probs, dtype=np.float64).reshape(len(probs), len(self.classes))

    def predict(self, texts: Iterable[str]) -> list:
        """The most likely class name of each text."""
        names = self.classes
        return [names[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def evaluate(self, data: Data, batch_size: int = 16) -> dict:
        """Loss, accuracy, macro-F1 and the confusion matrix on a labelled file or on
        ``(texts, labels)``, as ``recur eval`` computes them."""
        if isinstance(data, (str, os.PathLike)):
            return self._run.evaluate_file(os.fspath(data), batch_size)
        if not isinstance(data, tuple) or len(data) != 2:
            raise TypeError("data must be a file path or a (texts, labels) tuple")
        return self._run.evaluate_texts(_texts(data[0]), _labels(data[1]), batch_size)

    def export_onnx(self, path: PathLike) -> None:
        """Writes the model as ONNX to ``path`` and its sidecar to ``path + ".json"``."""
        self._run.export_onnx(os.fspath(path))

    def generate(
        self,
        prompt: str = "",
        words: int = 50,
        temperature: float = 1.0,
        top_k: Optional[int] = None,
        seed: int = 0,
    ) -> str:
        """Continues ``prompt`` (language models)."""
        return self._run.generate(prompt, words, temperature, top_k, seed)

    def perplexity(self, texts: Iterable[str]) -> float:
        """Perplexity of ``texts``, each a document (language models)."""
        return self._run.perplexity(_texts(texts))

    def __repr__(self) -> str:
        return f"recur.Model({self.path!r}, task={self.task!r})"
