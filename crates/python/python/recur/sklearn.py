"""The scikit-learn estimator shape over recur: ``RecurClassifier`` drops into pipelines,
``cross_val_score`` and grid searches. Each ``fit`` trains a run folder (in a temporary
folder unless ``out`` is given) through the same recipe as ``recur.train``."""

from __future__ import annotations

import tempfile
from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

import recur


class RecurClassifier(ClassifierMixin, BaseEstimator):
    """A recurrent text classifier: ``X`` is a sequence of texts, ``y`` their labels.

    ``preset`` and ``seed`` are ``recur.train``'s; the other parameters are its options
    (``None``: the recipe's value)."""

    def __init__(
        self,
        preset: Optional[str] = None,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        lr: Optional[float] = None,
        cell: Optional[str] = None,
        embed_dim: Optional[int] = None,
        hidden_dim: Optional[int] = None,
        bidirectional: Optional[bool] = None,
        pooling: Optional[str] = None,
        seed: int = 0,
        out: Optional[str] = None,
        progress: bool = False,
    ):
        self.preset = preset
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.cell = cell
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.seed = seed
        self.out = out
        self.progress = progress

    def _options(self) -> dict:
        names = ["epochs", "batch_size", "lr", "cell", "embed_dim", "hidden_dim",
                 "bidirectional", "pooling"]
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def fit(self, X: Any, y: Any) -> "RecurClassifier":
        texts = [str(t) for t in X]
        self.classes_, y_index = np.unique(np.asarray(y), return_inverse=True)
        # classes by position: names c0, c1, ... in this order, whatever the labels are
        names = [f"c{i}" for i in range(len(self.classes_))]
        labels = [names[i] for i in y_index]
        out = self.out or tempfile.mkdtemp(prefix="recur-sklearn-") + "/run"
        self.model_ = recur.train(
            (texts, labels),
            out=out,
            preset=self.preset,
            seed=self.seed,
            progress=self.progress,
            class_names=names,
            **self._options(),
        )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model_.predict_proba([str(t) for t in X])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
