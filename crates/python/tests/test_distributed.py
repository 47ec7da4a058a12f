"""Batch inference on a real distributed engine: a Dask cluster of two worker processes,
started on this machine (loopback only, no dashboard, closed at the end), classifies a
dataset partition by partition with one recur model per worker, and gets exactly the
classes `recur predict` gives for the same texts."""

import json
import os
import subprocess

import pytest

import recur

RECUR = os.environ.get("RECUR_BIN", "recur")


def test_a_dask_cluster_classifies_as_recur_predict_does(tmp_path):
    distributed = pytest.importorskip("distributed") if not os.environ.get(
        "REQUIRE_PYTHON") else __import__("distributed")
    import dask.bag as db

    from recur.scale import classify_partition

    words = ["great", "superb", "awful", "dull", "plot", "film", "acting", "ending"]
    texts = [f"the {words[i % 8]} {words[(i * 3) % 8]} {words[(i * 5) % 8]}"
             for i in range(600)]
    labels = ["pos" if ("great" in t or "superb" in t) else "neg" for t in texts]
    run = tmp_path / "run"
    recur.train((texts, labels), out=run, epochs=2, lr=0.01, progress=False)
    expected = subprocess.run(
        [RECUR, "predict", "--run", str(run), "--output-format", "jsonl"],
        input="\n".join(texts), capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    expected = [json.loads(l)["class"] for l in expected]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  death_timeout=60) as cluster:
        with distributed.Client(cluster, timeout=60) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            bag = db.from_sequence(texts, npartitions=6)
            got = bag.map_partitions(classify_partition, str(run)).compute()
            # each worker process loaded the model once and classified its partitions
            per_worker = client.run(lambda: len(__import__("recur.scale").scale._MODELS))
    assert got == expected
    assert sum(per_worker.values()) >= 1
