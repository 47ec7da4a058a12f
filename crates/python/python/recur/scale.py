"""Batch inference inside a distributed engine: one model per worker process, loaded once
from a run folder every worker can read, applied to each partition of texts.

With Dask (``dask.bag``)::

    from recur.scale import classify_partition
    labels = bag.map_partitions(classify_partition, "runs/news").compute()

With Ray Data, ``ds.map_batches(RayClassifier, fn_constructor_args=("runs/news",),
concurrency=N)``. docs/scale-out.md has the whole story (shipping run folders, sizing
workers, `recur serve` replicas behind a load balancer)."""

from __future__ import annotations

import os
from typing import Dict, Iterable, List

import recur

_MODELS: Dict[str, "recur.Model"] = {}


def model_for(run: str) -> "recur.Model":
    """The run folder ``run`` loaded once per process (each worker keeps its own)."""
    key = os.path.abspath(run)
    if key not in _MODELS:
        _MODELS[key] = recur.load(key)
    return _MODELS[key]


def classify_partition(texts: Iterable[str], run: str) -> List[str]:
    """The class names of one partition's texts (a Dask ``map_partitions`` function)."""
    return model_for(run).predict(list(texts))


def proba_partition(texts: Iterable[str], run: str) -> List[List[float]]:
    """Class probabilities of one partition's texts, as lists (picklable, small)."""
    return model_for(run).predict_proba(list(texts)).tolist()


class RayClassifier:
    """A Ray Data ``map_batches`` class: loads the run once per actor and adds a ``class``
    column to batches that have a ``text`` column."""

    def __init__(self, run: str):
        self.model = model_for(run)

    def __call__(self, batch: dict) -> dict:
        batch["class"] = self.model.predict([str(t) for t in batch["text"]])
        return batch
