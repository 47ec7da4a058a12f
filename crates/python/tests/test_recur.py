"""The `recur` Python package against the `recur` binary ($RECUR_BIN): training from a file
and from lists, predictions and evaluations equal to `recur predict` and `recur eval` on the
same run (either side training it), scikit-learn's cross-validation, ONNX export and
generation, clear exceptions for bad input, and Ctrl-C leaving a resumable run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import recur

RECUR = os.environ.get("RECUR_BIN", "recur")
GOOD = ["great", "superb", "fun", "moving", "wonderful"]
BAD = ["awful", "dull", "weak", "boring", "terrible"]
FILL = ["the film was", "its plot is", "the acting felt", "honestly", "the ending"]


def reviews(n, salt=0):
    texts, labels = [], []
    for i in range(n):
        j = i + salt
        label = "pos" if j % 2 else "neg"
        word = (GOOD if j % 2 else BAD)[(j // 2) % 5]
        texts.append(f"{FILL[j % 5]} {word} {FILL[(j // 3) % 5]}")
        labels.append(label)
    return texts, labels


def write_csv(path, texts, labels):
    with open(path, "w", encoding="utf-8") as f:
        for t, l in zip(texts, labels):
            f.write(f'{l},"{t}"\n')
    return path


def write_jsonl(path, texts, labels):
    with open(path, "w", encoding="utf-8") as f:
        for t, l in zip(texts, labels):
            f.write(json.dumps({"label": l, "text": t}) + "\n")
    return path


def cli(*args, stdin=None):
    out = subprocess.run([RECUR, *map(str, args)], input=stdin, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def run_from_lists(tmp_path_factory):
    out = tmp_path_factory.mktemp("lists") / "run"
    texts, labels = reviews(300)
    model = recur.train((texts, labels), out=out, epochs=4, lr=0.01, seed=1, progress=False)
    return model


def test_training_from_lists_learns_and_keeps_the_data_beside_the_run(run_from_lists):
    m = run_from_lists
    assert m.task == "classify" and m.classes == ["neg", "pos"]
    assert m.predict(["the film was superb", "its plot is dull"]) == ["pos", "neg"]
    assert Path(m.path + ".data", "train.jsonl").is_file()
    p = m.predict_proba(["great", "awful", "fun"])
    assert p.shape == (3, 2) and p.dtype == np.float64
    assert np.allclose(p.sum(axis=1), 1.0)


def test_progress_is_told_to_a_callback(tmp_path):
    seen = []
    texts, labels = reviews(100)
    recur.train((texts, labels), out=tmp_path / "run", epochs=2, batch_size=8,
                progress=lambda epoch, done, total: seen.append((epoch, done, total)))
    assert seen[0] == (1, 0, 100) and seen[-1] == (2, 100, 100)
    for epoch in (1, 2):
        done = [d for e, d, t in seen if e == epoch]
        assert done == sorted(done) and done[-1] == 100


def test_training_from_a_file_with_validation_and_test(tmp_path):
    train = write_csv(tmp_path / "train.csv", *reviews(200))
    valid = write_csv(tmp_path / "valid.csv", *reviews(40, salt=7))
    m = recur.train(train, out=tmp_path / "run", valid=valid, test=valid, epochs=2,
                    hidden_dim=16, cell="gru", progress=False)
    metrics = [json.loads(l) for l in open(tmp_path / "run" / "metrics.jsonl")]
    epochs = [r for r in metrics if r["kind"] == "epoch"]
    assert len(epochs) == 2 and epochs[-1]["valid_accuracy"] is not None
    config = json.load(open(tmp_path / "run" / "config.json"))
    assert config["model"]["hidden_dim"] == 16
    assert m.evaluate(valid)["examples"] == 40


def test_the_strong_preset_is_sized_by_the_data_and_keeps_what_is_given(tmp_path):
    texts, labels = reviews(120)
    recur.train((texts, labels), out=tmp_path / "run", preset="strong", epochs=1,
                batch_size=8, embed_dim=16, hidden_dim=8, progress=False)
    t = json.load(open(tmp_path / "run" / "config.json"))["training"]
    # given: kept; not given: set for 108 training rows (every word kept, 40 skip-gram passes)
    assert t["train"]["epochs"] == 1 and t["batching"]["batch_size"] == 8
    assert t["vocab"]["min_freq"] == 1
    assert t["embeddings"] == {"from": "skip_gram", "epochs": 40}
    assert "size_rule" not in t


def test_predictions_are_recur_predicts(run_from_lists):
    texts = ["the film was great", "dull", "honestly moving and wonderful", "weak ending"]
    out = cli("predict", "--run", run_from_lists.path, "--output-format", "jsonl",
              stdin="\n".join(texts))
    rows = [json.loads(l) for l in out.splitlines()]
    theirs = np.array([[r["probabilities"][c] for c in run_from_lists.classes] for r in rows])
    ours = run_from_lists.predict_proba(texts)
    assert np.abs(ours - theirs).max() < 1e-6
    assert run_from_lists.predict(texts) == [r["class"] for r in rows]


def test_evaluation_is_recur_evals_both_ways(run_from_lists, tmp_path):
    # a run trained from lists reads files as its training file was written: JSONL
    test = write_jsonl(tmp_path / "test.jsonl", *reviews(60, salt=3))
    theirs = json.loads(cli("eval", "--run", run_from_lists.path, "--test", test, "--json"))
    ours = run_from_lists.evaluate(test)
    assert ours["accuracy"] == theirs["accuracy"]
    assert abs(ours["loss"] - theirs["loss"]) < 1e-9
    assert ours["confusion"] == theirs["confusion"]
    assert ours == run_from_lists.evaluate(reviews(60, salt=3))
    # a run trained by the command line, evaluated from Python
    train = write_csv(tmp_path / "train.csv", *reviews(200))
    test = write_csv(tmp_path / "test.csv", *reviews(60, salt=3))
    cli("train", "--train", train, "--out", tmp_path / "cli-run", "--epochs", "1")
    m = recur.load(tmp_path / "cli-run")
    theirs = json.loads(cli("eval", "--run", m.path, "--test", test, "--json"))
    assert m.evaluate(test)["accuracy"] == theirs["accuracy"]


def test_scikit_learn_cross_validation(tmp_path):
    from sklearn.model_selection import cross_val_score
    from recur.sklearn import RecurClassifier

    texts, labels = reviews(120)
    y = np.array([1 if l == "pos" else 7 for l in labels])
    clf = RecurClassifier(epochs=5, lr=0.01, hidden_dim=16)
    scores = cross_val_score(clf, texts, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6, scores
    clf.fit(texts, y)
    assert set(clf.predict(texts[:10])) <= {1, 7}
    assert clf.get_params()["hidden_dim"] == 16


def test_onnx_export_and_language_models(tmp_path, run_from_lists):
    run_from_lists.export_onnx(tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 0
    sidecar = json.load(open(tmp_path / "model.onnx.json"))
    assert sidecar["classes"] == ["neg", "pos"]
    docs = tmp_path / "docs.txt"
    docs.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30)
    cli("train", "--task", "lm", "--train", docs, "--out", tmp_path / "lm", "--epochs", "1",
        "--layers", "1", "--hidden", "16", "--embed", "16", "--bptt", "6", "--batch-size", "4")
    lm = recur.load(tmp_path / "lm")
    assert lm.task == "lm"
    args = ["--prompt", "the cat", "--words", "5", "--seed", "3"]
    theirs = cli("generate", "--run", lm.path, *args)
    # the same words as the command line (an <eos> is a line break: compare without the
    # trailing ones the command line's own line end merges with)
    ours = "the cat" + lm.generate("the cat", words=5, seed=3)
    assert ours.rstrip("\n") == theirs.rstrip("\n")
    assert lm.perplexity(["the cat sat on the mat the dog sat on the log"] * 3) > 1.0


def test_bad_input_raises_clear_exceptions(tmp_path, run_from_lists):
    texts, labels = reviews(20)
    with pytest.raises(ValueError, match="20 texts but 19 labels"):
        recur.train((texts, labels[:19]), out=tmp_path / "a", progress=False)
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        recur.train(("one text", ["pos"]), out=tmp_path / "b", progress=False)
    with pytest.raises(TypeError, match=r"labels\[0\] is float"):
        recur.train((texts, [0.5] * 20), out=tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match='unknown option "hiden_dim"'):
        recur.train((texts, labels), out=tmp_path / "d", hiden_dim=8, progress=False)
    with pytest.raises(ValueError, match="option hidden_dim="):
        recur.train((texts, labels), out=tmp_path / "e", hidden_dim="big", progress=False)
    with pytest.raises(ValueError, match="empty text"):
        recur.train((texts + ["  "], labels + ["pos"]), out=tmp_path / "f", progress=False)
    with pytest.raises(ValueError, match='unknown preset "fast"'):
        recur.train((texts, labels), out=tmp_path / "g", preset="fast", progress=False)
    with pytest.raises((OSError, ValueError), match="nowhere"):
        recur.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="text 1 .* has no token"):
        run_from_lists.predict_proba(["fine", "   "])
    with pytest.raises(ValueError, match="it does not generate"):
        run_from_lists.generate("the")
    with pytest.raises(ValueError, match='label 0: label "meh" is not one of the classes'):
        run_from_lists.evaluate((["great"], ["meh"]))


def test_ctrl_c_stops_training_and_the_run_resumes(tmp_path):
    texts, labels = reviews(400)
    train = write_csv(tmp_path / "train.csv", texts, labels)
    out = tmp_path / "run"
    script = (
        "import recur, sys\n"
        "try:\n"
        f"    recur.train({str(train)!r}, out={str(out)!r}, epochs=60, batch_size=4)\n"
        "except KeyboardInterrupt as e:\n"
        "    print('interrupted:', e, flush=True)\n"
        "    sys.exit(3)\n"
    )
    proc = subprocess.Popen([sys.executable, "-u", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # wait for the first epoch line, then press Ctrl-C
    for line in proc.stdout:
        if line.startswith("epoch 1:"):
            break
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, (rest, err)
    assert "resumes with resume=True" in rest
    done = [json.loads(l) for l in open(out / "metrics.jsonl")]
    epochs = [r for r in done if r["kind"] == "epoch"]
    assert 1 <= len(epochs) < 60
    # resumed, it trains the epochs left and ends as a whole run
    m = recur.train(out=out, resume=True, progress=False)
    done = [json.loads(l) for l in open(out / "metrics.jsonl")]
    assert [r["epoch"] for r in done if r["kind"] == "epoch"] == list(range(1, 61))
    assert m.predict(["the film was great"]) == ["pos"]
